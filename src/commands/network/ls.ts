import {Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {multi} from '../../cli/flags';
import {invalidInput} from '../../lib/util/errors';
import type {NetworkRecord} from '../../lib/network/types';
import {writeOut} from '../../cli/stdout';

/** podman network ls: NETWORK ID / NAME / DRIVER, -q, --format json or a Go template, --filter. */
export default class NetworkLs extends SkiffCommand {
  static override summary = 'List networks';
  static override flags = {
    filter: multi({char: 'f', description: 'filter networks (name, id, driver, label, dangling=true|false)'}),
    format: Flags.string({description: "format network output using a Go template, or 'json'"}),
    noheading: Flags.boolean({char: 'n', description: 'do not print headers'}),
    'no-trunc': Flags.boolean({description: 'do not truncate network IDs'}),
    quiet: Flags.boolean({char: 'q', description: 'print network names only'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(NetworkLs);
    const engine = await this.engine(flags);
    const svc = engine.containers.networks;
    await svc.ensureDefault();
    const nets = svc.list().filter(matcher(flags.filter ?? [], (n) => svc.usedBy(n).length > 0));
    if (flags.quiet) {
      for (const n of nets) this.out(n.name);
      return;
    }
    const {isJsonFormat, renderList} = await import('../../cli/output');
    if (flags.format && isJsonFormat(flags.format)) {
      writeOut(JSON.stringify(nets, null, 4) + '\n');
      return;
    }
    const {networkTemplateView} = await import('../../lib/network/service');
    const rows = nets.map((n) => ({...networkTemplateView(n), ID: flags['no-trunc'] ? n.id : n.id.slice(0, 12)}));
    const columns = [
      {header: 'NETWORK ID', field: 'ID'},
      {header: 'NAME', field: 'Name'},
      {header: 'DRIVER', field: 'Driver'},
    ];
    writeOut(renderList(rows, {format: flags.format, columns, noHeading: flags.noheading, name: 'list'}));
  }
}

/** Filters of the same key are ORed, different keys ANDed (podman). */
function matcher(filters: string[], inUse: (name: string) => boolean): (n: NetworkRecord) => boolean {
  const by = new Map<string, string[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    if (i <= 0) throw invalidInput(`invalid filter "${f}": expected KEY=VALUE`);
    const k = f.slice(0, i);
    if (!['name', 'id', 'driver', 'label', 'label!', 'dangling'].includes(k)) throw invalidInput(`invalid filter "${k}"`);
    by.set(k, [...(by.get(k) ?? []), f.slice(i + 1)]);
  }
  const label = (n: NetworkRecord, v: string) => {
    const j = v.indexOf('=');
    return j < 0 ? v in n.labels : n.labels[v.slice(0, j)] === v.slice(j + 1);
  };
  return (n) =>
    [...by].every(([k, vals]) =>
      vals.some((v) => {
        switch (k) {
          case 'name':
            return new RegExp(v).test(n.name);
          case 'id':
            return n.id.startsWith(v);
          case 'driver':
            return n.driver === v;
          case 'label':
            return label(n, v);
          case 'label!':
            return !label(n, v);
          default:
            return (v === 'true' || v === '1') === !inUse(n.name);
        }
      }),
    );
}
