import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {eachTarget, finishReports} from '../cli/multi';
import {invalidInput} from '../lib/util/errors';

export default class Wait extends SkiffCommand {
  static override summary = 'Block on one or more containers and print their exit codes';
  static override strict = false;
  static override args = {container: Args.string({required: true, description: 'containers (names or IDs)'})};
  static override flags = {
    condition: Flags.string({description: 'condition to wait on', options: ['created', 'exited', 'paused', 'running', 'stopped', 'stopping'], default: 'stopped'}),
    interval: Flags.string({char: 'i', description: 'time interval to wait before polling for completion', default: '250ms'}),
    ignore: Flags.boolean({description: 'ignore if a container does not exist'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Wait);
    const m = /^(\d+)(ms|s)?$/.exec(flags.interval);
    if (!m) throw invalidInput(`invalid --interval "${flags.interval}"`);
    const intervalMs = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
    const engine = await this.engine(flags);
    const svc = engine.containers;
    let reports = await eachTarget(argv, async (t) => String(await svc.wait(t, {condition: flags.condition, intervalMs})));
    if (flags.ignore) reports = reports.map((r) => (r.error?.kind === 'not-found' ? {rawInput: r.rawInput, output: '-1'} : r));
    process.exitCode = finishReports(reports);
  }
}
