import {Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';

export default class ContainerPrune extends SkiffCommand {
  static override summary = 'Remove all non-running containers';
  static override flags = {force: Flags.boolean({char: 'f', description: 'do not prompt for confirmation'})};

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(ContainerPrune);
    if (!flags.force) {
      process.stderr.write('WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] ');
      const answer = await new Promise<string>((resolve) => {
        let buf = '';
        process.stdin.on('data', (d) => {
          buf += d;
          if (buf.includes('\n')) resolve(buf);
        });
        process.stdin.on('end', () => resolve(buf));
      });
      process.stdin.pause();
      if (!/^y(es)?$/i.test(answer.trim())) return;
    }
    const engine = await this.engine(flags);
    const svc = engine.containers;
    const ids = svc.list().filter((r) => r.state.status === 'exited' || r.state.status === 'stopped' || r.state.status === 'created').map((r) => r.config.id);
    for (const r of await svc.remove(ids, {ignore: true})) {
      if (r.error) process.stderr.write(`Error: ${r.error.message}\n`);
      else this.out(r.id);
    }
  }
}
