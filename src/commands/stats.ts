import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput, isSkiffError} from '../lib/util/errors';
import type {ContainerStats, StatsSample} from '../lib/container/stats';

export default class Stats extends SkiffCommand {
  static override summary = 'Display a live stream of container resource usage statistics';
  static override description =
    'CPU, memory, network and block I/O and PIDs from the containers\' cgroups (v1, v2 or hybrid). Without --no-stream the table is redrawn every --interval seconds on a terminal; otherwise successive tables are printed.';
  static override strict = false;
  static override args = {container: Args.string({required: false, description: 'containers (names or IDs); all running ones by default'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'show all containers (only running ones have statistics)'}),
    format: Flags.string({description: 'pretty-print container statistics to JSON or using a Go template'}),
    interval: Flags.integer({char: 'i', description: 'time in seconds between stats reports', default: 5}),
    latest: Flags.boolean({char: 'l', description: 'act on the latest container created'}),
    'no-reset': Flags.boolean({description: 'disable resetting the screen between intervals'}),
    'no-stream': Flags.boolean({description: 'disable streaming stats and only pull the first result'}),
    'no-trunc': Flags.boolean({description: 'do not truncate output'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Stats);
    if (flags.interval < 1) throw invalidInput('invalid interval, must be a positive number greater zero');
    if (flags.all && argv.length) throw invalidInput('--all and container names or IDs cannot be used together');
    const svc = (await this.engine(flags)).containers;
    const {sampleStats, computeStats} = await import('../lib/container/stats');
    const {renderList} = await import('../cli/output');
    const {statsRow, statsJson, STATS_COLUMNS} = await import('../cli/stats-rows');
    const live = (s: string) => s === 'running' || s === 'paused' || s === 'stopping';
    const named = argv.length > 0 || flags.latest;
    const targets = (): string[] => {
      if (flags.latest) {
        const l = svc.list().sort((a, b) => Date.parse(b.config.created) - Date.parse(a.config.created))[0];
        if (!l) throw invalidInput('no containers to act on');
        return [l.config.id];
      }
      return argv.length ? argv : svc.list().filter((r) => live(r.state.status)).map((r) => r.config.id);
    };
    const ids = targets().map((t) => svc.get(t).config.id); // a missing container fails at once
    const prev = new Map<string, StatsSample>();
    const tty = process.stdout.isTTY && !flags['no-stream'];
    const sample = (): ContainerStats[] => {
      const out: ContainerStats[] = [];
      const current = named ? ids : targets();
      for (const id of current) {
        const rec = svc.find(id);
        if (!rec) {
          if (named) throw invalidInput(`no container with name or ID "${id}" found: no such container`);
          continue;
        }
        try {
          const s = sampleStats(rec);
          out.push(computeStats(s, prev.get(id)));
          prev.set(id, s);
        } catch (err) {
          if (named || !isSkiffError(err, 'conflict')) throw err;
        }
      }
      return out;
    };
    const render = (stats: ContainerStats[]): string => {
      if (flags.format !== undefined && /^\s*(json|\{\{\s*json\s*\.?\s*\}\})\s*$/.test(flags.format)) {
        return JSON.stringify(stats.map(statsJson), null, ' ') + '\n';
      }
      const rows = stats.map((s) => {
        const r = statsRow(s);
        return flags['no-trunc'] ? {...r, ID: r.ContainerID} : r;
      });
      return renderList(rows, {format: flags.format, columns: STATS_COLUMNS, name: 'stats'});
    };
    if (flags['no-stream']) {
      process.stdout.write(render(sample()));
      return;
    }
    let stop = false;
    const onSig = () => {
      stop = true;
    };
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    try {
      while (!stop) {
        const text = render(sample());
        if (tty && !flags['no-reset']) process.stdout.write('\x1b[2J\x1b[H');
        process.stdout.write(text);
        for (let waited = 0; waited < flags.interval * 1000 && !stop; waited += 100) await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
    }
  }
}
