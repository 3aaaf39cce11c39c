import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {eachTarget, finishReports} from '../cli/multi';
import {invalidInput} from '../lib/util/errors';

export default class Unpause extends SkiffCommand {
  static override summary = 'Unpause the processes in one or more containers';
  static override description = 'Thaws the processes of paused containers (runc resume).';
  static override strict = false;
  static override args = {container: Args.string({required: false, description: 'containers (names or IDs)'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'unpause all paused containers'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Unpause);
    const svc = (await this.engine(flags)).containers;
    if (flags.all && argv.length) throw invalidInput('--all and container names or IDs cannot be used together');
    const targets = flags.all ? svc.list().filter((r) => r.state.status === 'paused').map((r) => r.config.id) : argv;
    if (targets.length === 0 && !flags.all) throw invalidInput('you must provide at least one container name or id');
    const reports = await eachTarget(targets, async (t) => {
      await svc.unpause(t);
      return t;
    });
    process.exitCode = finishReports(reports);
  }
}
