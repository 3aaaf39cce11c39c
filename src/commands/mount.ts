import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput} from '../lib/util/errors';
import {writeOut} from '../cli/stdout';

/**
 * podman mount: mount each container's rootfs and print where; without
 * arguments list the mounted ones. Mounts are counted: each mount needs an
 * unmount, and a running container's own mount is never taken away.
 */
export default class Mount extends SkiffCommand {
  static override summary = "Mount a container's root filesystem";
  static override description = 'With no container, lists the mounted containers and their mount points.';
  static override strict = false;
  static override args = {container: Args.string({required: false, description: 'containers (names or IDs)'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'mount all containers'}),
    format: Flags.string({description: 'print the mounted containers in the given format (json)'}),
    'no-trunc': Flags.boolean({description: 'do not truncate container IDs in the list'}),
    latest: Flags.boolean({char: 'l', description: 'act on the latest container skiff is aware of'}),
  };
  static override examples = ['skiff mount ctr', 'skiff mount'];

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Mount);
    if (flags.format !== undefined && flags.format !== 'json') throw invalidInput(`--format ${flags.format}: only "json" is supported`);
    const engine = await this.engine(flags);
    let targets = argv;
    if (flags.all) targets = engine.containers.list().map((r) => r.config.id);
    if (flags.latest) {
      const all = engine.containers.list().sort((a, b) => b.config.created.localeCompare(a.config.created));
      if (!all[0]) throw invalidInput('no containers to mount');
      targets = [all[0].config.id];
    }
    if (targets.length === 0) {
      const list = engine.rootfs.list();
      if (flags.format === 'json') {
        this.out(JSON.stringify(list.map((m) => ({id: m.id, Names: [m.name], mountpoint: m.mountpoint})), null, 4));
        return;
      }
      writeOut(list.map((m) => `${flags['no-trunc'] ? m.id : m.id.slice(0, 12)}  ${m.mountpoint}\n`).join(''));
      return;
    }
    let failed: unknown;
    for (const t of targets) {
      try {
        const r = await engine.rootfs.mount(t);
        this.out(r.path);
      } catch (err) {
        if (failed) process.stderr.write(`Error: ${(failed as Error).message}\n`);
        failed = err;
      }
    }
    if (failed) throw failed;
  }
}
