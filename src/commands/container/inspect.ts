import {Args, Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {notFound} from '../../lib/util/errors';
import {inspectContainer} from '../../lib/container/inspect';
import {writeOut} from '../../cli/stdout';

export default class ContainerInspect extends SkiffCommand {
  static override summary = 'Display the configuration of one or more containers';
  static override strict = false;
  static override args = {container: Args.string({required: true, description: 'containers (names or IDs)'})};
  static override flags = {
    format: Flags.string({char: 'f', description: "format the output using a Go template, or 'json'"}),
    size: Flags.boolean({char: 's', description: 'display total file size'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(ContainerInspect);
    const engine = await this.engine(flags);
    const svc = engine.containers;
    const found: unknown[] = [];
    const missing: string[] = [];
    for (const a of argv) {
      const rec = svc.find(a);
      if (rec) found.push(inspectContainer(rec, engine.paths, {volumeDir: (n) => svc.volumes.mountpoint(n)}));
      else missing.push(a);
    }
    const {renderInspect} = await import('../../cli/output');
    writeOut(renderInspect(found, flags.format));
    if (missing.length) throw notFound(missing.map((m) => `no such container ${m}`).join('; '));
  }
}
