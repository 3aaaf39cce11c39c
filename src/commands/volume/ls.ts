import {Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {multi} from '../../cli/flags';
import {goTimeString} from '../../cli/image-rows';
import {writeOut} from '../../cli/stdout';

/** podman volume ls: DRIVER / VOLUME NAME table, -q names, --format json or a Go template, --filter. */
export default class VolumeLs extends SkiffCommand {
  static override summary = 'List volumes';
  static override flags = {
    filter: multi({char: 'f', description: 'filter volumes (name, label, label!, driver, scope, opt, dangling, until, since)'}),
    format: Flags.string({description: "format volume output using a Go template, or 'json'"}),
    noheading: Flags.boolean({char: 'n', description: 'do not print headers'}),
    quiet: Flags.boolean({char: 'q', description: 'print volume names only'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(VolumeLs);
    const engine = await this.engine(flags);
    const {volumeServiceFor, volumeJson} = await import('../../lib/container/volumes');
    const svc = volumeServiceFor(engine.paths);
    const volumes = svc.filter(svc.list(), flags.filter ?? []);
    if (flags.quiet) {
      for (const v of volumes) this.out(v.name);
      return;
    }
    const {isJsonFormat, renderList} = await import('../../cli/output');
    const data = volumes.map((v) => svc.inspect(v));
    if (flags.format && isJsonFormat(flags.format)) {
      writeOut(renderList(data.map(volumeJson), {format: flags.format, columns: []}));
      return;
    }
    const rows = data.map((d) => ({...d, CreatedAt: goTimeString(d.CreatedAt)}));
    const columns = [
      {header: 'DRIVER', field: 'Driver'},
      {header: 'VOLUME NAME', field: 'Name'},
    ];
    writeOut(renderList(rows, {format: flags.format, columns, noHeading: flags.noheading, name: 'list'}));
  }
}
