import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {multi} from '../cli/flags';
import {imageJson, imageRows, type ImageRow} from '../cli/image-rows';
import {buildImageFilter} from '../lib/image/filters';
import {getImage} from '../lib/image/lookup';
import {invalidInput} from '../lib/util/errors';
import type {ImageRecord} from '../lib/image/store';
import {writeOut} from '../cli/stdout';

const SORT_KEYS = ['created', 'id', 'repository', 'size', 'tag'] as const;

export default class Images extends SkiffCommand {
  static override summary = 'List images in local storage';
  static override args = {image: Args.string({required: false, description: 'only images matching this reference'})};
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'show all images (intermediate images too)'}),
    digests: Flags.boolean({description: 'show digests'}),
    filter: multi({char: 'f', description: 'filter output based on conditions given (reference, dangling, label, before, since, id)'}),
    format: Flags.string({description: "pretty-print images using a Go template, or 'json'"}),
    'no-trunc': Flags.boolean({description: 'do not truncate output'}),
    noheading: Flags.boolean({char: 'n', description: 'do not print column headings'}),
    quiet: Flags.boolean({char: 'q', description: 'display only image IDs'}),
    sort: Flags.string({description: 'sort by created, id, repository, size or tag', default: 'created', options: [...SORT_KEYS]}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Images);
    const engine = await this.engine(flags);
    const svc = engine.images;
    const all = svc.list();
    const labelsOf = (img: ImageRecord) => svc.config(img).config?.Labels ?? {};
    const filters = [...(flags.filter ?? []), ...(args.image ? [`reference=${args.image}`] : [])];
    const keep = buildImageFilter(filters, {labels: labelsOf, resolve: (s) => getImage(all, s)});
    const images = all.filter(keep);
    images.sort((a, b) => (flags.sort === 'size' ? b.size - a.size : Date.parse(b.created) - Date.parse(a.created)));

    if (flags.quiet) {
      const seen = new Set<string>();
      for (const img of images) {
        const id = flags['no-trunc'] ? `sha256:${img.id}` : img.id.slice(0, 12);
        if (!seen.has(id)) this.out(id);
        seen.add(id);
      }
      return;
    }
    const {renderList} = await import('../cli/output');
    if (flags.format === 'json') {
      const rows = images.map((img) => imageJson(img, labelsOf(img), 0));
      writeOut(renderList(rows, {format: 'json', columns: []}));
      return;
    }
    let rows: ImageRow[] = images.flatMap((img) => imageRows(img, labelsOf(img), 0, flags['no-trunc']));
    rows = sortRows(rows, flags.sort as (typeof SORT_KEYS)[number]);
    const columns = imagesColumns(flags.digests);
    writeOut(renderList(rows, {format: flags.format, columns, noHeading: flags.noheading}));
  }
}

function sortRows(rows: ImageRow[], key: (typeof SORT_KEYS)[number]): ImageRow[] {
  const cmp: Record<typeof key, (a: ImageRow, b: ImageRow) => number> = {
    created: (a, b) => b.Created - a.Created,
    id: (a, b) => a.Id.localeCompare(b.Id),
    repository: (a, b) => a.Repository.localeCompare(b.Repository) || a.Tag.localeCompare(b.Tag),
    size: () => 0, // images are already in size order; the sort is stable
    tag: (a, b) => a.Tag.localeCompare(b.Tag),
  };
  if (!cmp[key]) throw invalidInput(`invalid --sort "${key}"`);
  return [...rows].sort(cmp[key]);
}

/** images' default table (without --digests also compiled into the startup snapshot: src/cli/output.ts warmOutput). */
export function imagesColumns(digests = false): Array<{header: string; field: string}> {
  return [
    {header: 'REPOSITORY', field: 'Repository'},
    {header: 'TAG', field: 'Tag'},
    ...(digests ? [{header: 'DIGEST', field: 'Digest'}] : []),
    {header: 'IMAGE ID', field: 'ID'},
    {header: 'CREATED', field: 'CreatedSince'},
    {header: 'SIZE', field: 'Size'},
  ];
}
