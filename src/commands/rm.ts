import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {finishReports} from '../cli/multi';
import {invalidInput} from '../lib/util/errors';

/** podman rm exit status: 0; 1 a container did not exist; 2 a container is running (without -f); 125 otherwise. */
export default class Rm extends SkiffCommand {
  static override summary = 'Remove one or more containers';
  static override strict = false;
  static override args = {container: Args.string({required: false, description: 'containers (names or IDs)'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'remove all containers'}),
    force: Flags.boolean({char: 'f', description: 'force removal of a running or paused container'}),
    ignore: Flags.boolean({char: 'i', description: 'ignore errors when a specified container is missing'}),
    volumes: Flags.boolean({char: 'v', description: 'remove anonymous volumes associated with the container'}),
    time: Flags.integer({char: 't', description: 'seconds to wait for stop before killing a running container (with --force)'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Rm);
    const engine = await this.engine(flags);
    const svc = engine.containers;
    const targets = flags.all ? svc.list().map((r) => r.config.id) : argv;
    if (targets.length === 0 && !flags.all) throw invalidInput('you must provide at least one name or id');
    const reports = await svc.remove(targets, {force: flags.force, volumes: flags.volumes, ignore: flags.ignore, timeout: flags.time});
    process.exitCode = finishReports(
      reports.map((r) => ({rawInput: r.rawInput, output: r.error ? undefined : flags.all ? r.id : r.rawInput, error: r.error})),
      {missing: 1, inUse: 2},
    );
  }
}
