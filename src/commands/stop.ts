import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {eachTarget, finishReports} from '../cli/multi';
import {invalidInput, isSkiffError} from '../lib/util/errors';

export default class Stop extends SkiffCommand {
  static override summary = 'Stop one or more containers';
  static override description = 'Sends the stop signal (default SIGTERM), waits --time seconds, then SIGKILL.';
  static override strict = false;
  static override args = {container: Args.string({required: false, description: 'containers (names or IDs)'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'stop all running containers'}),
    ignore: Flags.boolean({char: 'i', description: 'ignore errors when a specified container is missing'}),
    time: Flags.integer({char: 't', description: 'seconds to wait for stop before killing the container'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Stop);
    const engine = await this.engine(flags);
    const svc = engine.containers;
    const targets = flags.all ? svc.list().filter((r) => r.state.status === 'running' || r.state.status === 'paused').map((r) => r.config.id) : argv;
    if (targets.length === 0 && !flags.all) throw invalidInput('you must provide at least one container name or id');
    let reports = await eachTarget(targets, async (t) => {
      await svc.stop(t, {timeout: flags.time});
      return t;
    });
    if (flags.ignore) reports = reports.filter((r) => !isSkiffError(r.error, 'not-found'));
    process.exitCode = finishReports(reports);
  }
}
