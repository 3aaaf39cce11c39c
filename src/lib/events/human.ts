/** podman's default event line (libpod/events Event.ToHumanReadable). */
import {goTimeString, parseRfc3339Ns} from './time';
import type {SkiffEvent} from './types';

export function humanEvent(e: SkiffEvent, truncate = true): string {
  const ns = parseRfc3339Ns(e.Time) ?? 0n;
  const t = goTimeString(ns);
  const id = truncate && e.ID ? e.ID.slice(0, 12) : (e.ID ?? '');
  switch (e.Type) {
    case 'container':
    case 'pod': {
      let s = `${t} ${e.Type} ${e.Status} ${id} (image=${e.Image ?? ''}, name=${e.Name ?? ''}`;
      for (const [k, v] of Object.entries(e.Attributes ?? {})) if (k !== 'image' && k !== 'name') s += `, ${k}=${v}`;
      return s + ')';
    }
    case 'network':
      return `${t} ${e.Type} ${e.Status} ${id} (container=${id}, name=${e.Network ?? ''})`;
    case 'image':
      return `${t} ${e.Type} ${e.Status} ${id} ${e.Name ?? ''}`;
    case 'volume':
      return `${t} ${e.Type} ${e.Status} ${e.Name ?? ''}`;
    default:
      return `${t} ${e.Type} ${e.Status}`;
  }
}
