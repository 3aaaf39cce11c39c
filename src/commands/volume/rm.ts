import {Args, Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {invalidInput, isSkiffError} from '../../lib/util/errors';

/**
 * podman volume rm exit status: 0 all removed; 1 a volume did not exist
 * (and no other failure); 2 a volume is in use by a container; 125
 * anything else. Removed names are printed as they go.
 */
export default class VolumeRm extends SkiffCommand {
  static override summary = 'Remove one or more volumes';
  static override strict = false;
  static override args = {volume: Args.string({required: false, description: 'volumes to remove (names or unique prefixes)'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'remove all volumes'}),
    force: Flags.boolean({char: 'f', description: 'remove a volume by force, with the containers using it'}),
    time: Flags.integer({char: 't', description: 'seconds to wait before forcibly stopping containers using the volume (with --force)'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(VolumeRm);
    if ((argv.length > 0 && flags.all) || (argv.length === 0 && !flags.all)) throw invalidInput('choose either one or more volumes or all');
    if (flags.time !== undefined && !flags.force) throw invalidInput('--force option must be specified to use the --time option');
    const engine = await this.engine(flags);
    const {volumeServiceFor} = await import('../../lib/container/volumes');
    const reports = await volumeServiceFor(engine.paths).remove(argv, {all: flags.all, force: flags.force});
    let code = 0;
    for (const r of reports) {
      if (!r.error) {
        if (r.name) this.out(r.name);
        continue;
      }
      if (isSkiffError(r.error, 'not-found')) code = code || 1;
      else if (r.inUse) code = code === 0 || code === 1 ? 2 : code;
      else code = 125;
      process.stderr.write(`Error: ${r.error.message}\n`);
    }
    if (code) process.exitCode = code;
  }
}
