import {Args, Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';

/** podman network disconnect NETWORK CONTAINER: leave (CNI DEL from its namespace if it runs). */
export default class NetworkDisconnect extends SkiffCommand {
  static override summary = 'Disconnect a container from a network';
  static override args = {
    network: Args.string({required: true, description: 'network name or ID'}),
    container: Args.string({required: true, description: 'container name or ID'}),
  };
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'accepted for podman compatibility (no effect)'}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(NetworkDisconnect);
    const engine = await this.engine(flags);
    await engine.containers.disconnect(args.container, args.network);
  }
}
