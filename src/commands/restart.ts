import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {eachTarget, finishReports} from '../cli/multi';

export default class Restart extends SkiffCommand {
  static override summary = 'Restart one or more containers';
  static override strict = false;
  static override args = {container: Args.string({required: false, description: 'containers (names or IDs)'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'restart all containers'}),
    time: Flags.integer({char: 't', description: 'seconds to wait for stop before killing the container'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Restart);
    const engine = await this.engine(flags);
    const svc = engine.containers;
    const targets = flags.all ? svc.list().map((r) => r.config.id) : argv;
    const reports = await eachTarget(targets, async (t) => {
      await svc.restart(t, {timeout: flags.time});
      return t; // podman prints what was asked for (the ID with --all)
    });
    process.exitCode = finishReports(reports);
  }
}
