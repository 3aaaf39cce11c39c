import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {eachTarget, finishReports} from '../cli/multi';
import {invalidInput} from '../lib/util/errors';

export default class Pause extends SkiffCommand {
  static override summary = 'Pause all the processes in one or more containers';
  static override description = 'Freezes every process of the container with the cgroup freezer (runc pause).';
  static override strict = false;
  static override args = {container: Args.string({required: false, description: 'containers (names or IDs)'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'pause all running containers'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Pause);
    const svc = (await this.engine(flags)).containers;
    if (flags.all && argv.length) throw invalidInput('--all and container names or IDs cannot be used together');
    const targets = flags.all ? svc.list().filter((r) => r.state.status === 'running').map((r) => r.config.id) : argv;
    if (targets.length === 0 && !flags.all) throw invalidInput('you must provide at least one container name or id');
    const reports = await eachTarget(targets, async (t) => {
      await svc.pause(t);
      return t;
    });
    process.exitCode = finishReports(reports);
  }
}
