import {Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {multi} from '../cli/flags';
import {psJson, psRow} from '../cli/container-rows';
import {buildContainerFilter} from '../lib/container/filters';
import {writeOut} from '../cli/stdout';

export default class Ps extends SkiffCommand {
  static override summary = 'List containers';
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'show all the containers, default is only running containers'}),
    quiet: Flags.boolean({char: 'q', description: 'print the numeric IDs of the containers only'}),
    latest: Flags.boolean({char: 'l', description: 'show the latest container created (all states)'}),
    last: Flags.integer({char: 'n', description: 'print the n last created containers (all states)', default: -1}),
    'no-trunc': Flags.boolean({description: 'display the extended information'}),
    noheading: Flags.boolean({description: 'do not print headers'}),
    size: Flags.boolean({char: 's', description: 'display the total file sizes'}),
    filter: multi({char: 'f', description: 'filter output based on conditions given (id, name, label, status, exited, ancestor, before, since, volume)'}),
    format: Flags.string({description: "pretty-print containers to JSON or using a Go template"}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(Ps);
    const engine = await this.engine(flags);
    const svc = engine.containerReader;
    let recs = svc.list().sort((a, b) => Date.parse(b.config.created) - Date.parse(a.config.created));
    const all = recs;
    const showAll = flags.all || flags.latest || flags.last > 0 || (flags.filter ?? []).some((f) => f.startsWith('status=') || f.startsWith('exited='));
    if (!showAll) recs = recs.filter((r) => r.state.status === 'running' || r.state.status === 'paused' || r.state.status === 'stopping');
    if (flags.filter?.length) {
      const keep = buildContainerFilter(flags.filter, {resolve: (s) => svc.get(s), images: engine.images, all});
      recs = recs.filter(keep);
    }
    if (flags.latest) recs = recs.slice(0, 1);
    else if (flags.last > 0) recs = recs.slice(0, flags.last);
    if (flags.quiet) {
      for (const r of recs) this.out(flags['no-trunc'] ? r.config.id : r.config.id.slice(0, 12));
      return;
    }
    const {renderList} = await import('../cli/output');
    if (flags.format === 'json') {
      writeOut(renderList(recs.map(psJson), {format: 'json', columns: []}));
      return;
    }
    writeOut(renderList(recs.map((r) => psRow(r, flags['no-trunc'])), {format: flags.format, columns: PS_COLUMNS, noHeading: flags.noheading}));
  }
}

/** ps's default table (also compiled into the full startup snapshot: src/cli/output.ts warmOutput). */
export const PS_COLUMNS = [
  {header: 'CONTAINER ID', field: 'ID'},
  {header: 'IMAGE', field: 'Image'},
  {header: 'COMMAND', field: 'Command'},
  {header: 'CREATED', field: 'CreatedHuman'},
  {header: 'STATUS', field: 'Status'},
  {header: 'PORTS', field: 'Ports'},
  {header: 'NAMES', field: 'Names'},
];
