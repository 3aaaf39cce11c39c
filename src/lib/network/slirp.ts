/**
 * slirp4netns: user-mode networking for a container's namespace (what
 * rootless podman uses; root may ask for it too). One slirp4netns process
 * per container, attached to the bind-mounted netns (--netns-type=path),
 * configures tap0 (10.0.2.100/24, default route via 10.0.2.2, DNS
 * forwarder at 10.0.2.3), says so on its ready fd, and serves an API
 * socket through which published ports are added (add_hostfwd).
 *
 * Lifecycle: it is started detached (its own session, output to a log
 * file, no pipe to the CLI), so it outlives the CLI that started it. It
 * does NOT exit when the namespace goes away (checked with 1.2.0), so the
 * container's network teardown stops it (SIGKILL: nothing to flush) and
 * removes its socket and log. A process is only signalled if its command line names
 * this container's API socket (no pid-reuse accidents), and a slirp4netns
 * whose pid never reached the record (a start killed midway) is found the
 * same way, by its socket path in /proc.
 *
 * Files: runroot/slirp4netns/<first 16 hex of the ID>.{sock,log}; the
 * socket path must fit sun_path (108 bytes), so not the whole ID.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {spawn} from 'node:child_process';
import {SkiffError, invalidInput} from '../util/errors';
import {findBinary} from '../runtime/host';
import {log} from '../util/log';
import type {PortMapping} from './types';
import {slirpAddresses, type SlirpOptions} from './slirp-options';
import {cmdline, processIds, terminateProcess} from './proc';
import {processAlive} from '../container/boot';

/** What the container state records (ContainerNetState.slirp). */
export interface SlirpState {
  /** 0 until the process is spawned (the record is written first). */
  pid: number;
  socket: string;
  log: string;
  ip: string;
  gateway: string;
  dns: string;
  prefixLen: number;
  allowHostLoopback: boolean;
}

export function slirpDir(runroot: string): string {
  return path.join(runroot, 'slirp4netns');
}

/** The state to record before anything runs. */
export function plannedSlirp(runroot: string, id: string, opts: SlirpOptions): SlirpState {
  const base = path.join(slirpDir(runroot), id.slice(0, 16));
  const a = slirpAddresses(opts.cidr);
  return {pid: 0, socket: `${base}.sock`, log: `${base}.log`, ...a, allowHostLoopback: opts.allowHostLoopback};
}

/**
 * The command line. Every option used exists since slirp4netns 0.4 (podman's
 * minimum too; Debian 12 has 1.2), so nothing is probed: no extra process per start.
 */
export function slirpArgs(st: SlirpState, netns: string, opts: SlirpOptions): string[] {
  const args = ['--configure', `--mtu=${opts.mtu}`];
  if (!opts.allowHostLoopback) args.push('--disable-host-loopback');
  args.push('--enable-sandbox', '--enable-seccomp');
  if (opts.enableIpv6) args.push('--enable-ipv6');
  if (opts.cidr) args.push(`--cidr=${opts.cidr}`);
  if (opts.outboundAddr) args.push(`--outbound-addr=${opts.outboundAddr}`);
  if (opts.outboundAddr6) args.push(`--outbound-addr6=${opts.outboundAddr6}`);
  args.push('--ready-fd=3', `--api-socket=${st.socket}`, '--netns-type=path', netns, 'tap0');
  return args;
}

function logTail(file: string): string {
  try {
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').filter((l) => l && !l.startsWith('WARNING: Support for seccomp'));
    return lines.slice(-3).join('; ');
  } catch {
    return '';
  }
}

/**
 * Start slirp4netns on the namespace and wait until it has configured tap0.
 * `onSpawn` records the pid at once (before the wait), so a kill of the CLI
 * while waiting still leaves a record the teardown can act on.
 */
export async function startSlirp(st: SlirpState, netns: string, opts: SlirpOptions, onSpawn: (pid: number) => void, timeoutMs = 20_000): Promise<SlirpState> {
  const bin = findBinary('slirp4netns');
  if (!bin) throw invalidInput('slirp4netns not found: install it (Debian package slirp4netns) for --network slirp4netns');
  const args = slirpArgs(st, netns, opts);
  fs.mkdirSync(path.dirname(st.socket), {recursive: true, mode: 0o700});
  fs.rmSync(st.socket, {force: true});
  const logFd = fs.openSync(st.log, 'w', 0o600);
  let child;
  try {
    child = spawn(bin, args, {stdio: ['ignore', logFd, logFd, 'pipe'], detached: true});
  } finally {
    fs.closeSync(logFd);
  }
  const pid = child.pid;
  if (!pid) throw new SkiffError('internal', `starting slirp4netns failed`);
  onSpawn(pid);
  const ready = child.stdio[3] as NodeJS.ReadableStream & {destroy(): void};
  try {
    await new Promise<void>((resolve, reject) => {
      let got = '';
      const timer = setTimeout(() => reject(new SkiffError('internal', `slirp4netns did not configure the network within ${timeoutMs / 1000}s: ${logTail(st.log)}`)), timeoutMs);
      const done = (err?: Error) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      ready.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('1')) done();
      });
      ready.on('error', () => undefined);
      child.once('error', (err) => done(new SkiffError('internal', `slirp4netns: ${err.message}`)));
      child.once('exit', (code, sig) => done(new SkiffError('internal', `slirp4netns exited (${sig ?? `status ${code}`}) before the network was up: ${logTail(st.log) || 'no output'}`)));
    });
  } finally {
    ready.destroy();
    child.removeAllListeners();
    child.unref();
  }
  return {...st, pid};
}

