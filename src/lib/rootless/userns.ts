/**
 * Rootless skiff: the user namespace every store-touching command runs in.
 *
 * Node is multi-threaded, so it cannot setns(CLONE_NEWUSER) itself. Instead a
 * non-root invocation (uid != 0, not yet inside) re-executes itself through
 * `nsenter --user --mount --preserve-credentials -t PAUSE` (execve from the
 * addon: same pid, same terminal, the caller sees the real exit status).
 * PAUSE is a long-lived process (catatonit -P) that owns a user + mount
 * namespace mapping the user to 0 and the /etc/subuid, /etc/subgid ranges to
 * 1..N (newuidmap/newgidmap). It is created on first use under a lock, and
 * recorded in RUNDIR/pause.pid as "PID STARTTIME" (start time from
 * /proc/PID/stat, so a recycled pid is never joined). See docs/design.md
 * "Rootless".
 *
 * Inside, the process is uid 0 of the namespace: SKIFF_ROOTLESS_UID and
 * SKIFF_ROOTLESS_GID carry the user's own ids (the store paths depend on
 * them) and SKIFF_PAUSE the namespace's identity (container state recorded
 * under another namespace is stale, as after a reboot).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {spawn, spawnSync} from 'node:child_process';
import {execve, flock, LOCK} from '../util/native';
import {SkiffError} from '../util/errors';
import {processStartTime} from '../container/boot';

export const ENV_UID = 'SKIFF_ROOTLESS_UID';
export const ENV_GID = 'SKIFF_ROOTLESS_GID';
export const ENV_PAUSE = 'SKIFF_PAUSE';

export interface IdRange {
  /** First id inside the namespace. */
  inner: number;
  /** First id outside (on the host). */
  outer: number;
  count: number;
}

let inUsernsCache: boolean | undefined;

/** Parses /proc/PID/uid_map or gid_map. */
export function readIdMap(file: string): IdRange[] {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number))
      .filter((f) => f.length === 3 && f.every(Number.isFinite))
      .map(([inner, outer, count]) => ({inner, outer, count}));
  } catch {
    return [];
  }
}

/** Is id mapped in this map file (/proc/self/uid_map or gid_map)? */
export function idMapped(file: string, id: number): boolean {
  return readIdMap(file).some((r) => id >= r.inner && id < r.inner + r.count);
}

/** Is this process in a user namespace other than the initial one (whose map is the identity over all ids)? */
export function inUserns(): boolean {
  if (inUsernsCache === undefined) {
    const m = readIdMap('/proc/self/uid_map');
    inUsernsCache = !(m.length === 1 && m[0].inner === 0 && m[0].outer === 0 && m[0].count === 4294967295);
  }
  return inUsernsCache;
}

/**
 * The rootless user's host ids: the real ids when not root, or the ids
 * handed down by the entry when inside skiff's namespace. Undefined for real root.
 */
export function rootlessIds(env: NodeJS.ProcessEnv = process.env): {uid: number; gid: number} | undefined {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return {uid, gid: process.getgid?.() ?? uid};
  const u = env[ENV_UID];
  if (u && /^\d+$/.test(u) && Number(u) !== 0 && inUserns()) {
    const g = env[ENV_GID];
    return {uid: Number(u), gid: g && /^\d+$/.test(g) ? Number(g) : Number(u)};
  }
  return undefined;
}

export function isRootless(env: NodeJS.ProcessEnv = process.env): boolean {
  return rootlessIds(env) !== undefined;
}

/** Where the pause process is recorded: the default rootless runroot ($XDG_RUNTIME_DIR/skiff, else /tmp/skiff-run-UID). */
export function pauseDir(uid: number, env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR) ? path.join(env.XDG_RUNTIME_DIR, 'skiff') : `/tmp/skiff-run-${uid}`;
}

/** Creates dir 0700 and refuses one that another user owns or can write (/tmp is shared). */
function ensurePrivateDir(dir: string, uid: number): void {
  fs.mkdirSync(dir, {recursive: true, mode: 0o700});
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new SkiffError('invalid-input', `${dir} is not a private directory owned by uid ${uid}: remove it or set XDG_RUNTIME_DIR`);
  }
}

/** The live pause process recorded in dir, or undefined. */
export function livePause(dir: string): {pid: number; id: string} | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'pause.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const [p, t] = text.trim().split(/\s+/);
  const pid = Number(p);
  if (!Number.isInteger(pid) || pid <= 0 || !t) return undefined;
  if (processStartTime(pid) !== t) return undefined;
  // Ours, and in another user namespace than this process: a recorded pid of a foreign process never counts.
  try {
    if (fs.statSync(`/proc/${pid}`).uid !== (process.getuid?.() ?? 0)) return undefined;
    if (fs.readlinkSync(`/proc/${pid}/ns/user`) === fs.readlinkSync('/proc/self/ns/user')) return undefined;
  } catch {
    return undefined;
  }
  return {pid, id: `${pid}:${t}`};
}

/** The user's ranges in /etc/subuid or /etc/subgid (by name or, given id, by number), in file order. */
export function subordinateRanges(file: string, name: string | undefined, id?: number): {start: number; count: number}[] {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: {start: number; count: number}[] = [];
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (!who || (who !== name && (id === undefined || who !== String(id)))) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isInteger(s) && Number.isInteger(c) && c > 0) out.push({start: s, count: c});
  }
  return out;
}

