/**
 * Shared pieces of the fault-injection suite (test/integration/fault-*.test.ts):
 * a seeded PRNG (SKIFF_FAULT_SEED replays a run), kill -9 at a random moment,
 * and the invariants every fault must leave intact.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {ChildProcess} from 'node:child_process';
import type {Store} from './skiff';

export interface Rng {
  seed: number;
  /** [0, 1) */
  next(): number;
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
}

/** mulberry32: small, seeded, good enough to spread kill moments. */
export function rng(seed = Number(process.env.SKIFF_FAULT_SEED ?? Math.floor(Math.random() * 1e9))): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {seed, next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)]};
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function exited(child: ChildProcess): Promise<void> {
  return new Promise((r) => (child.exitCode !== null || child.signalCode ? r() : child.once('exit', () => r())));
}

/** Start skiff, let it run for `ms`, then SIGKILL it (it may have finished already). */
export async function killAfter(s: Store, args: string[], ms: number): Promise<void> {
  const child = s.start(args);
  await sleep(ms);
  child.kill('SIGKILL');
  await exited(child);
}

/** Mount points (mountinfo field 5) below dir. */
export function mountsUnder(dir: string): string[] {
  const real = fs.realpathSync(dir);
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m.startsWith(real + '/') || m.startsWith(dir + '/')));
}

/** flock(2) locks on the store's lock files: [file, holder pid]. */
export function heldLocks(root: string): Array<{file: string; pid: number}> {
  const dir = path.join(root, 'locks');
  if (!fs.existsSync(dir)) return [];
  const byIno = new Map<number, string>();
  for (const f of fs.readdirSync(dir)) {
    try {
      byIno.set(fs.statSync(path.join(dir, f)).ino, f);
    } catch {
      // removed meanwhile (a container's lock goes with it)
    }
  }
  const out: Array<{file: string; pid: number}> = [];
  for (const line of fs.readFileSync('/proc/locks', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== 'FLOCK' || f.length < 6) continue;
    const file = byIno.get(Number(f[5].split(':')[2]));
    if (file) out.push({file, pid: Number(f[4])});
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const s = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
    return s !== 'Z' && s !== 'X';
  } catch {
    return false;
  }
}

/** The container pid file conmon was given names a process that is gone (not when there is none yet). */
function containerDied(pidFile: string | undefined): boolean {
  if (!pidFile) return false;
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return false;
  }
  return pid > 0 && !alive(pid);
}

/**
 * Cleanups still to come for containers of this store that have exited:
 * a conmon whose container's exit file exists (it is about to run, or is
 * delaying, its exit command) and the exit command itself (`... container
 * cleanup ID`, the sh wrapper or skiff). Until they are done a stopped
 * container may still hold its mounts, legitimately; under heavy load the
 * exit command's Node start alone can take seconds.
 */
export function pendingCleanups(s: Store): Array<{pid: number; what: string}> {
  const out: Array<{pid: number; what: string}> = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (!argv.some((a) => a.includes(s.runroot))) continue;
    const c = argv.indexOf('cleanup');
    if (c > 0 && argv[c - 1] === 'container') out.push({pid: Number(p), what: `cleanup ${String(argv[c + 1]).slice(0, 12)}`});
    else if (path.basename(argv[0]) === 'conmon') {
      const id = argv[argv.indexOf('-c') + 1];
      if (id && fs.existsSync(path.join(s.runroot, 'exits', id))) out.push({pid: Number(p), what: `conmon of exited ${id.slice(0, 12)}`});
      // Its container has died but conmon has not written the exit file yet: ps already
      // says exited while the mounts wait for the exit command.
      else if (id && containerDied(argv[argv.indexOf('-p') + 1])) out.push({pid: Number(p), what: `conmon of dying ${id.slice(0, 12)}`});
    }
  }
  return out.filter((x) => alive(x.pid));
}

export interface Verdict {
  /** Findings `system check --repair` reported and repaired. */
  repaired: string[];
  /** Broken invariants: must be empty. */
  problems: string[];
}

