import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput} from '../lib/util/errors';

/** podman unmount/umount: drop one mount reference per container and print its ID; the rootfs goes when nobody holds it and the container is not running. */
export default class Unmount extends SkiffCommand {
  static override summary = "Unmount a container's root filesystem";
  static override description = 'Each unmount undoes one mount. The root filesystem stays mounted while other mounts hold it or the container runs.';
  static override strict = false;
  static override args = {container: Args.string({required: false, description: 'containers (names or IDs)'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'unmount all mounted containers'}),
    force: Flags.boolean({char: 'f', description: 'drop every mount reference, not just one'}),
    latest: Flags.boolean({char: 'l', description: 'act on the latest container skiff is aware of'}),
  };
  static override examples = ['skiff unmount ctr', 'skiff umount -a'];

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Unmount);
    const engine = await this.engine(flags);
    let targets = argv;
    if (flags.all) targets = engine.rootfs.list().map((m) => m.id);
    if (flags.latest) {
      const all = engine.containers.list().sort((a, b) => b.config.created.localeCompare(a.config.created));
      if (!all[0]) throw invalidInput('no containers to unmount');
      targets = [all[0].config.id];
    }
    if (targets.length === 0 && !flags.all) throw invalidInput('when not using the --all flag you must specify at least one container');
    let failed: unknown;
    for (const t of targets) {
      try {
        const r = await engine.rootfs.unmount(t, {force: flags.force});
        this.out(r.record.config.id);
      } catch (err) {
        if (failed) process.stderr.write(`Error: ${(failed as Error).message}\n`);
        failed = err;
      }
    }
    if (failed) throw failed;
  }
}
