import * as fs from 'node:fs';
import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {multi} from '../cli/flags';
import {AttachClient, detachKeysFlag} from '../cli/attach-client';
import {parseDetachKeys} from '../lib/runtime/detach-keys';
import {parseEnvFile, resolveEnv} from '../lib/container/options';
import {SkiffError, invalidInput} from '../lib/util/errors';

export default class Exec extends SkiffCommand {
  static override summary = 'Run a process in a running container';
  static override description =
    "The process joins the container's namespaces, cgroup, capabilities and seccomp profile, with the container's environment and user unless -e/-u say otherwise. " +
    "skiff exits with the process's status: 126 when the command cannot be invoked, 127 when it is not found, 125 when skiff itself fails (e.g. the container is not running).";
  static override strict = false;
  static override interspersed = false;
  static override args = {
    container: Args.string({required: true, description: 'container (name or ID)'}),
    command: Args.string({required: true, description: 'command and arguments to run'}),
  };
  static override flags = {
    interactive: Flags.boolean({char: 'i', description: 'keep STDIN open, fed from skiff\'s stdin'}),
    tty: Flags.boolean({char: 't', description: 'allocate a pseudo-TTY for the process'}),
    env: multi({char: 'e', description: 'set an environment variable (NAME=value, or NAME to copy it from the host)'}),
    'env-file': multi({description: 'read environment variables from a file'}),
    user: Flags.string({char: 'u', description: 'user (name or UID) and optional group (name or GID) to run as: USER[:GROUP]'}),
    workdir: Flags.string({char: 'w', description: 'working directory inside the container'}),
    privileged: Flags.boolean({description: 'give the process every capability'}),
    detach: Flags.boolean({char: 'd', description: 'run in the background and print the exec session ID'}),
    'detach-keys': detachKeysFlag(),
    'preserve-fds': Flags.integer({description: 'pass N more file descriptors (3 to 3+N-1) on to the process', min: 0, default: 0, helpValue: 'N'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Exec);
    const [container, ...command] = argv;
    if (!container || command.length === 0) throw invalidInput('exec requires the name or ID of a container and a command to run');
    parseDetachKeys(flags['detach-keys']);
    const envFiles = (flags['env-file'] ?? []).map((f) => {
      let text: string;
      try {
        text = fs.readFileSync(f, 'utf8');
      } catch (err) {
        throw invalidInput(`--env-file ${f}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
      }
      return parseEnvFile(text, f);
    });
    const env = resolveEnv(flags.env ?? [], envFiles, process.env);
    const preserveFds = flags['preserve-fds'];
    for (let fd = 3; fd < 3 + preserveFds; fd++) {
      try {
        fs.fstatSync(fd);
      } catch {
        throw invalidInput(`file descriptor ${fd} is not available: --preserve-fds=${preserveFds} needs descriptors 3 to ${2 + preserveFds} open`);
      }
    }
    const engine = await this.engine(flags);
    const svc = engine.containers;
    const req = {command, tty: flags.tty, interactive: flags.interactive, env, user: flags.user, workdir: flags.workdir, privileged: flags.privileged, detach: flags.detach, preserveFds};
    if (flags.detach) {
      const started = await svc.exec(container, req);
      started.release();
      this.out(started.execId);
      return;
    }
    const client = new AttachClient({tty: flags.tty, stdin: flags.interactive, detachKeys: flags['detach-keys'], sigProxy: false});
    let started;
    try {
      started = await svc.exec(container, req, {attach: client.streams, beforeStart: (ctl) => client.followSize(ctl)});
    } catch (err) {
      client.close();
      throw err;
    }
    const result = started.session ? await client.wait(started.session) : (client.close(), {detached: false});
    if (result.detached) {
      started.release();
      return;
    }
    const code = await started.exit;
    started.release();
    started.done();
    if (code === undefined || code < 0) throw new SkiffError('internal', `exec session ${started.execId.slice(0, 12)}: conmon did not report the exit status`);
    process.exitCode = code;
  }
}
