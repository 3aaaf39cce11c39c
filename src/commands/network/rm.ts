import {Args, Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {isSkiffError} from '../../lib/util/errors';

/** podman network rm: prints removed names; -f removes the containers using them first. Exit 1 if one was missing, 2 if in use, 125 otherwise. */
export default class NetworkRm extends SkiffCommand {
  static override summary = 'Remove networks';
  static override strict = false;
  static override args = {network: Args.string({required: true, description: 'networks to remove (names or IDs)'})};
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'remove the containers using the network first'}),
    time: Flags.integer({char: 't', description: 'seconds to wait before forcibly stopping those containers'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(NetworkRm);
    const engine = await this.engine(flags);
    const svc = engine.containers.networks;
    let code = 0;
    for (const input of argv) {
      try {
        const net = svc.get(input);
        if (flags.force) {
          const users = svc.usedBy(net.name);
          const reports = await engine.containers.remove(users, {force: true, volumes: false, ignore: true, timeout: flags.time});
          const failed = reports.find((r) => r.error);
          if (failed) throw failed.error;
        }
        await svc.remove(net.name);
        this.out(net.name);
      } catch (err) {
        const inUse = isSkiffError(err, 'conflict') && /being used/.test((err as Error).message);
        code = isSkiffError(err, 'not-found') ? code || 1 : inUse ? (code <= 1 ? 2 : code) : 125;
        process.stderr.write(`Error: ${(err as Error).message}\n`);
      }
    }
    if (code) process.exitCode = code;
  }
}
