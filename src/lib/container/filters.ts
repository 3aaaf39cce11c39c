/**
 * `ps --filter` as podman: id, name (regexp), label=KEY[=VALUE], status,
 * exited=CODE, ancestor=IMAGE, before=/since=CONTAINER, volume=NAME|DEST,
 * restart-policy=no|always|on-failure|unless-stopped.
 * Different keys AND together; repeated keys OR, except label (AND).
 */
import type {ContainerRecord} from './store';
import type {ImageService} from '../image/service';
import {invalidInput} from '../util/errors';

const RESTART_POLICIES = ['no', 'always', 'on-failure', 'unless-stopped'];
const STATUSES = ['created', 'initialized', 'running', 'paused', 'stopping', 'exited', 'stopped', 'removing', 'unknown'];

export function buildContainerFilter(filters: string[], ctx: {resolve: (s: string) => ContainerRecord; images: ImageService; all: ContainerRecord[]}): (r: ContainerRecord) => boolean {
  const byKey = new Map<string, string[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    if (i <= 0) throw invalidInput(`invalid filter "${f}": expected KEY=VALUE`);
    byKey.set(f.slice(0, i), [...(byKey.get(f.slice(0, i)) ?? []), f.slice(i + 1)]);
  }
  const preds: Array<(r: ContainerRecord) => boolean> = [];
  for (const [key, values] of byKey) {
    switch (key) {
      case 'id':
        preds.push((r) => values.some((v) => r.config.id.startsWith(v)));
        break;
      case 'name':
        preds.push((r) => values.some((v) => new RegExp(v).test(r.config.name)));
        break;
      case 'label':
        preds.push((r) => values.every((v) => {
          const j = v.indexOf('=');
          return j < 0 ? v in r.config.labels : r.config.labels[v.slice(0, j)] === v.slice(j + 1);
        }));
        break;
      case 'status':
        for (const v of values) if (!STATUSES.includes(v)) throw invalidInput(`invalid status filter "${v}": must be one of ${STATUSES.join(', ')}`);
        preds.push((r) => values.includes(r.state.status) || (values.includes('stopped') && r.state.status === 'exited'));
        break;
      case 'exited':
        preds.push((r) => r.state.status === 'exited' && values.some((v) => Number(v) === r.state.exitCode));
        break;
      case 'ancestor': {
        const ids = values.map((v) => ctx.images.find(v)?.id);
        preds.push((r) => ids.includes(r.config.image) || values.includes(r.config.imageName));
        break;
      }
      case 'before':
      case 'since': {
        const refs = values.map((v) => ctx.resolve(v));
        preds.push((r) => refs.some((ref) => (key === 'before' ? r.config.created < ref.config.created : r.config.created > ref.config.created)));
        break;
      }
      case 'volume':
        preds.push((r) => r.config.mounts.some((m) => values.includes(m.destination) || (m.type === 'volume' && values.includes(m.name))));
        break;
      case 'restart-policy':
        for (const v of values) if (!RESTART_POLICIES.includes(v)) throw invalidInput(`invalid restart policy filter "${v}": must be one of ${RESTART_POLICIES.join(', ')}`);
        preds.push((r) => values.includes(r.config.restart.name));
        break;
      default:
        throw invalidInput(`invalid filter "${key}": supported are id, name, label, status, exited, ancestor, before, since, volume, restart-policy`);
    }
  }
  return (r) => preds.every((p) => p(r));
}
