/**
 * `stats`: one sample of a live container's usage (cgroup counters plus the
 * network counters of its init's network namespace), and podman's
 * arithmetic over two samples: CPU % is the CPU time used over the wall
 * time between samples; the first sample compares with the start time, so
 * --no-stream shows the average since start (podman's calculateCPUPercent).
 */
import * as fs from 'node:fs';
import type {ContainerRecord} from './store';
import {processCgroupDirs, readCgroupStats, parseNetDev} from '../runtime/cgroup-stats';
import {conflict} from '../util/errors';

export interface StatsSample {
  id: string;
  name: string;
  /** Wall clock of the sample and of the container's start, ns. */
  timeNs: number;
  startedNs: number;
  cpuNs: number;
  memUsage: number;
  memLimit: number;
  netInput: number;
  netOutput: number;
  blockInput: number;
  blockOutput: number;
  pids: number;
}

export function sampleStats(rec: ContainerRecord): StatsSample {
  const s = rec.state;
  if ((s.status !== 'running' && s.status !== 'paused' && s.status !== 'stopping') || !s.pid) {
    throw conflict(`container ${rec.config.name} is not running (${s.status}): cannot get stats: container state improper`);
  }
  let dirs;
  try {
    dirs = processCgroupDirs(s.pid);
  } catch {
    throw conflict(`container ${rec.config.name} is not running: cannot get stats: container state improper`);
  }
  const cg = readCgroupStats(dirs);
  let net = {rx: 0, tx: 0};
  try {
    net = parseNetDev(fs.readFileSync(`/proc/${s.pid}/net/dev`, 'utf8'));
  } catch {
    /* exited meanwhile */
  }
  return {
    id: rec.config.id,
    name: rec.config.name,
    timeNs: Date.now() * 1e6,
    startedNs: Date.parse(s.startedAt) * 1e6,
    cpuNs: cg.cpuNs,
    memUsage: cg.memUsage,
    memLimit: cg.memLimit,
    netInput: net.rx,
    netOutput: net.tx,
    blockInput: cg.blockRead,
    blockOutput: cg.blockWrite,
    pids: cg.pids,
  };
}

export interface ContainerStats extends StatsSample {
  /** CPU % since the previous sample (or since start). */
  cpu: number;
  /** CPU % averaged since start. */
  avgCpu: number;
  memPerc: number;
  upTimeNs: number;
}

export function computeStats(cur: StatsSample, prev?: StatsSample): ContainerStats {
  const pct = (cpu: number, wall: number) => (wall > 0 && cpu > 0 ? (cpu / wall) * 100 : 0);
  const upTimeNs = Math.max(0, cur.timeNs - cur.startedNs);
  return {
    ...cur,
    cpu: prev ? pct(cur.cpuNs - prev.cpuNs, cur.timeNs - prev.timeNs) : pct(cur.cpuNs, upTimeNs),
    avgCpu: pct(cur.cpuNs, upTimeNs),
    memPerc: cur.memLimit > 0 ? (cur.memUsage / cur.memLimit) * 100 : 0,
    upTimeNs,
  };
}
