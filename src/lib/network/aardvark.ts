/**
 * Name resolution between containers: aardvark-dns (the server podman 4
 * runs), driven through its config directory as netavark does. One file
 * per network, named after it: the first line lists the addresses to listen
 * on (the bridge gateway), every further line is one container:
 * "ID IPV4S IPV6S NAMES" (comma-separated lists, IPv6 empty here).
 * aardvark-dns forks into the background once it serves, writes
 * aardvark.pid in the directory, and rereads every file on SIGHUP; it is
 * stopped when no network file is left. Callers hold the `network--dns`
 * lock around every change.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {spawnSync} from 'node:child_process';
import {writeFileAtomic} from '../state/atomic';
import {processAlive} from '../container/boot';
import {log} from '../util/log';
import {messageOf} from '../util/errors';

const CANDIDATES = ['/usr/lib/podman/aardvark-dns', '/usr/libexec/podman/aardvark-dns', '/usr/local/libexec/podman/aardvark-dns', '/usr/bin/aardvark-dns'];

export function aardvarkBinary(): string | undefined {
  if (process.env.SKIFF_AARDVARK) return process.env.SKIFF_AARDVARK;
  return CANDIDATES.find((p) => fs.existsSync(p));
}

export interface DnsEntry {
  id: string;
  ip: string;
  names: string[];
}

export class Aardvark {
  constructor(readonly dir: string) {}

  private file(network: string): string {
    return path.join(this.dir, network);
  }

  private pid(): number {
    try {
      return Number(fs.readFileSync(path.join(this.dir, 'aardvark.pid'), 'utf8').trim()) || 0;
    } catch {
      return 0;
    }
  }

  entries(network: string): {gateway: string; entries: DnsEntry[]} | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.file(network), 'utf8');
    } catch {
      return undefined;
    }
    const [first, ...rest] = text.split('\n');
    const entries = rest
      .filter((l) => l.trim())
      .map((l) => {
        const f = l.split(' ');
        return {id: f[0], ip: f[1], names: (f[3] ?? '').split(',').filter(Boolean)};
      });
    return {gateway: first.split(' ')[0], entries};
  }

  /** Add (or replace) a container's entry on a network and make the server see it. */
  add(network: string, gateway: string, entry: DnsEntry): void {
    const cur = this.entries(network)?.entries.filter((e) => e.id !== entry.id) ?? [];
    this.write(network, gateway, [...cur, entry]);
    this.reload();
  }

  /** Drop a container's entry; the network's file goes with its last entry. */
  remove(network: string, id: string): void {
    const cur = this.entries(network);
    if (!cur) return;
    const left = cur.entries.filter((e) => e.id !== id);
    if (left.length === cur.entries.length) return;
    if (left.length) this.write(network, cur.gateway, left);
    else fs.rmSync(this.file(network), {force: true});
    this.reload();
  }

  /** Drop a whole network (network rm). */
  dropNetwork(network: string): void {
    if (!fs.existsSync(this.file(network))) return;
    fs.rmSync(this.file(network), {force: true});
    this.reload();
  }

  private write(network: string, gateway: string, entries: DnsEntry[]): void {
    fs.mkdirSync(this.dir, {recursive: true, mode: 0o700});
    const body = entries.map((e) => `${e.id} ${e.ip}  ${[...new Set(e.names)].join(',')}\n`).join('');
    writeFileAtomic(this.file(network), `${gateway}\n${body}`, {mode: 0o644, fsync: false});
  }

  private networkFiles(): string[] {
    try {
      return fs.readdirSync(this.dir).filter((n) => n !== 'aardvark.pid' && !n.startsWith('.'));
    } catch {
      return [];
    }
  }

  /** Start the server if files exist and it is not running; SIGHUP it if it is; stop it if nothing is left. */
  reload(): void {
    const pid = this.pid();
    const alive = pid > 0 && processAlive(pid) && isAardvark(pid);
    const files = this.networkFiles();
    if (files.length === 0) {
      if (alive) process.kill(pid, 'SIGTERM');
      fs.rmSync(path.join(this.dir, 'aardvark.pid'), {force: true});
      return;
    }
    if (alive) {
      process.kill(pid, 'SIGHUP');
      return;
    }
    const bin = aardvarkBinary();
    if (!bin) {
      log.warn('aardvark-dns is not installed: containers cannot resolve each other by name');
      return;
    }
    // run forks; the parent returns once the child serves on every listed address.
    const r = spawnSync(bin, ['--config', this.dir, '-p', '53', 'run'], {encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000});
    if (r.status !== 0) log.warn(`starting aardvark-dns: ${messageOf(r.error ?? r.stderr.trim())}`);
  }
}

function isAardvark(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('aardvark');
  } catch {
    return false;
  }
}
