/** `skiff ps` rows and JSON, shaped as podman's. */
import {portsText, portsJson} from '../lib/network/ports';
import type {ContainerRecord} from '../lib/container/store';
import {timeAgo} from '../lib/util/human';
import {goTimeString} from './image-rows';

export function statusText(rec: ContainerRecord, now = Date.now()): string {
  const s = rec.state;
  switch (s.status) {
    case 'running':
    case 'stopping':
      return `Up ${timeAgo(s.startedAt, now)}`; // podman 4.3: "Up 2 seconds ago"
    case 'paused':
      return 'Paused';
    case 'exited':
    case 'stopped':
      return s.finishedAt ? `Exited (${s.exitCode}) ${timeAgo(s.finishedAt, now)}` : `Exited (${s.exitCode})`;
    case 'created':
      return 'Created';
    case 'removing':
      return 'Removing';
  }
}

export function commandText(args: string[], noTrunc: boolean): string {
  const c = args.join(' ');
  return noTrunc || c.length <= 20 ? c : c.slice(0, 17) + '...';
}

export function psRow(rec: ContainerRecord, noTrunc: boolean) {
  const {config: c, state: s} = rec;
  return {
    ID: noTrunc ? c.id : c.id.slice(0, 12),
    Image: c.imageName,
    ImageID: c.image,
    Command: commandText(c.args, noTrunc),
    CreatedAt: goTimeString(c.created),
    CreatedHuman: timeAgo(c.created),
    RunningFor: timeAgo(c.created),
    Status: statusText(rec),
    State: s.status,
    Ports: portsText(livePorts(rec)),
    Names: c.name,
    Labels: c.labels,
    Mounts: c.mounts.map((m) => m.destination),
    Pid: s.status === 'running' ? s.pid : 0,
    ExitCode: s.exitCode,
    Exited: s.status === 'exited' || s.status === 'stopped',
    Size: '',
    Networks: Object.keys(c.network.networks ?? {}),
  };
}

/** Published ports: with their resolved host ports while running. */
function livePorts(rec: ContainerRecord) {
  const running = rec.state.status === 'running' || rec.state.status === 'paused' || rec.state.status === 'stopping';
  return (running ? rec.state.net?.ports : undefined) ?? rec.config.ports ?? [];
}

export function psJson(rec: ContainerRecord) {
  const {config: c, state: s} = rec;
  return {
    AutoRemove: c.autoRemove,
    Command: c.args,
    CreatedAt: timeAgo(c.created),
    Exited: s.status === 'exited' || s.status === 'stopped',
    ExitedAt: s.finishedAt ? Math.floor(Date.parse(s.finishedAt) / 1000) : -62135596800,
    ExitCode: s.exitCode,
    Id: c.id,
    Image: c.imageName,
    ImageID: c.image,
    IsInfra: false,
    Labels: Object.keys(c.labels).length ? c.labels : null,
    Mounts: c.mounts.map((m) => m.destination),
    Names: [c.name],
    Namespaces: {},
    Networks: Object.keys(c.network.networks ?? {}),
    Pid: s.status === 'running' ? s.pid : 0,
    Pod: '',
    PodName: '',
    Ports: livePorts(rec).length ? portsJson(livePorts(rec)) : null,
    StartedAt: s.startedAt ? Math.floor(Date.parse(s.startedAt) / 1000) : -62135596800,
    State: s.status,
    Status: statusText(rec),
    Created: Math.floor(Date.parse(c.created) / 1000),
  };
}
