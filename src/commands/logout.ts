import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput} from '../lib/util/errors';

export default class Logout extends SkiffCommand {
  static override summary = 'Log out of a container registry';
  static override args = {registry: Args.string({required: false, description: 'registry host[:port][/namespace]'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'remove the cached credentials for all registries in the auth file'}),
    authfile: Flags.string({description: 'path of the authentication file'}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Logout);
    const engine = await this.engine(flags);
    const {logout, logoutAll} = await import('../lib/image/login');
    const authfile = flags.authfile ?? process.env.REGISTRY_AUTH_FILE;
    if (flags.all) {
      if (args.registry) throw invalidInput('--all takes no registry argument');
      await logoutAll(engine.paths, authfile);
      this.out('Removed login credentials for all registries');
      return;
    }
    if (!args.registry) throw invalidInput('please provide a registry to log out from, or --all');
    await logout(engine.paths, args.registry, authfile);
    this.out(`Removed login credentials for ${args.registry}`);
  }
}
