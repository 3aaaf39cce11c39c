/**
 * `skiff events` filters, as podman's libpod/events/filters.go: type=,
 * event= (or status=; "die" means "died"), container=, image=, volume=,
 * network=, label=key[=value]. Values of one key are alternatives; different
 * keys must all match.
 */
import {invalidInput} from '../util/errors';
import type {SkiffEvent} from './types';

type Pred = (e: SkiffEvent) => boolean;

const matchIdOrName = (e: SkiffEvent, v: string) => e.Name === v || (!!e.ID && /^[0-9a-f]+$/.test(v) && e.ID.startsWith(v));

function one(key: string, value: string): Pred {
  switch (key) {
    case 'type':
      return (e) => e.Type === value;
    case 'event':
    case 'status': {
      const want = value === 'die' ? 'died' : value;
      return (e) => e.Status === want;
    }
    case 'container':
      return (e) => e.Type === 'container' && matchIdOrName(e, value);
    case 'image':
      return (e) => {
        if (e.Type === 'image') return matchIdOrName(e, value) || (e.Name ?? '').replace(/:latest$/, '').endsWith(value.replace(/:latest$/, ''));
        if (e.Type === 'container') return e.Image === value || (e.Image ?? '').replace(/:latest$/, '').endsWith('/' + value.replace(/:latest$/, ''));
        return false;
      };
    case 'volume':
      return (e) => e.Type === 'volume' && e.Name === value;
    case 'network':
      return (e) => e.Type === 'network' && (e.Network === value || e.Name === value);
    case 'label': {
      const i = value.indexOf('=');
      const k = i < 0 ? value : value.slice(0, i);
      const v = i < 0 ? undefined : value.slice(i + 1);
      return (e) => !!e.Attributes && k in e.Attributes && (v === undefined || e.Attributes[k] === v);
    }
    case 'pod':
      return (e) => e.Type === 'pod' && matchIdOrName(e, value);
    default:
      throw invalidInput(`${key} is an invalid filter`);
  }
}

export function buildEventFilter(filters: readonly string[]): Pred {
  const byKey = new Map<string, Pred[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    if (i <= 0) throw invalidInput(`${f} is an invalid filter`);
    const key = f.slice(0, i).toLowerCase();
    const list = byKey.get(key) ?? [];
    list.push(one(key, f.slice(i + 1)));
    byKey.set(key, list);
  }
  const groups = [...byKey.values()];
  return (e) => groups.every((g) => g.some((p) => p(e)));
}
