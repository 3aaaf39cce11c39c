import {Args, Flags} from '../cli/params';
import * as fs from 'node:fs';
import {SkiffCommand} from '../cli/base';
import {invalidInput} from '../lib/util/errors';

/** podman export: the container's merged filesystem as a tar archive, to -o FILE or stdout. */
export default class Export extends SkiffCommand {
  static override summary = "Export a container's filesystem contents as a tar archive";
  static override args = {container: Args.string({required: true, description: 'container name or ID'})};
  static override flags = {
    output: Flags.string({char: 'o', description: 'write to a file instead of stdout'}),
  };
  static override examples = ['skiff export -o ctr.tar ctr', 'skiff export ctr | tar -t'];

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Export);
    if (!flags.output && process.stdout.isTTY) throw invalidInput('refusing to export to terminal. Use -o flag or redirect');
    const engine = await this.engine(flags);
    const {packTree} = await import('../lib/storage/pack/tree');
    const {prefetch} = await import('../lib/storage/pack/prefetch');
    const {writeStream} = await import('../cli/stream-out');
    await engine.rootfs.with(args.container, async (rootfs) => {
      const tar = prefetch(packTree([{abs: rootfs, name: ''}]));
      if (!flags.output) return writeStream(tar, process.stdout);
      const tmp = `${flags.output}.skiff-${process.pid}.tmp`;
      const out = fs.createWriteStream(tmp, {mode: 0o644});
      try {
        await writeStream(tar, out);
        await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
        fs.renameSync(tmp, flags.output);
      } catch (err) {
        out.destroy();
        fs.rmSync(tmp, {force: true});
        throw err;
      }
    });
  }
}
