import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput, isSkiffError, notFound} from '../lib/util/errors';
import {writeOut} from '../cli/stdout';

/** podman diff: A/C/D lines, or --format json ({"changed","added","deleted"}). */
export default class Diff extends SkiffCommand {
  static override summary = "Display the changes to a container's or image's filesystem";
  static override description = 'A container is compared with its image (its overlay upper directory: whiteouts are deletions); an image with the layers below its top layer.';
  static override args = {target: Args.string({required: false, description: 'container or image (name or ID)'})};
  static override flags = {
    format: Flags.string({description: 'change the output format (json)'}),
    latest: Flags.boolean({char: 'l', description: 'act on the latest container skiff is aware of'}),
  };
  static override examples = ['skiff diff ctr', 'skiff diff --format json ctr'];

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Diff);
    if (flags.format !== undefined && flags.format !== 'json') throw invalidInput(`--format ${flags.format}: only "json" is supported`);
    const engine = await this.engine(flags);
    const {upperChanges, mountDestinations} = await import('../lib/container/changes');
    const {containerPaths} = await import('../lib/container/prepare');
    let target = args.target;
    if (flags.latest) {
      const all = engine.containers.list().sort((a, b) => b.config.created.localeCompare(a.config.created));
      if (!all[0]) throw invalidInput('no containers to diff');
      target = all[0].config.id;
    }
    if (!target) throw invalidInput('diff requires a container or image name or ID');
    let changes;
    const ctr = engine.containers.find(target);
    if (ctr) {
      changes = upperChanges(containerPaths(engine.paths, ctr.config.id).upper, engine.rootfs.layerDirs(ctr), mountDestinations(ctr.config.mounts));
    } else {
      let img;
      try {
        img = engine.images.get(target);
      } catch (err) {
        if (isSkiffError(err, 'not-found')) throw notFound(`${target} not found: no such container or image`);
        throw err;
      }
      const dirs = img.layers.map((l) => engine.images.layers.diffPath(l));
      changes = upperChanges(dirs[dirs.length - 1], dirs.slice(0, -1));
    }
    if (flags.format === 'json') {
      const pick = (k: string) => {
        const list = changes.filter((c) => c.kind === k).map((c) => c.path);
        return list.length ? list : undefined;
      };
      const doc: Record<string, string[]> = {};
      for (const [key, kind] of [['changed', 'C'], ['added', 'A'], ['deleted', 'D']] as const) {
        const l = pick(kind);
        if (l) doc[key] = l;
      }
      this.out(JSON.stringify(doc, null, 5)); // podman: json.Encoder with a five-space indent
      return;
    }
    writeOut(changes.map((c) => `${c.kind} ${c.path}\n`).join(''));
  }
}
