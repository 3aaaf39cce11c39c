import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput, unsupported} from '../lib/util/errors';
import {parseTimeOrDuration} from '../lib/util/human';
import {containerPaths} from '../lib/container/prepare';

export default class Logs extends SkiffCommand {
  static override summary = 'Fetch the logs of one or more containers';
  static override strict = false;
  static override args = {container: Args.string({required: true, description: 'containers (names or IDs)'})};
  static override flags = {
    follow: Flags.boolean({char: 'f', description: 'follow log output'}),
    since: Flags.string({description: 'show logs since TIMESTAMP (RFC 3339, unix seconds, or a duration like 10m)'}),
    until: Flags.string({description: 'show logs until TIMESTAMP'}),
    tail: Flags.integer({description: 'output the specified number of lines at the end of logs (-1 for all)', default: -1}),
    timestamps: Flags.boolean({char: 't', description: 'output the timestamps in the log'}),
    names: Flags.boolean({char: 'n', description: 'output the container name in the log'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Logs);
    const engine = await this.engine(flags);
    const svc = engine.containers;
    const when = (s: string | undefined, flag: string) => {
      if (s === undefined) return undefined;
      const t = parseTimeOrDuration(s);
      if (t === undefined) throw invalidInput(`invalid --${flag} "${s}"`);
      return new Date(t);
    };
    const since = when(flags.since, 'since');
    const until = when(flags.until, 'until');
    const {readLogs, followLogs, formatLogEntry} = await import('../lib/runtime/logs');
    const recs = argv.map((a) => svc.get(a));
    const prefix = (name: string, id: string) => (flags.names ? `${name} ` : recs.length > 1 ? `${id.slice(0, 12)} ` : '');
    await Promise.all(
      recs.map(async (rec) => {
        if (rec.config.logDriver === 'none') throw unsupported(`this container is using the 'none' log driver, cannot read logs: this container is not logging output`);
        const opts = {since, until, tail: flags.tail};
        const running = rec.state.status === 'running' || rec.state.status === 'paused' || rec.state.status === 'stopping';
        const stop = () => svc.wait(rec.config.id).catch(() => undefined);
        let entries;
        if (rec.config.logDriver === 'journald') {
          const {readJournal, followJournal} = await import('../lib/runtime/journal');
          entries = flags.follow && running ? followJournal(rec.config.id, {...opts, stop: stop()}) : readJournal(rec.config.id, opts);
        } else {
          const file = rec.config.logOpts.path ?? containerPaths(engine.paths, rec.config.id).log;
          entries = flags.follow && running ? followLogs(file, {...opts, stop: stop()}) : readLogs(file, opts);
        }
        for await (const e of entries) {
          const line = prefix(rec.config.name, rec.config.id) + formatLogEntry(e, {timestamps: flags.timestamps});
          (e.stream === 'stderr' ? process.stderr : process.stdout).write(line.endsWith('\n') ? line : line + '\n');
        }
      }),
    );
  }
}
