import {Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {multi} from '../../cli/flags';

/** podman volume prune: remove every volume no container uses (matching --filter label/label!/until); asks unless --force. */
export default class VolumePrune extends SkiffCommand {
  static override summary = 'Remove all unused volumes';
  static override flags = {
    filter: multi({description: 'only prune volumes matching these filters (label, label!, until)'}),
    force: Flags.boolean({char: 'f', description: 'do not prompt for confirmation'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(VolumePrune);
    const engine = await this.engine(flags);
    const {volumeServiceFor} = await import('../../lib/container/volumes');
    const svc = volumeServiceFor(engine.paths);
    const filters = flags.filter ?? [];
    if (!flags.force) {
      const candidates = svc.filter(svc.list(), [...filters, 'dangling=true']).map((v) => v.name);
      process.stderr.write(
        'WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:\n' +
          candidates.map((n) => n + '\n').join('') +
          'Are you sure you want to continue? [y/N] ',
      );
      if (!/^y(es)?$/i.test((await readAnswer()).trim())) return;
    }
    for (const name of await svc.prune(filters)) this.out(name);
  }
}

/** One line from stdin (a terminal or a pipe); "" at end of input. */
async function readAnswer(): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const finish = () => {
      process.stdin.off('data', onData);
      process.stdin.off('end', finish);
      process.stdin.pause();
      resolve(buf.split('\n')[0]);
    };
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) finish();
    };
    process.stdin.on('data', onData);
    process.stdin.on('end', finish);
  });
}
