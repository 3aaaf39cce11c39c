import {spawn} from 'node:child_process';
import {Args} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {constants} from 'node:os';
import {SkiffError, invalidInput} from '../lib/util/errors';
import {isRootless} from '../lib/rootless/userns';

/**
 * podman unshare: a command inside the rootless user's namespace (user +
 * mount), where the store's files show their container owners and
 * skiff's mounts are visible. The entry (src/cli/main.ts) has already moved
 * this process into the namespace; here the command only runs and its exit
 * status becomes skiff's.
 */
export default class Unshare extends SkiffCommand {
  static override summary = "Run a command in the rootless user's namespace";
  static override description =
    'Runs COMMAND (default: $SHELL, else /bin/sh) inside the user namespace and mount namespace skiff uses for a non-root user: uid 0 there is the user, ' +
    "the /etc/subuid and /etc/subgid ranges follow, and skiff's mounts are visible. CONTAINERS_GRAPHROOT and CONTAINERS_RUNROOT name the store. " +
    'Exits with the status of COMMAND. Only for rootless use: as root it fails.';
  static override strict = false;
  static override interspersed = false;
  static override args = {
    command: Args.string({required: false, description: 'command and arguments to run (default: $SHELL)'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Unshare);
    if (!isRootless()) throw invalidInput('please use unshare with rootless');
    const engine = await this.engine(flags);
    const command = argv.length > 0 ? argv : [process.env.SHELL || '/bin/sh'];
    const env = {...process.env, CONTAINERS_GRAPHROOT: engine.paths.root, CONTAINERS_RUNROOT: engine.paths.runroot};
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(command[0], command.slice(1), {stdio: 'inherit', env});
      // The terminal's signals reach the child directly (same process group): skiff only waits.
      for (const sig of ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') reject(new SkiffError('command-not-found', `${command[0]}: command not found`));
        else if (err.code === 'EACCES') reject(new SkiffError('cannot-invoke', `${command[0]}: permission denied`));
        else reject(err);
      });
      child.on('exit', (c, sig) => resolve(c ?? 128 + (sig ? constants.signals[sig] : 0)));
    });
    process.exitCode = code;
  }
}
