import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {bool} from '../cli/flags';
import {AttachClient, detachKeysFlag} from '../cli/attach-client';
import {parseDetachKeys} from '../lib/runtime/detach-keys';

export default class Attach extends SkiffCommand {
  static override summary = 'Attach to a running container';
  static override description =
    "Connects skiff's standard input, output and error to a running container (its terminal, when it has one). " +
    'Several clients may attach at once. The detach sequence (default ctrl-p,ctrl-q) leaves the container running. ' +
    'As podman 4, skiff exits 0 when the session ends, whether by detaching or because the container exited.';
  static override args = {container: Args.string({required: true, description: 'container (name or ID)'})};
  static override flags = {
    'detach-keys': detachKeysFlag(),
    'no-stdin': Flags.boolean({description: 'do not attach STDIN'}),
    'sig-proxy': bool({description: 'proxy received signals to the container process (not with a terminal)', default: true}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Attach);
    parseDetachKeys(flags['detach-keys']);
    const engine = await this.engine(flags);
    const svc = engine.containers;
    const rec = svc.get(args.container);
    const id = rec.config.id;
    const client = new AttachClient({
      tty: rec.config.tty,
      stdin: rec.config.interactive && !flags['no-stdin'],
      detachKeys: flags['detach-keys'],
      // With a terminal, keys such as ctrl-c reach the container through the pty.
      sigProxy: flags['sig-proxy'] && !rec.config.tty,
      kill: (sig) => svc.kill(id, sig).then(() => undefined),
    });
    let attached;
    try {
      attached = svc.attach(id, client.streams);
    } catch (err) {
      client.close();
      throw err;
    }
    client.followSize(attached.ctlPath);
    await client.wait(attached.session);
  }
}
