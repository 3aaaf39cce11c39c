import {Args, Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {goTimeString} from '../../cli/image-rows';
import {invalidInput, isSkiffError, notFound} from '../../lib/util/errors';
import {writeOut} from '../../cli/stdout';

/** podman volume inspect: JSON array, or a Go template per volume; missing names are an error (125) after the rest are printed. */
export default class VolumeInspect extends SkiffCommand {
  static override summary = 'Display detailed information on one or more volumes';
  static override strict = false;
  static override args = {volume: Args.string({required: false, description: 'volumes to inspect'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'inspect all volumes'}),
    format: Flags.string({char: 'f', description: "format the output using a Go template, or 'json'"}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(VolumeInspect);
    if (!flags.all && argv.length === 0) throw invalidInput('provide one or more volume names or use --all');
    if (flags.all && argv.length > 0) throw invalidInput('--all and specifying volume names are mutually exclusive');
    const engine = await this.engine(flags);
    const {volumeServiceFor, volumeJson} = await import('../../lib/container/volumes');
    const svc = volumeServiceFor(engine.paths);
    const found = [];
    const missing: string[] = [];
    for (const name of flags.all ? svc.list().map((v) => v.name) : argv) {
      try {
        found.push(svc.inspect(svc.resolve(name)));
      } catch (err) {
        if (!isSkiffError(err, 'not-found')) throw err;
        missing.push(name);
      }
    }
    const {isJsonFormat, renderInspect} = await import('../../cli/output');
    const json = !flags.format || isJsonFormat(flags.format);
    const items = json ? found.map(volumeJson) : found.map((d) => ({...d, CreatedAt: goTimeString(d.CreatedAt)}));
    writeOut(renderInspect(items, flags.format));
    if (missing.length) throw notFound(missing.map((m) => `no such volume ${m}`).join('; '));
  }
}
