import {Args, Flags} from '@oclif/core';
import {SkiffCommand} from '../cli/base';
import {invalidInput, isSkiffError} from '../lib/util/errors';

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
    const reports = await engine.images.remove(argv, {force: flags.force, all: flags.all});
    let code = 0;
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
