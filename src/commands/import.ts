import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {multi} from '../cli/flags';

export default class Import extends SkiffCommand {
  static override summary = 'Import a tarball to create a filesystem image';
  static override description = 'Creates a one-layer image from TARBALL (a plain or gzip-compressed tar of a root filesystem; - reads stdin), optionally named REFERENCE. The image ID is printed.';
  static override args = {
    tarball: Args.string({required: true, description: 'tarball to import, or - for stdin'}),
    reference: Args.string({required: false, description: 'name for the new image'}),
  };
  static override flags = {
    change: multi({char: 'c', description: 'apply a Dockerfile instruction to the image config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER or WORKDIR'}),
    message: Flags.string({char: 'm', description: 'set the commit message (the history comment) of the imported image'}),
    quiet: Flags.boolean({char: 'q', description: 'suppress progress output'}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Import);
    const engine = await this.engine(flags);
    const {ImageService} = await import('../lib/image/service');
    const name = args.reference ? ImageService.normalizeTarget(args.reference) : undefined;
    const {importTarball} = await import('../lib/image/archive/import');
    engine.images.layers.cleanupTemp();
    const id = await importTarball(engine.paths, engine.images, {
      file: args.tarball === '-' ? undefined : args.tarball,
      name,
      changes: flags.change,
      message: flags.message,
    });
    this.out(id);
  }
}
