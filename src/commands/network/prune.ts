import {Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';

/** podman network prune: remove every network no container uses (never the default one). */
export default class NetworkPrune extends SkiffCommand {
  static override summary = 'Remove all networks no container uses';
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'do not prompt for confirmation'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(NetworkPrune);
    const engine = await this.engine(flags);
    const svc = engine.containers.networks;
    const candidates = svc.list().filter((n) => n.name !== 'skiff' && svc.usedBy(n.name).length === 0);
    if (!flags.force) {
      process.stderr.write('WARNING! This will remove all networks not used by at least one container.\nAre you sure you want to continue? [y/N] ');
      const answer = await new Promise<string>((resolve) => {
        let buf = '';
        process.stdin.on('data', (d) => {
          buf += d.toString();
          if (buf.includes('\n')) resolve(buf);
        });
        process.stdin.on('end', () => resolve(buf));
      });
      process.stdin.pause();
      if (!/^y(es)?$/i.test(answer.split('\n')[0].trim())) return;
    }
    for (const n of candidates) {
      await svc.remove(n.name);
      this.out(n.name);
    }
  }
}
