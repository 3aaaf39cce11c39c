/** `skiff stats` rows, JSON and template fields, shaped as podman's (cmd/podman/containers/stats.go). */
import type {ContainerStats} from '../lib/container/stats';
import {humanSize} from '../lib/util/human';
import {goDuration} from '../lib/container/top';

/** go-units HumanSize (4 significant digits, no space), as podman's stats columns. */
export const statsSize = (n: number) => humanSize(n, 4).replace(' ', '');
const perc = (f: number) => `${f.toFixed(2)}%`;
const pair = (a: number, b: number) => `${statsSize(a)} / ${statsSize(b)}`;

/** Go's Duration.Round(10µs) of the CPU time, as podman prints CPU TIME. */
export function cpuTime(ns: number): string {
  return goDuration(Math.round(ns / 10_000) * 10_000);
}

export function statsRow(s: ContainerStats) {
  return {
    ID: s.id.slice(0, 12),
    ContainerID: s.id,
    Name: s.name,
    CPUPerc: perc(s.cpu),
    CPU: s.cpu,
    AvgCPU: perc(s.avgCpu),
    CPUNano: s.cpuNs,
    CPUTime: cpuTime(s.cpuNs),
    MemUsage: pair(s.memUsage, s.memLimit),
    MemUsageBytes: `${statsSize(s.memUsage)} / ${statsSize(s.memLimit)}`,
    MemLimit: s.memLimit,
    MemPerc: perc(s.memPerc),
    NetIO: pair(s.netInput, s.netOutput),
    NetInput: s.netInput,
    NetOutput: s.netOutput,
    BlockIO: pair(s.blockInput, s.blockOutput),
    BlockInput: s.blockInput,
    BlockOutput: s.blockOutput,
    PIDs: String(s.pids),
    PIDS: String(s.pids),
    UpTime: goDuration(s.upTimeNs),
  };
}

/** podman's --format json objects. */
export function statsJson(s: ContainerStats) {
  return {
    id: s.id.slice(0, 12),
    name: s.name,
    cpu_time: cpuTime(s.cpuNs),
    cpu_percent: perc(s.cpu),
    avg_cpu: perc(s.avgCpu),
    mem_usage: pair(s.memUsage, s.memLimit),
    mem_percent: perc(s.memPerc),
    net_io: pair(s.netInput, s.netOutput),
    block_io: pair(s.blockInput, s.blockOutput),
    pids: String(s.pids),
  };
}

export const STATS_COLUMNS = [
  {header: 'ID', field: 'ID'},
  {header: 'NAME', field: 'Name'},
  {header: 'CPU %', field: 'CPUPerc'},
  {header: 'MEM USAGE / LIMIT', field: 'MemUsage'},
  {header: 'MEM %', field: 'MemPerc'},
  {header: 'NET IO', field: 'NetIO'},
  {header: 'BLOCK IO', field: 'BlockIO'},
  {header: 'PIDS', field: 'PIDs'},
  {header: 'CPU TIME', field: 'CPUTime'},
  {header: 'AVG CPU %', field: 'AvgCPU'},
];
