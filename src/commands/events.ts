import {Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {bool, multi} from '../cli/flags';
import {invalidInput} from '../lib/util/errors';
import type {SkiffEvent} from '../lib/events/types';

export default class Events extends SkiffCommand {
  static override summary = 'Show skiff events';
  static override description =
    'Events are read from the store\'s event log (root/events/events.log), which every state-changing command appends to. By default new events are printed as they happen until interrupted (Ctrl-C); --since and --until also show stored ones, and --stream=false prints the stored events and exits.';
  static override flags = {
    filter: multi({char: 'f', description: 'filter output (type=, event=, container=, image=, volume=, network=, label=key[=value])'}),
    format: Flags.string({description: 'format the output as JSON or with a Go template'}),
    'no-trunc': bool({description: 'do not truncate the output', default: true}),
    since: Flags.string({description: 'show all events created since timestamp (RFC 3339, unix seconds, or a duration like 10m)'}),
    until: Flags.string({description: 'show all events created until timestamp'}),
    stream: bool({description: 'follow new events until interrupted (the default); --stream=false prints the stored events and exits', default: true}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(Events);
    // A reader that goes away (`skiff events | head`) ends the command quietly.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
    const engine = await this.engine(flags);
    const {parseInputTime, parseRfc3339Ns, goTimeString} = await import('../lib/events/time');
    const {buildEventFilter} = await import('../lib/events/filter');
    const {readEvents, followEvents} = await import('../lib/events/log');
    // One instant for both: `--since 1s --until 1s` is an empty window, not
    // the millisecond that may tick between two readings of the clock.
    const now = Date.now();
    const when = (s: string | undefined, flag: string) => {
      if (s === undefined) return undefined;
      const t = parseInputTime(s, now);
      if (t === undefined) throw invalidInput(`unable to convert --${flag} time "${s}": invalid time or duration`);
      return t;
    };
    const since = when(flags.since, 'since');
    const until = when(flags.until, 'until');
    const keep = buildEventFilter(flags.filter ?? []);
    const format = flags.format;
    const {isJsonFormat, formatOne} = await import('../cli/output');
    const {humanEvent} = await import('../lib/events/human');
    const print = (e: SkiffEvent) => {
      const t = parseRfc3339Ns(e.Time) ?? 0n;
      if (since !== undefined && t < since) return;
      if (until !== undefined && t > until) return;
      if (!keep(e)) return;
      let line: string;
      if (format === undefined || format === '') line = humanEvent(e, !flags['no-trunc']) + '\n';
      else if (isJsonFormat(format)) line = JSON.stringify(e) + '\n';
      else line = formatOne(templateView(e, goTimeString(t)), format, {name: 'events'});
      process.stdout.write(line);
    };
    // podman: --until in the past (or without streaming) means print what is stored and exit.
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    if (!flags.stream || (until !== undefined && until <= nowNs)) {
      for (const e of readEvents(engine.paths)) print(e);
      return;
    }
    await new Promise<void>((resolve) => {
      const f = followEvents(engine.paths, print);
      // podman: streaming shows new events; stored ones only when --since or --until asks for them.
      if (since !== undefined || until !== undefined) for (const e of f.existing) print(e);
      let untilTimer: NodeJS.Timeout | undefined;
      const finish = () => {
        process.off('SIGINT', finish);
        process.off('SIGTERM', finish);
        if (untilTimer) clearTimeout(untilTimer);
        f.stop();
        resolve();
      };
      process.on('SIGINT', finish);
      process.on('SIGTERM', finish);
      if (until !== undefined) untilTimer = setTimeout(finish, Number((until - BigInt(Date.now()) * 1_000_000n) / 1_000_000n) + 200);
    });
  }
}

/** Fields a Go template sees (podman's events.Event plus the docker-style aliases). */
function templateView(e: SkiffEvent, time: string) {
  return {
    ...e,
    /** A Go time.Time prints as time.String(). */
    Time: time,
    ID: e.ID ?? '',
    Image: e.Image ?? '',
    Name: e.Name ?? '',
    Network: e.Network ?? '',
    ContainerExitCode: e.ContainerExitCode ?? 0,
    Attributes: e.Attributes ?? {},
    Action: e.Status,
    Actor: {ID: e.ID ?? '', Attributes: e.Attributes ?? {}},
  };
}
