import {Args, Flags} from '@oclif/core';
import {SkiffCommand} from '../cli/base';
import {invalidInput, notFound} from '../lib/util/errors';

/** Inspect any object by name or ID; containers come first once they exist, then images. */
export default class Inspect extends SkiffCommand {
  static override summary = 'Display the configuration of objects (containers or images)';
  static override strict = false;
  static override args = {name: Args.string({required: true, description: 'names or IDs'})};
  static override flags = {
    format: Flags.string({char: 'f', description: "format the output using a Go template, or 'json'"}),
    type: Flags.string({char: 't', description: 'only look for this type of object', options: ['all', 'container', 'image'], default: 'all'}),
    size: Flags.boolean({char: 's', description: 'display total file size (containers)'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Inspect);
    const engine = await this.engine(flags);
    if (flags.type === 'container') throw invalidInput('no containers exist in this version of the store');
    const found: unknown[] = [];
    const missing: string[] = [];
    for (const name of argv) {
      const img = engine.images.find(name);
      if (img) found.push(engine.images.inspect(img));
      else missing.push(name);
    }
    const {renderInspect} = await import('../cli/output');
    process.stdout.write(renderInspect(found, flags.format));
    if (missing.length) throw notFound(missing.map((m) => `no such object: "${m}"`).join('; '));
  }
}
