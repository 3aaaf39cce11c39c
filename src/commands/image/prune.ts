import {Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';

export default class ImagePrune extends SkiffCommand {
  static override summary = 'Remove unused images (dangling ones, or all unused with --all)';
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'remove all images not used by containers, not only dangling ones'}),
    force: Flags.boolean({char: 'f', description: 'do not prompt for confirmation'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(ImagePrune);
    if (!flags.force) {
      process.stderr.write(
        `WARNING! This command removes all ${flags.all ? 'images without at least one container associated with them' : 'dangling images'}.\nAre you sure you want to continue? [y/N] `,
      );
      const answer = await readAnswer();
      if (!/^y(es)?$/i.test(answer.trim())) return;
    }
    const engine = await this.engine(flags);
    for (const id of await engine.images.prune({all: flags.all})) this.out(id);
  }
}

async function readAnswer(): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) done();
    };
    const done = () => {
      process.stdin.off('data', onData);
      process.stdin.off('end', done);
      process.stdin.pause();
      resolve(buf.split('\n')[0]);
    };
    process.stdin.on('data', onData);
    process.stdin.on('end', done);
  });
}
