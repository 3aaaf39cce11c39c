import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {eachTarget, finishReports} from '../cli/multi';
import {invalidInput} from '../lib/util/errors';

export default class Init extends SkiffCommand {
  static override summary = 'Initialize one or more containers';
  static override description =
    'Creates the container in the OCI runtime (mounts, conmon, runc create) without starting its process; the status becomes "initialized" and `start` then runs the process.';
  static override strict = false;
  static override args = {container: Args.string({required: false, description: 'containers (names or IDs)'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'initialize all containers in the created state'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Init);
    const svc = (await this.engine(flags)).containers;
    const targets = flags.all ? svc.list().filter((r) => r.state.status === 'created').map((r) => r.config.id) : argv;
    if (targets.length === 0 && !flags.all) throw invalidInput('you must provide at least one container name or id');
    const reports = await eachTarget(targets, async (t) => {
      await svc.init(t);
      return t;
    });
    process.exitCode = finishReports(reports);
  }
}
