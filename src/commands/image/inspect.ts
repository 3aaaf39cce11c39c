import {Args, Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {notFound} from '../../lib/util/errors';
import {writeOut} from '../../cli/stdout';

export default class ImageInspect extends SkiffCommand {
  static override summary = 'Display the configuration of one or more images';
  static override strict = false;
  static override args = {image: Args.string({required: true, description: 'images to inspect'})};
  static override flags = {
    format: Flags.string({char: 'f', description: "format the output using a Go template, or 'json'"}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(ImageInspect);
    const engine = await this.engine(flags);
    const found: unknown[] = [];
    const missing: string[] = [];
    for (const name of argv) {
      const img = engine.images.find(name);
      if (img) found.push(engine.images.inspect(img));
      else missing.push(name);
    }
    const {renderInspect} = await import('../../cli/output');
    writeOut(renderInspect(found, flags.format));
    if (missing.length) throw notFound(missing.map((m) => `${m}: image not known`).join('; '));
  }
}
