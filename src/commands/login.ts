import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {bool} from '../cli/flags';
import {readLine, readSecret} from '../cli/prompt';
import {invalidInput, notFound} from '../lib/util/errors';

export default class Login extends SkiffCommand {
  static override summary = 'Log in to a container registry';
  static override description = 'Verifies the credentials against the registry, then stores them in the auth file (containers-auth.json format, mode 0600).';
  static override args = {registry: Args.string({required: false, description: 'registry host[:port][/namespace]'})};
  static override flags = {
    username: Flags.string({char: 'u', description: 'username for the registry'}),
    password: Flags.string({char: 'p', description: 'password for the registry'}),
    'password-stdin': Flags.boolean({description: 'take the password from stdin'}),
    authfile: Flags.string({description: 'path of the authentication file (default ${XDG_RUNTIME_DIR}/containers/auth.json)'}),
    'cert-dir': Flags.string({description: 'use certificates at PATH (*.crt, *.cert, *.key) to connect to the registry'}),
    'tls-verify': bool({description: 'require HTTPS and verify certificates (default from registries.conf)'}),
    'get-login': Flags.boolean({description: 'print the username of the current login, if any'}),
    verbose: Flags.boolean({char: 'v', description: 'print the auth file used'}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Login);
    const engine = await this.engine(flags);
    const {login, currentLogin} = await import('../lib/image/login');
    const {loadRegistriesConf} = await import('../lib/image/registries-conf');
    const registry = args.registry ?? loadRegistriesConf(engine.paths).unqualifiedSearchRegistries[0];
    if (!registry) throw invalidInput('please provide a registry to log in to');
    const authfile = flags.authfile ?? process.env.REGISTRY_AUTH_FILE;
    if (flags['get-login']) {
      const user = currentLogin(engine.paths, registry, authfile);
      if (!user) throw notFound(`not logged into ${registry}`);
      this.out(user);
      return;
    }
    if (flags.password && flags['password-stdin']) throw invalidInput('--password and --password-stdin are mutually exclusive');
    const tty = process.stdin.isTTY === true;
    let username = flags.username;
    let password = flags.password;
    if (flags['password-stdin']) {
      if (!username) throw invalidInput('--username is required with --password-stdin');
      password = (await readStdin()).replace(/\r?\n$/, '');
    }
    if (!username) {
      if (!tty) throw invalidInput('no --username given and no terminal to ask for one');
      username = (await readLine('Username: ')).trim();
    }
    if (password === undefined) {
      if (!tty) throw invalidInput('no --password given and no terminal to ask for one (use --password-stdin)');
      password = await readSecret('Password: ');
    }
    if (!username) throw invalidInput('username must not be empty');
    await login(engine.paths, {registry, username, password, authfile, certDir: flags['cert-dir'], tlsVerify: flags['tls-verify']});
    if (flags.verbose) process.stderr.write(`Used: ${authfile ?? engine.paths.defaultAuthFile()}\n`);
    this.out('Login Succeeded!');
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