/**
 * The invariants after a fault: check --repair succeeds, a second check
 * finds nothing, no container is in a transitional state, every mount below
 * the store belongs to a running container (its rootfs or netns), no lock is held by a dead
 * process, and root/tmp is empty.
 */
export async function verifyStore(s: Store, opts: {allowMounts?: string[]} = {}): Promise<Verdict> {
  const problems: string[] = [];
  // A killed command can leave work that a live process finishes: conmon's exit command cleaning
  // up after a start killed between runc create and start (it holds the container's lock while
  // runc deletes and the rootfs is unmounted). system check skips what another process holds, so
  // judge the store once those are done; a lock still held after 20 s is a problem of its own.
  // Likewise the exit commands still to run for containers that exited (pendingCleanups).
  const busy = () => heldLocks(s.root).filter((l) => alive(l.pid));
  const quiet = async () => {
    for (const end = Date.now() + 20_000; (busy().length || pendingCleanups(s).length) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
  };
  await quiet();
  for (const l of busy()) problems.push(`lock ${l.file} still held by live process ${l.pid} after 20 s`);
  for (const c of pendingCleanups(s)) problems.push(`${c.what} (pid ${c.pid}) still pending after 20 s`);
  /** check --repair, check, ps: the findings repaired, the problems, and the mounts no running container explains. */
  const pass = async () => {
    const found: string[] = [];
    const repair = await s.run(['system', 'check', '--repair']);
    const fixed = repair.stdout.split('\n').filter(Boolean);
    if (repair.code !== 0) found.push(`system check --repair exited ${repair.code}: ${repair.stdout}${repair.stderr}`);
    const again = await s.run(['system', 'check']);
    if (again.code !== 0 || again.stdout !== '') found.push(`system check after repair exited ${again.code}: ${again.stdout}${again.stderr}`);
    const ps = await s.run(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.State}}']);
    if (ps.code !== 0) found.push(`ps -a exited ${ps.code}: ${ps.stderr}`);
    const running = new Set<string>();
    for (const line of ps.stdout.split('\n').filter(Boolean)) {
      const [id, state] = line.split(' ');
      if (!/^(created|running|exited|paused)$/.test(state)) found.push(`container ${id.slice(0, 12)} stuck in state ${state}`);
      if (state === 'running') running.add(id);
    }
    const leaks: string[] = [];
    for (const m of mountsUnder(s.dir)) {
      if (opts.allowMounts?.includes(m)) continue;
      // A running container's rootfs, and its network namespace (runroot/netns/<id>).
      const id = /\/containers\/([0-9a-f]{64})\/rootfs$/.exec(m)?.[1] ?? /\/netns\/([0-9a-f]{64})$/.exec(m)?.[1];
      if (!id || !running.has(id)) leaks.push(`leaked mount ${m}`);
    }
    return {fixed, found, leaks};
  };
  const first = await pass();
  const repaired = [...first.fixed];
  problems.push(...first.found);
  let leaks = first.leaks;
  if (leaks.length) {
    // check skips a container whose lock another process holds (work in progress is never a
    // finding), and an exit command can start between the quiet wait and check: then the mount
    // it is about to remove shows here. Judge again once that is done; a mount that survives a
    // quiet second pass is a leak. (Sessions 7-9 saw a rootfs and netns left mounted here three
    // times, no seed reproducing it. A race that fits all three was found and fixed in session 9:
    // a stop or rm killed after its container exited, whose claim had made conmon's exit command
    // give up; exitCommand in src/lib/container/service.ts, and its test in container-crash.)
    await quiet();
    const second = await pass();
    repaired.push(...second.fixed.map((f) => `(second pass) ${f}`));
    problems.push(...second.found);
    leaks = second.leaks;
  }
  problems.push(...leaks);
  for (const l of heldLocks(s.root)) if (!alive(l.pid)) problems.push(`lock ${l.file} held by dead process ${l.pid}`);
  const tmp = path.join(s.root, 'tmp');
  if (fs.existsSync(tmp)) for (const n of fs.readdirSync(tmp)) problems.push(`tmp leftover ${n}`);
  return {repaired, problems};
}
