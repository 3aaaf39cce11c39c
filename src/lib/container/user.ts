/**
 * Resolves "-u user[:group]" and --group-add against the container's own
 * /etc/passwd and /etc/group, with the rules of moby/sys/user GetExecUser
 * that podman uses:
 *
 * - a number needs no entry (uid 1000 with no passwd line runs as 1000:0);
 *   a name must exist: "unable to find user nope: no matching entries in
 *   passwd file";
 * - without an explicit group the primary gid is the passwd entry's, and the
 *   supplementary groups are those listing the user as a member; with an
 *   explicit group there are no implicit supplementary groups;
 * - --group-add names must exist in /etc/group, numbers need not;
 * - HOME is the passwd entry's home, "/" without one.
 *
 * The parsing is pure over a reader function. rootfsReader() is the safe
 * reader: the files are read from an image-controlled tree, so every
 * symlink (a parent directory or /etc/passwd itself) is resolved scoped to
 * the rootfs with the layer unpacker's resolver (resolveDirInRoot), never by
 * the kernel, and the final open uses O_NOFOLLOW.
 */
import * as fs from 'node:fs';
import {resolveDirInRoot, MAX_SYMLINK_HOPS} from '../storage/unpack/scoped-resolve';
import {LayerState} from '../storage/unpack/layer-state';
import {errnoCode, invalidInput, isSkiffError, storageError} from '../util/errors';
import type {ResolvedUser} from '../runtime/spec/build';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export type {ResolvedUser};

/** Reads a file by its absolute path inside the container; undefined when it does not exist. */
export type RootfsReader = (containerPath: string) => string | undefined;

const MAX_ID = 2 ** 31 - 1;

function lines(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

const isNum = (s: string) => /^\d+$/.test(s);

export function parsePasswd(text: string): PasswdEntry[] {
  return lines(text)
    .filter((f) => f.length >= 4 && isNum(f[2]) && isNum(f[3]))
    .map((f) => ({name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? ''}));
}

export function parseGroup(text: string): GroupEntry[] {
  return lines(text)
    .filter((f) => f.length >= 3 && isNum(f[2]))
    .map((f) => ({name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean)}));
}

function numericId(s: string, what: string): number {
  const n = Number(s);
  if (n > MAX_ID) throw invalidInput(`${what} ${s} is out of range`);
  return n;
}

export function resolveUser(userSpec: string, groupAdd: readonly string[], read: RootfsReader): ResolvedUser {
  const colon = userSpec.indexOf(':');
  const userArg = colon < 0 ? userSpec : userSpec.slice(0, colon);
  const groupArg = colon < 0 ? '' : userSpec.slice(colon + 1);
  const passwdText = read('/etc/passwd');
  const passwd = passwdText === undefined ? [] : parsePasswd(passwdText);
  let groupsCache: GroupEntry[] | undefined;
  const groups = () => (groupsCache ??= parseGroup(read('/etc/group') ?? ''));

  let uid = 0;
  let gid = 0;
  let home = '/';
  let matched: PasswdEntry | undefined;
  if (userArg === '') matched = passwd.find((p) => p.uid === 0);
  else if (isNum(userArg)) matched = passwd.find((p) => p.uid === Number(userArg));
  else {
    matched = passwd.find((p) => p.name === userArg);
    if (!matched) throw invalidInput(`unable to find user ${userArg}: no matching entries in passwd file`);
  }
  if (matched) {
    uid = matched.uid;
    gid = matched.gid;
    home = matched.home || '/';
  } else if (userArg !== '') {
    uid = numericId(userArg, 'uid');
  }

  const additional: number[] = [];
  if (groupArg !== '') {
    const g = isNum(groupArg) ? groups().find((x) => x.gid === Number(groupArg)) : groups().find((x) => x.name === groupArg);
    if (g) gid = g.gid;
    else if (isNum(groupArg)) gid = numericId(groupArg, 'gid');
    else throw invalidInput(`unable to find group ${groupArg}: no matching entries in group file`);
  } else if (matched) {
    for (const g of groups()) if (g.members.includes(matched.name)) additional.push(g.gid);
  }

  for (const ag of groupAdd) {
    if (ag === 'keep-groups') throw invalidInput('--group-add keep-groups is not supported: it needs crun, and skiff runs containers with runc');
    const g = groups().find((x) => x.name === ag || String(x.gid) === ag);
    if (g) additional.push(g.gid);
    else if (isNum(ag)) additional.push(numericId(ag, 'gid'));
    else throw invalidInput(`unable to find group ${ag}: no matching entries in group file`);
  }
  return {uid, gid, additionalGids: [...new Set(additional)], home};
}

/**
 * Reads containerPath inside rootfs without ever leaving it: parent
 * directories and a symlinked final component are resolved in userspace as
 * if rootfs were "/" (absolute targets restart at rootfs, ".." stops there).
 */
export function readRootfsFile(rootfs: string, containerPath: string): string | undefined {
  const state = new LayerState(rootfs, false);
  let comps = containerPath.split('/').filter((c) => c !== '' && c !== '.');
  for (let hops = 0; hops <= MAX_SYMLINK_HOPS; hops++) {
    if (comps.length === 0) return undefined;
    let dir: string | undefined;
    try {
      dir = resolveDirInRoot(state, comps, comps.length - 1, {create: false, name: containerPath, nonDirIsMissing: true});
    } catch (err) {
      if (isSkiffError(err)) throw storageError(`reading ${containerPath} in the container: ${err.message}`, err);
      throw err;
    }
    if (dir === undefined) return undefined;
    const last = comps[comps.length - 1];
    if (last === '..') {
      comps = [...(dir === '' ? [] : dir.split('/').slice(0, -1))];
      continue;
    }
    const rel = dir === '' ? last : `${dir}/${last}`;
    const st = fs.lstatSync(state.abs(rel), {throwIfNoEntry: false});
    if (st === undefined) return undefined;
    if (st.isSymbolicLink()) {
      const target = fs.readlinkSync(state.abs(rel));
      const base = target.startsWith('/') ? [] : dir === '' ? [] : dir.split('/');
      comps = [...base, ...target.split('/').filter((c) => c !== '' && c !== '.')];
      continue;
    }
    if (!st.isFile()) throw invalidInput(`${containerPath} in the container is not a regular file`);
    let fd: number;
    try {
      fd = fs.openSync(state.abs(rel), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw storageError(`reading ${containerPath} in the container: ${errnoCode(err) ?? String(err)}`, err);
    }
    try {
      return fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  }
  throw storageError(`reading ${containerPath} in the container: too many levels of symbolic links`);
}

/** The safe reader for resolveUser. */
export function rootfsReader(rootfs: string): RootfsReader {
  return (p) => readRootfsFile(rootfs, p);
}
