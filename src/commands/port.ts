import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput} from '../lib/util/errors';

/** podman port CONTAINER [PRIVATE_PORT[/PROTO]]: the published ports of a container ("80/tcp -> 0.0.0.0:8080"). */
export default class Port extends SkiffCommand {
  static override summary = 'List port mappings of a container';
  static override args = {
    container: Args.string({required: false, description: 'container name or ID'}),
    port: Args.string({required: false, description: 'only this container port (PORT[/PROTO])'}),
  };
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'list the ports of all running containers'}),
    latest: Flags.boolean({char: 'l', description: 'act on the latest container', hidden: true}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Port);
    if (!flags.all && !args.container) throw invalidInput('you must supply a running container name or ID');
    const engine = await this.engine(flags);
    const recs = flags.all ? engine.containers.list().filter((r) => r.state.status === 'running') : [engine.containers.get(args.container!)];
    let want: {port: number; proto: string} | undefined;
    const filter = flags.all ? args.container : args.port;
    if (filter) {
      const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(filter);
      if (!m) throw invalidInput(`invalid port "${filter}": expected PORT[/tcp|udp]`);
      want = {port: Number(m[1]), proto: m[2] ?? 'tcp'};
    }
    for (const r of recs) {
      const running = r.state.status === 'running' || r.state.status === 'paused';
      const ports = (running ? r.state.net?.ports : undefined) ?? [];
      for (const p of ports) {
        const host = `${p.hostIp || '0.0.0.0'}:${p.hostPort}`;
        if (want) {
          if (p.containerPort === want.port && p.protocol === want.proto) this.out(host);
        } else this.out(`${flags.all ? r.config.id.slice(0, 12) + '\t' : ''}${p.containerPort}/${p.protocol} -> ${host}`);
      }
    }
  }
}
