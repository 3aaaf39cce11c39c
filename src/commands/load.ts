import * as fs from 'node:fs';
import {Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput} from '../lib/util/errors';

export default class Load extends SkiffCommand {
  static override summary = 'Load images from an archive';
  static override description =
    'Reads a docker-archive or oci-archive (optionally gzip-compressed) from FILE or stdin and stores every image in it. Layers pass the same safety checks as pulled ones.';
  static override flags = {
    input: Flags.string({char: 'i', description: 'read from FILE instead of stdin'}),
    quiet: Flags.boolean({char: 'q', description: 'suppress the progress output'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(Load);
    if (!flags.input && process.stdin.isTTY) throw invalidInput('cannot read from terminal, use command-line redirection or the --input flag');
    const engine = await this.engine(flags);
    let source: AsyncIterable<Buffer>;
    if (flags.input) {
      if (!fs.existsSync(flags.input)) throw invalidInput(`${flags.input}: no such file or directory`);
      source = fs.createReadStream(flags.input, {highWaterMark: 1 << 20}) as AsyncIterable<Buffer>;
    } else {
      source = process.stdin as AsyncIterable<Buffer>;
    }
    const {loadArchive} = await import('../lib/image/archive/load');
    engine.images.layers.cleanupTemp();
    const progress = flags.quiet ? undefined : (l: string) => process.stderr.write(l + '\n');
    const results = await loadArchive(engine.paths, engine.images, source, progress);
    for (const r of results) {
      if (r.names.length === 0) this.out(`Loaded image: sha256:${r.id}`);
      for (const n of r.names) this.out(`Loaded image: ${n}`);
    }
  }
}