function userName(uid: number): string | undefined {
  try {
    const u = os.userInfo();
    if (u.uid === uid) return u.username;
  } catch {
    // no passwd entry
  }
  return undefined;
}

/** newuidmap/newgidmap arguments: the user to 0, then each subordinate range from 1 on. */
export function mappingArgs(own: number, ranges: {start: number; count: number}[]): string[] {
  const args = ['0', String(own), '1'];
  let next = 1;
  for (const r of ranges) {
    args.push(String(next), String(r.start), String(r.count));
    next += r.count;
  }
  return args;
}

function findTool(name: string): string | undefined {
  for (const d of (process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin'])) {
    const f = path.join(d || '.', name);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      // next
    }
  }
  return undefined;
}

function need(name: string): string {
  const f = findTool(name);
  if (!f) throw new SkiffError('invalid-input', `rootless skiff needs ${name} (install ${name === 'nsenter' || name === 'unshare' ? 'util-linux' : name === 'newuidmap' || name === 'newgidmap' ? 'uidmap' : name})`);
  return f;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Starts the pause process in a new user + mount namespace and maps it.
 * Caller holds the pause lock.
 */
function createPause(dir: string, uid: number, gid: number): {pid: number; id: string} {
  const unshare = need('unshare');
  const catatonit = findTool('catatonit');
  const pauseCmd = catatonit ? [catatonit, '-P'] : [need('sleep'), 'infinity'];
  const child = spawn(unshare, ['--user', '--mount', '--propagation', 'private', '--', ...pauseCmd], {detached: true, stdio: 'ignore', cwd: '/'});
  child.unref();
  const pid = child.pid;
  if (!pid) throw new SkiffError('storage', `cannot start the rootless pause process (${unshare})`);
  const kill = () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  };
  try {
    // Wait until the child is in its own user namespace (unshare(2) done), then map it.
    const self = fs.readlinkSync('/proc/self/ns/user');
    for (let i = 0; ; i++) {
      let ns: string | undefined;
      try {
        ns = fs.readlinkSync(`/proc/${pid}/ns/user`);
      } catch {
        ns = undefined;
      }
      if (ns && ns !== self) break;
      if (i > 2000 || (ns === undefined && processStartTime(pid) === undefined)) throw new SkiffError('storage', 'the rootless pause process did not start its user namespace');
      sleepMs(1);
    }
    const name = userName(uid);
    for (const [tool, own, file] of [['newuidmap', uid, '/etc/subuid'], ['newgidmap', gid, '/etc/subgid']] as const) {
      const ranges = subordinateRanges(file, name, own);
      const r = spawnSync(need(tool), [String(pid), ...mappingArgs(own, ranges)], {encoding: 'utf8'});
      if (r.status !== 0) throw new SkiffError('storage', `${tool} failed: ${(r.stderr || r.error?.message || '').trim()}`);
    }
    const t = processStartTime(pid);
    if (!t) throw new SkiffError('storage', 'the rootless pause process exited');
    const file = path.join(dir, 'pause.pid');
    fs.writeFileSync(file + '.tmp', `${pid} ${t}\n`, {mode: 0o600});
    fs.renameSync(file + '.tmp', file);
    return {pid, id: `${pid}:${t}`};
  } catch (err) {
    kill();
    throw err;
  }
}

/** The pause process, created under RUNDIR/pause.lock when none is alive. */
export function ensurePause(uid: number, gid: number, env: NodeJS.ProcessEnv = process.env): {pid: number; id: string} {
  const dir = pauseDir(uid, env);
  ensurePrivateDir(dir, uid);
  const alive = livePause(dir);
  if (alive) return alive;
  const fd = fs.openSync(path.join(dir, 'pause.lock'), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    flock(fd, LOCK.EX);
    return livePause(dir) ?? createPause(dir, uid, gid);
  } finally {
    fs.closeSync(fd);
  }
}

/** Stops the pause process (system migrate): the next command creates a new namespace with the current ranges. */
export function stopPause(uid: number, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const dir = pauseDir(uid, env);
  const p = livePause(dir);
  if (!p) return undefined;
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  fs.rmSync(path.join(dir, 'pause.pid'), {force: true});
  return p.pid;
}

/**
 * Re-executes this invocation inside the user's namespace (never returns),
 * or returns when there is nothing to do: real root, or already inside.
 * cmdline is how to start this same program again with the same arguments.
 */
export function enterUserns(cmdline: string[], env: NodeJS.ProcessEnv = process.env): void {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return;
  const gid = process.getgid?.() ?? uid;
  const pause = ensurePause(uid, gid, env);
  const nsenter = need('nsenter');
  const childEnv = {...env, [ENV_UID]: String(uid), [ENV_GID]: String(gid), [ENV_PAUSE]: pause.id};
  // Entering a mount namespace moves the working directory to its root: go back to ours (the
  // namespace is a copy of the user's mounts, so the same path), or relative paths (load -i
  // ./img.tar, -v ./data:/data, --env-file) would resolve from /.
  const wd = workingDir();
  execve(nsenter, ['nsenter', '--user', '--mount', '--preserve-credentials', '-t', String(pause.pid), ...(wd ? [`--wdns=${wd}`] : []), '--', ...cmdline], childEnv);
}

/** The working directory, or undefined when it is gone (deleted). */
function workingDir(): string | undefined {
  try {
    return process.cwd();
  } catch {
    return undefined;
  }
}
