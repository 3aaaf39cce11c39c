import {Args, Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {bool} from '../../cli/flags';
import {humanSize, timeAgo} from '../../lib/util/human';
import {writeOut} from '../../cli/stdout';

interface HistoryRow {
  ID: string;
  Created: string;
  CreatedAt: string;
  CreatedSince: string;
  CreatedBy: string;
  Size: string;
  Comment: string;
  Tags: string[];
}

export default class ImageHistory extends SkiffCommand {
  static override summary = 'Show the history of an image';
  static override description = "Lists the steps that built IMAGE, newest first, from its config's history, with the size of the layer each step added.";
  static override args = {image: Args.string({required: true, description: 'image to show'})};
  static override flags = {
    human: bool({char: 'H', description: 'display sizes and dates in human readable format', default: true}),
    'no-trunc': Flags.boolean({description: 'do not truncate the output'}),
    quiet: Flags.boolean({char: 'q', description: 'display only the IDs'}),
    format: Flags.string({description: "change the output to JSON or a Go template (fields: .ID .Created .CreatedBy .Size .Comment .Tags)"}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(ImageHistory);
    const engine = await this.engine(flags);
    const svc = engine.images;
    const img = svc.get(args.image);
    const cfg = svc.config(img);
    const layers = img.layers.map((c) => svc.layers.get(c)?.size ?? 0);
    const history: NonNullable<typeof cfg.history> = cfg.history && cfg.history.length > 0 ? cfg.history : layers.map(() => ({created: cfg.created, created_by: '', comment: ''}));
    // Each non-empty step consumed one layer, base first.
    let li = 0;
    const steps = history.map((h) => {
      const size = h.empty_layer ? 0 : (layers[li++] ?? 0);
      return {...h, size};
    });
    steps.reverse();
    const noTrunc = flags['no-trunc'];
    const rows: HistoryRow[] = steps.map((s, i) => {
      const id = i === 0 ? (noTrunc ? img.id : img.id.slice(0, 12)) : '<missing>';
      const created = s.created ?? cfg.created ?? new Date(0).toISOString();
      let by = s.created_by ?? '';
      if (!noTrunc && by.length > 45) by = by.slice(0, 42) + '...';
      return {
        ID: id,
        Created: flags.human ? timeAgo(created) : created,
        CreatedAt: created,
        CreatedSince: timeAgo(created),
        CreatedBy: by,
        Size: flags.human ? humanSize(s.size) : String(s.size),
        Comment: s.comment ?? '',
        Tags: i === 0 ? img.names : [],
      };
    });
    if (flags.quiet) {
      for (const r of rows) this.out(r.ID);
      return;
    }
    const {renderList} = await import('../../cli/output');
    const columns = [
      {header: 'ID', field: 'ID'},
      {header: 'CREATED', field: 'Created'},
      {header: 'CREATED BY', field: 'CreatedBy'},
      {header: 'SIZE', field: 'Size'},
      {header: 'COMMENT', field: 'Comment'},
    ];
    if (flags.format === 'json') {
      const json = steps.map((s, i) => ({id: i === 0 ? img.id : '<missing>', created: s.created ?? cfg.created, createdBy: s.created_by ?? '', size: s.size, comment: s.comment ?? '', tags: i === 0 ? img.names : null}));
      writeOut(renderList(json, {format: 'json', columns: []}));
      return;
    }
    writeOut(renderList(rows, {format: flags.format, columns}));
  }
}
