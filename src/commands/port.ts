import {Args, Flags} from '@oclif/core';
import {SkiffCommand} from '../cli/base';
import {invalidInput} from '../lib/util/errors';

export default class Port extends SkiffCommand {
  static override summary = 'List port mappings for a container';
  static override description = 'Containers have no published ports until skiff has networking, so this prints nothing for an existing container.';
  static override args = {
    container: Args.string({required: false, description: 'container (name or ID)'}),
    port: Args.string({required: false, description: 'private port[/protocol] to show'}),
  };
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'display port information for all containers'}),
    latest: Flags.boolean({char: 'l', description: 'act on the latest container created'}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Port);
    const svc = (await this.engine(flags)).containers;
    if (flags.all || flags.latest) return;
    if (!args.container) throw invalidInput('you must supply a running container name or id');
    svc.get(args.container); // a missing container is an error, as podman
  }
}
