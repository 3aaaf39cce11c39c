import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {eachTarget, finishReports} from '../cli/multi';
import {invalidInput} from '../lib/util/errors';

export default class Kill extends SkiffCommand {
  static override summary = 'Kill one or more running containers with a specific signal';
  static override strict = false;
  static override args = {container: Args.string({required: false, description: 'containers (names or IDs)'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'signal all running containers'}),
    signal: Flags.string({char: 's', description: 'signal to send to the container', default: 'KILL'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Kill);
    const engine = await this.engine(flags);
    const svc = engine.containers;
    const targets = flags.all ? svc.list().filter((r) => r.state.status === 'running').map((r) => r.config.id) : argv;
    if (targets.length === 0 && !flags.all) throw invalidInput('you must provide at least one container name or id');
    const reports = await eachTarget(targets, async (t) => {
      await svc.kill(t, flags.signal);
      return t;
    });
    process.exitCode = finishReports(reports);
  }
}
