import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {createFlags} from '../cli/create-flags';
import {bool} from '../cli/flags';
import {createContainer} from '../cli/container-create';
import {AttachClient, detachKeysFlag} from '../cli/attach-client';
import {parseDetachKeys} from '../lib/runtime/detach-keys';
import {phase} from '../lib/util/log';

export default class Run extends SkiffCommand {
  static override summary = 'Run a command in a new container';
  static override description = 'Creates and starts a container. In the foreground its output is streamed and skiff exits with its status; with -d the container ID is printed.';
  static override strict = false;
  static override interspersed = false;
  static override args = {image: Args.string({required: true, description: 'image to run'}), command: Args.string({required: false, description: 'command and arguments (default: the image ENTRYPOINT and CMD)'})};
  static override flags = {
    ...createFlags,
    detach: Flags.boolean({char: 'd', description: 'run the container in the background and print its ID'}),
    'sig-proxy': bool({description: 'proxy received signals to the container process', default: true}),
    'detach-keys': detachKeysFlag(),
    quiet: Flags.boolean({char: 'q', description: 'suppress output information when pulling images'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Run);
    parseDetachKeys(flags['detach-keys']); // a bad sequence fails before anything is created
    const engine = await this.engine(flags);
    phase('engine');
    const rec = await createContainer(engine, argv[0], argv.slice(1), flags);
    phase('created');
    const id = rec.config.id;
    const svc = engine.containers;
    if (flags.detach) {
      try {
        await svc.start(id);
      } catch (err) {
        if (rec.config.autoRemove) await svc.remove([id], {force: true, volumes: true});
        throw err;
      }
      this.out(id);
      return;
    }
    const client = new AttachClient({
      tty: rec.config.tty,
      stdin: flags.interactive,
      detachKeys: flags['detach-keys'],
      sigProxy: flags['sig-proxy'],
      kill: (sig) => svc.kill(id, sig).then(() => undefined),
    });
    let started;
    try {
      started = await svc.start(id, {attach: client.streams, beforeStart: (m) => client.followSize(m.ctlPath)});
    } catch (err) {
      client.close();
      if (rec.config.autoRemove) await svc.remove([id], {force: true, volumes: true}).catch(() => undefined);
      throw err;
    }
    phase('started');
    const result = started.session ? await client.wait(started.session) : (client.close(), {detached: false});
    // Detached (podman: nothing printed, exit 0): the container keeps running; its conmon cleans up.
    if (result.detached) return;
    const code = await svc.wait(id);
    phase('exited');
    // The container's status is the answer even if its teardown cannot be
    // recorded now (a full disk): cleanup has warned, and the record still
    // reads as exited, which the next rm or start finishes.
    await svc.cleanup(id).catch(() => undefined);
    phase('cleaned');
    process.exitCode = code;
  }
}
