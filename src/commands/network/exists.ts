import {Args} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';

/** Exit 0 when the network exists, 1 when not (no output), as podman. */
export default class NetworkExists extends SkiffCommand {
  static override summary = 'Check if a network exists';
  static override args = {name: Args.string({required: true, description: 'network name or ID'})};

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(NetworkExists);
    const engine = await this.engine(flags);
    const svc = engine.containers.networks;
    if (args.name !== 'skiff' && !svc.find(args.name)) process.exitCode = 1;
  }
}
