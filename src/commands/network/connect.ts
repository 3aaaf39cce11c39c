import {Args, Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {multi} from '../../cli/flags';
import {invalidInput} from '../../lib/util/errors';

/** podman network connect NETWORK CONTAINER: join (CNI ADD into its namespace if it runs). */
export default class NetworkConnect extends SkiffCommand {
  static override summary = 'Connect a container to a network';
  static override args = {
    network: Args.string({required: true, description: 'network name or ID'}),
    container: Args.string({required: true, description: 'container name or ID'}),
  };
  static override flags = {
    alias: multi({description: 'DNS alias for the container on this network'}),
    ip: Flags.string({description: 'IPv4 address for the container on this network'}),
    'mac-address': Flags.string({description: 'MAC address for the container on this network'}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(NetworkConnect);
    if (flags.ip && !/^\d+\.\d+\.\d+\.\d+$/.test(flags.ip)) throw invalidInput(`invalid IP address "${flags.ip}"`);
    if (flags['mac-address'] && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(flags['mac-address'])) throw invalidInput(`invalid MAC address "${flags['mac-address']}"`);
    const engine = await this.engine(flags);
    await engine.containers.connect(args.container, args.network, {
      ...(flags.ip ? {ips: [flags.ip]} : {}),
      ...(flags['mac-address'] ? {mac: flags['mac-address'].toLowerCase()} : {}),
      ...(flags.alias?.length ? {aliases: flags.alias} : {}),
    });
  }
}
