import {Args, Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {isSkiffError, notFound} from '../../lib/util/errors';
import {writeOut} from '../../cli/stdout';

/** podman network inspect: the network JSON (netavark's shape), or a Go template per network. */
export default class NetworkInspect extends SkiffCommand {
  static override summary = 'Display the configuration of one or more networks';
  static override strict = false;
  static override args = {network: Args.string({required: true, description: 'networks to inspect (names or IDs)'})};
  static override flags = {
    format: Flags.string({char: 'f', description: "format the output using a Go template, or 'json'"}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(NetworkInspect);
    const engine = await this.engine(flags);
    const svc = engine.containers.networks;
    const found = [];
    const missing: string[] = [];
    for (const name of argv) {
      try {
        found.push(await svc.resolve(name));
      } catch (err) {
        if (!isSkiffError(err, 'not-found')) throw err;
        missing.push(name);
      }
    }
    const {renderInspect, isJsonFormat} = await import('../../cli/output');
    const {networkTemplateView} = await import('../../lib/network/service');
    // JSON keeps the record's keys; Go templates see podman's Go field names (.Name, .NetworkInterface, .Subnets...).
    writeOut(renderInspect(!flags.format || isJsonFormat(flags.format) ? found : found.map(networkTemplateView), flags.format));
    if (missing.length) throw notFound(missing.map((m) => `network ${m}: unable to find network with name or ID ${m}: network not found`).join('; '));
  }
}
