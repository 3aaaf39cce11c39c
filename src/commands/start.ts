import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {eachTarget, finishReports} from '../cli/multi';
import {bool, multi} from '../cli/flags';
import {invalidInput} from '../lib/util/errors';
import {AttachClient, detachKeysFlag} from '../cli/attach-client';
import {buildContainerFilter} from '../lib/container/filters';

export default class Start extends SkiffCommand {
  static override summary = 'Start one or more containers';
  static override strict = false;
  static override args = {container: Args.string({required: false, description: 'containers (names or IDs)'})};
  static override flags = {
    attach: Flags.boolean({char: 'a', description: "attach the container's STDOUT and STDERR"}),
    interactive: Flags.boolean({char: 'i', description: "attach the container's STDIN"}),
    'detach-keys': detachKeysFlag(),
    'sig-proxy': bool({description: 'proxy received signals to the container process (with --attach)', default: true}),
    all: Flags.boolean({description: 'start all containers regardless of their state'}),
    filter: multi({char: 'f', description: 'start only the containers matching these filters (as ps --filter, plus restart-policy=always|on-failure|unless-stopped|no)'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Start);
    const engine = await this.engine(flags);
    const svc = engine.containers;
    let targets = flags.all ? svc.list().filter((r) => r.state.status !== 'running').map((r) => r.config.id) : argv;
    if (flags.filter?.length) {
      const all = svc.list();
      const keep = buildContainerFilter(flags.filter, {resolve: (s) => svc.get(s), images: engine.images, all});
      const chosen = new Set(all.filter(keep).map((r) => r.config.id));
      targets = targets.filter((t) => chosen.has(flags.all ? t : svc.get(t).config.id));
      if (targets.length === 0) return;
    }
    if (targets.length === 0) throw invalidInput('start requires at least one argument');
    if (flags.attach) {
      if (targets.length > 1) throw invalidInput('you cannot start and attach multiple containers at once');
      const rec = svc.get(targets[0]);
      const id = rec.config.id;
      const client = new AttachClient({
        tty: rec.config.tty,
        stdin: flags.interactive && rec.config.interactive,
        detachKeys: flags['detach-keys'],
        sigProxy: flags['sig-proxy'],
        kill: (sig) => svc.kill(id, sig).then(() => undefined),
      });
      let session;
      try {
        ({session} = await svc.start(id, {attach: client.streams, beforeStart: (m) => client.followSize(m.ctlPath)}));
      } catch (err) {
        client.close();
        throw err;
      }
      const result = session ? await client.wait(session) : (client.close(), {detached: false});
      if (result.detached) return;
      const code = await svc.wait(id);
      await svc.cleanup(id);
      process.exitCode = code;
      return;
    }
    const reports = await eachTarget(targets, async (t) => {
      await svc.start(t);
      return t;
    });
    process.exitCode = finishReports(reports);
  }
}
