/**
 * `images --filter` as podman: reference=PATTERN (glob on names, with or
 * without registry), dangling=true|false, label=KEY[=VALUE], before=IMAGE,
 * since=IMAGE, id=PREFIX. Different keys AND together; repeated keys OR,
 * except label, where every one must hold (as podman).
 */
import type {ImageRecord} from './store';
import {invalidInput} from '../util/errors';

export interface FilterContext {
  labels(img: ImageRecord): Record<string, string>;
  resolve(input: string): ImageRecord;
}

type Pred = (img: ImageRecord) => boolean;

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`);
}

/** Does `name` (full "domain/path:tag") match a reference pattern? */
export function referenceMatches(name: string, pattern: string): boolean {
  const colon = name.lastIndexOf(':');
  const repo = name.slice(0, colon);
  const withoutDomain = name.slice(name.indexOf('/') + 1);
  const repoWithoutDomain = repo.slice(repo.indexOf('/') + 1);
  const familiar = withoutDomain.replace(/^library\//, '');
  const familiarRepo = repoWithoutDomain.replace(/^library\//, '');
  const re = globToRegExp(pattern);
  const hasTag = /:[^/]*$/.test(pattern);
  const cands = hasTag ? [name, withoutDomain, familiar] : [repo, repoWithoutDomain, familiarRepo];
  return cands.some((c) => re.test(c) || (!pattern.includes('*') && c.endsWith('/' + pattern)));
}

export function buildImageFilter(filters: string[], ctx: FilterContext): Pred {
  const byKey = new Map<string, string[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    if (i <= 0) throw invalidInput(`invalid image filter "${f}": expected KEY=VALUE`);
    const k = f.slice(0, i);
    byKey.set(k, [...(byKey.get(k) ?? []), f.slice(i + 1)]);
  }
  const preds: Pred[] = [];
  for (const [key, values] of byKey) {
    switch (key) {
      case 'reference':
        preds.push((img) => values.some((v) => img.names.some((n) => referenceMatches(n, v))));
        break;
      case 'dangling': {
        const want = values.map((v) => {
          if (v !== 'true' && v !== 'false') throw invalidInput(`invalid filter dangling=${v}: must be true or false`);
          return v === 'true';
        });
        preds.push((img) => want.some((w) => (img.names.length === 0) === w));
        break;
      }
      case 'label':
        preds.push((img) => {
          const labels = ctx.labels(img);
          return values.every((v) => {
            const j = v.indexOf('=');
            return j < 0 ? v in labels : labels[v.slice(0, j)] === v.slice(j + 1);
          });
        });
        break;
      case 'before':
      case 'since': {
        const refs = values.map((v) => ctx.resolve(v));
        preds.push((img) =>
          refs.some((r) => (key === 'before' ? Date.parse(img.created) < Date.parse(r.created) : Date.parse(img.created) > Date.parse(r.created)) && img.id !== r.id),
        );
        break;
      }
      case 'id':
        preds.push((img) => values.some((v) => img.id.startsWith(v.replace(/^sha256:/, ''))));
        break;
      default:
        throw invalidInput(`invalid image filter "${key}": supported are reference, dangling, label, before, since, id`);
    }
  }
  return (img) => preds.every((p) => p(img));
}
