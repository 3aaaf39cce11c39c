import {Args, Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {multi} from '../../cli/flags';
import {invalidInput} from '../../lib/util/errors';

function keyValues(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list ?? []) {
    const i = e.indexOf('=');
    if (i <= 0) throw invalidInput(`invalid ${flag} "${e}": expected KEY=VALUE`);
    out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

/** podman network create [options] [NAME]: prints the network's name. */
export default class NetworkCreate extends SkiffCommand {
  static override summary = 'Create a network (a CNI bridge or macvlan network)';
  static override args = {name: Args.string({required: false, description: 'network name (skiffN when omitted)'})};
  static override flags = {
    driver: Flags.string({char: 'd', description: 'driver: bridge or macvlan', default: 'bridge'}),
    subnet: Flags.string({description: 'IPv4 subnet in CIDR form (default: the first free 10.89.x.0/24)'}),
    gateway: Flags.string({description: 'gateway address (default: the first address of the subnet); needs --subnet'}),
    'ip-range': Flags.string({description: 'allocate container addresses from this CIDR inside the subnet; needs --subnet'}),
    internal: Flags.boolean({description: 'no route out of the network (no masquerade, no default route)'}),
    'disable-dns': Flags.boolean({description: 'do not run aardvark-dns name resolution on this network'}),
    'interface-name': Flags.string({description: 'name of the bridge (bridge) or parent interface (macvlan)'}),
    label: multi({description: 'set metadata on the network (KEY=VALUE)'}),
    opt: multi({char: 'o', description: 'driver options: mtu=N, vlan=N; macvlan: parent=IFACE, mode=MODE'}),
    ignore: Flags.boolean({description: "don't fail if the network already exists"}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(NetworkCreate);
    const engine = await this.engine(flags);
    const rec = await engine.containers.networks.create({
      name: args.name,
      driver: flags.driver,
      subnet: flags.subnet,
      gateway: flags.gateway,
      ipRange: flags['ip-range'],
      internal: flags.internal,
      disableDns: flags['disable-dns'],
      interfaceName: flags['interface-name'],
      labels: keyValues(flags.label, '--label'),
      options: keyValues(flags.opt, '--opt'),
      ignore: flags.ignore,
    });
    this.out(rec.name);
  }
}