/** One API request (JSON in, JSON out; the connection carries one each way). */
export function slirpApi(socket: string, req: unknown, timeoutMs = 5000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection({path: socket});
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      c.destroy();
      reject(new SkiffError('internal', `slirp4netns API ${socket}: no answer within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    c.on('connect', () => c.end(JSON.stringify(req)));
    c.on('data', (d) => chunks.push(d));
    c.on('error', (err) => {
      clearTimeout(timer);
      reject(new SkiffError('internal', `slirp4netns API ${socket}: ${err.message}`));
    });
    c.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString();
      try {
        resolve(JSON.parse(text) as Record<string, unknown>);
      } catch {
        reject(new SkiffError('internal', `slirp4netns API: unexpected answer ${JSON.stringify(text)}`));
      }
    });
  });
}

/** Publish ports: add_hostfwd for each (host address 0.0.0.0 unless given). */
export async function addPorts(st: SlirpState, ports: PortMapping[]): Promise<void> {
  for (const p of ports) {
    const hostAddr = p.hostIp || '0.0.0.0';
    const res = await slirpApi(st.socket, {execute: 'add_hostfwd', arguments: {proto: p.protocol, host_addr: hostAddr, host_port: p.hostPort, guest_addr: st.ip, guest_port: p.containerPort}});
    if (res.error) {
      const desc = (res.error as {desc?: string}).desc ?? JSON.stringify(res.error);
      throw new SkiffError('conflict', `cannot expose port ${hostAddr}:${p.hostPort}/${p.protocol} with slirp4netns (is it in use?): ${desc}`);
    }
  }
}

const namesSocket = (args: string[] | undefined, socket: string) => !!args && path.basename(args[0] ?? '') === 'slirp4netns' && args.includes(`--api-socket=${socket}`);

/** Running slirp4netns processes whose API socket is `socket` (or, with a directory, any socket in it). */
export function slirpProcesses(socketOrDir: string, opts: {dir?: boolean} = {}): Array<{pid: number; socket: string}> {
  const out: Array<{pid: number; socket: string}> = [];
  for (const p of processIds() ?? []) {
    const args = cmdline(p);
    if (!args || path.basename(args[0] ?? '') !== 'slirp4netns') continue;
    const sock = args.find((a) => a.startsWith('--api-socket='))?.slice('--api-socket='.length);
    if (!sock) continue;
    if (opts.dir ? path.dirname(sock) === socketOrDir : sock === socketOrDir) {
      if (processAlive(p)) out.push({pid: p, socket: sock});
    }
  }
  return out;
}

/** Stop the container's slirp4netns (the recorded pid if it is still ours, and any other naming its socket) and remove its files. Idempotent. */
export async function stopSlirp(st: Pick<SlirpState, 'pid' | 'socket' | 'log'>): Promise<void> {
  // SIGKILL: it keeps no state worth a graceful exit, and acts on SIGTERM only after ~20 ms.
  if (st.pid && processAlive(st.pid) && namesSocket(cmdline(st.pid), st.socket)) await terminateProcess(st.pid, 'SIGKILL');
  for (const p of slirpProcesses(st.socket)) {
    log.debug(`stopping slirp4netns ${p.pid} not in the record (${st.socket})`);
    await terminateProcess(p.pid, 'SIGKILL');
  }
  fs.rmSync(st.socket, {force: true});
  fs.rmSync(st.log, {force: true});
}

/** The host's address a container reaches through slirp when host loopback is off: the default route's interface address (as podman's host.containers.internal). */
export function hostPrimaryIp(): string | undefined {
  let dev: string | undefined;
  try {
    for (const line of fs.readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1] === '00000000' && f[7] === '00000000') {
        dev = f[0];
        break;
      }
    }
  } catch {
    /* no routes */
  }
  const ifs = os.networkInterfaces();
  const pick = (name: string) => ifs[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  if (dev && pick(dev)) return pick(dev);
  for (const name of Object.keys(ifs)) {
    const a = pick(name);
    if (a) return a;
  }
  return undefined;
}
