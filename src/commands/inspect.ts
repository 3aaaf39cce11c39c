import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {notFound} from '../lib/util/errors';
import {inspectContainer} from '../lib/container/inspect';
import {writeOut} from '../cli/stdout';

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
    const found: unknown[] = [];
    const missing: string[] = [];
    for (const name of argv) {
      const ctr = flags.type !== 'image' ? engine.containers.find(name) : undefined;
      if (ctr) {
        found.push(inspectContainer(ctr, engine.paths, {volumeDir: (n) => engine.containers.volumes.mountpoint(n)}));
        continue;
      }
      const img = flags.type !== 'container' ? engine.images.find(name) : undefined;
      if (img) found.push(engine.images.inspect(img));
      else missing.push(name);
    }
    const {renderInspect} = await import('../cli/output');
    writeOut(renderInspect(found, flags.format));
    if (missing.length) throw notFound(missing.map((m) => `no such object: "${m}"`).join('; '));
  }
}
