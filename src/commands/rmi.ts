import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput, isSkiffError} from '../lib/util/errors';
import type {ImageService} from '../lib/image/service';

/**
 * IDs of the containers using the images `rmi` will delete: with --all every
 * image; else an ID, or a name that is its image's last one (a name of an
 * image with others only untags). Mirrors ImageService.remove's rule.
 */
function containersOfDeleted(images: ImageService, usingImage: (id: string) => string[], inputs: string[], all: boolean): string[] {
  const doomed = new Set<string>();
  const namesLeft = new Map<string, number>();
  for (const img of all ? images.list() : []) doomed.add(img.id);
  for (const input of all ? [] : inputs) {
    const img = images.find(input);
    if (!img) continue;
    const left = namesLeft.get(img.id) ?? img.names.length;
    if (!img.id.startsWith(input.replace(/^sha256:/, '')) && left > 1) {
      namesLeft.set(img.id, left - 1);
      continue;
    }
    doomed.add(img.id);
  }
  return [...doomed].flatMap(usingImage);
}

/**
 * podman rmi exit status: 0 all removed; 1 an image did not exist (and no
 * other failure); 2 an image is in use; 125 anything else.
 */
export default class Rmi extends SkiffCommand {
  static override summary = 'Remove one or more images from local storage';
  static override strict = false;
  static override args = {image: Args.string({required: false, description: 'images to remove (names or IDs)'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'remove all images'}),
    force: Flags.boolean({char: 'f', description: 'remove images even if containers use them'}),
    ignore: Flags.boolean({char: 'i', description: 'ignore errors when an image does not exist'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Rmi);
    if (!flags.all && argv.length === 0) throw invalidInput('image name or ID must be specified');
    if (flags.all && argv.length > 0) throw invalidInput('when using the --all switch, you may not pass any images names or IDs');
    const engine = await this.engine(flags);
    let code = 0;
    if (flags.force) {
      // podman rmi -f removes the containers of every image it deletes (not of one it only untags) first.
      for (const r of await engine.containers.remove(containersOfDeleted(engine.images, (id) => engine.containers.usingImage(id), argv, flags.all), {force: true, ignore: true})) {
        if (!r.error) continue;
        process.stderr.write(`Error: ${r.error.message}\n`);
        code = 125;
      }
    }
    const reports = await engine.images.remove(argv, {force: flags.force, all: flags.all});
    for (const r of reports) {
      for (const n of r.untagged) this.out(`Untagged: ${n}`);
      if (r.deleted) this.out(`Deleted: ${r.deleted}`);
      if (!r.error) continue;
      if (isSkiffError(r.error, 'not-found')) {
        if (flags.ignore) continue;
        code = code || 1;
      } else if (isSkiffError(r.error, 'conflict')) {
        code = code === 0 || code === 1 ? 2 : code;
      } else {
        code = 125;
      }
      process.stderr.write(`Error: ${r.error.message}\n`);
    }
    if (code) process.exitCode = code;
  }
}
