import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput} from '../lib/util/errors';
import {findById} from '../lib/image/lookup';
import type {SaveFormat} from '../lib/image/archive/save';

export default class Save extends SkiffCommand {
  static override summary = 'Save images to an archive';
  static override description =
    'Writes IMAGE(s) to a docker-archive (default), an oci-archive or an OCI layout directory, with uncompressed layers. Layers are rebuilt byte for byte from their tar-split, so loading the archive gives the same image IDs.';
  static override strict = false;
  static override args = {image: Args.string({required: true, description: 'image(s) to save'})};
  static override flags = {
    output: Flags.string({char: 'o', description: 'write to FILE (a directory for oci-dir) instead of stdout'}),
    format: Flags.string({description: 'archive format: docker-archive, oci-archive or oci-dir', default: 'docker-archive', options: ['docker-archive', 'oci-archive', 'oci-dir']}),
    quiet: Flags.boolean({char: 'q', description: 'suppress the progress output'}),
    'multi-image-archive': Flags.boolean({char: 'm', description: 'accepted for podman compatibility: several images always go into one archive'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Save);
    const format = flags.format as SaveFormat;
    if (!flags.output && process.stdout.isTTY) throw invalidInput('refusing to save to terminal. Use -o flag or redirect');
    if (format === 'oci-dir' && !flags.output) throw invalidInput('--format oci-dir needs a directory: use -o DIR');
    const engine = await this.engine(flags);
    const svc = engine.images;
    const inputs = argv.map((input) => {
      const img = svc.get(input);
      const byId = findById(svc.list(), input)?.id === img.id;
      const tag = byId ? undefined : img.names.find((n) => n === input) ?? img.names.find((n) => svc.find(n)?.id === img.id && matches(n, input)) ?? img.names[0];
      return {input, img, tag};
    });
    const {saveImages} = await import('../lib/image/archive/save');
    const quiet = flags.quiet || !flags.output;
    await saveImages(engine.paths, svc, inputs, {format, output: flags.output, progress: quiet ? undefined : (l) => process.stderr.write(l + '\n')});
  }
}

function matches(name: string, input: string): boolean {
  const withTag = /:[^/]+$/.test(input) ? input : `${input}:latest`;
  return name === withTag || name.endsWith(`/${withTag}`);
}
