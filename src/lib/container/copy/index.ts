/**
 * skiff cp: files between a container and the host, or a tar stream (`-`),
 * in either direction, with podman's path rules:
 *
 * - SRC a file: DEST an existing directory → DEST/basename(SRC); DEST an
 *   existing file → replaced; DEST missing → created (its parent must
 *   exist; a trailing '/' on a missing DEST is an error).
 * - SRC a directory: DEST an existing directory → DEST/basename(SRC), or
 *   with SRC ending in "/." its contents go into DEST; DEST missing → made
 *   as a copy of SRC; DEST an existing file → error.
 * - `-` as SRC: a tar stream on stdin, unpacked into the directory DEST.
 *   `-` as DEST: SRC as a tar stream on stdout.
 *
 * Everything moves as a tar stream from the writer (storage/pack) into the
 * extractor (storage/unpack), so owners, modes, setuid bits, xattrs,
 * devices, fifos, hardlinks and mtimes survive in both directions.
 *
 * Security: container paths are resolved inside the container's root
 * (resolve.ts) and then pinned by descriptor: reading walks below
 * /proc/self/fd/N and never follows a symlink; writing goes through the
 * extractor rooted at /proc/self/fd/N, whose own scoped resolution keeps
 * every member inside. A symlink planted in the container can only lead
 * back into the container.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {Readable, Writable} from 'node:stream';
import {packTree, type PackSource} from '../../storage/pack/tree';
import type {PackEntry} from '../../storage/pack/header';
import {resolveUser, rootfsReader} from '../user';
import {extractLayer} from '../../storage/unpack';
import {invalidInput, notFound} from '../../util/errors';
import {pinDir, resolveInRoot} from './resolve';

export type CopyEnd = {kind: 'host'; path: string} | {kind: 'container'; container: string; path: string} | {kind: 'stream'};

/** "CTR:PATH" names a container path; "-" a stream; anything else (absolute, ./x, a:b with '/' before ':') a host path. */
export function parseCopyEnd(arg: string): CopyEnd {
  if (arg === '-') return {kind: 'stream'};
  const m = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*):(.*)$/.exec(arg);
  if (m) return {kind: 'container', container: m[1], path: m[2] === '' ? '/' : m[2]};
  return {kind: 'host', path: arg};
}

/** What SRC is, and where its members come from. */
interface Source {
  /** Directory (host path or /proc/self/fd/N) holding the item. */
  parent: string;
  /** The item's name in parent. */
  base: string;
  isDir: boolean;
  /** SRC ended in "/.": a directory's contents only. */
  contents: boolean;
  close(): void;
}

/** Where the members land: a directory (host path or /proc/self/fd/N) and the name of the top member. */
interface Target {
  dir: string;
  /** undefined: the source keeps its base name (DEST was an existing directory). */
  name?: string;
  close(): void;
}

/** Trailing-slash / "/." flags of a path as the user typed it. */
function shape(p: string): {contents: boolean; trailingSlash: boolean} {
  return {contents: /(^|\/)\.$/.test(p), trailingSlash: /\/$/.test(p)};
}

function hostSource(p: string): Source {
  const abs = path.resolve(p);
  const st = fs.statSync(abs, {throwIfNoEntry: false});
  if (!st) throw notFound(`"${p}" could not be found on the host: no such file or directory`);
  const {contents, trailingSlash} = shape(p);
  if ((contents || trailingSlash) && !st.isDirectory()) throw invalidInput(`"${p}" is not a directory`);
  // The item itself is taken without following a final symlink... except that podman follows it, so follow.
  const real = fs.realpathSync(abs);
  return {parent: path.dirname(real), base: path.basename(real) || '/', isDir: st.isDirectory(), contents, close: () => undefined};
}

function containerSource(root: string, p: string): Source {
  const {contents, trailingSlash} = shape(p);
  const r = resolveInRoot(root, p, {followFinal: true});
  if (!r.st) throw notFound(`"${p}" could not be found on container: no such file or directory`);
  if ((contents || trailingSlash) && !r.st.isDirectory()) throw invalidInput(`"${p}" is not a directory`);
  const parentRel = r.rel.includes('/') ? r.rel.slice(0, r.rel.lastIndexOf('/')) : '';
  const base = r.rel === '' ? '' : r.rel.slice(r.rel.lastIndexOf('/') + 1);
  if (base === '') {
    // The root itself: pin it and take it as a directory named after nothing.
    const pin = pinDir(root, '');
    return {parent: pin.dir, base: '.', isDir: true, contents: true, close: pin.close};
  }
  const pin = pinDir(root, parentRel);
  return {parent: pin.dir, base, isDir: r.st.isDirectory(), contents, close: pin.close};
}

/** Decide DEST's directory and top name from what exists there (stat follows symlinks on the host; in the container the resolver does). */
function decideTarget(src: {isDir: boolean; contents: boolean} | 'stream', dest: {exists: boolean; isDir: boolean; trailingSlash: boolean; display: string}): {into: 'dest' | 'parent'; rename: boolean} {
  if (src === 'stream') {
    if (!dest.exists) throw notFound(`"${dest.display}" could not be found: no such file or directory`);
    if (!dest.isDir) throw invalidInput(`destination "${dest.display}" must be a directory when copying from a stream`);
    return {into: 'dest', rename: false};
  }
  if (dest.exists) {
    if (dest.isDir) return {into: 'dest', rename: false};
    if (src.isDir) throw invalidInput(`cannot copy directory to "${dest.display}": destination is not a directory`);
    return {into: 'parent', rename: true};
  }
  if (dest.trailingSlash && !src.isDir) throw notFound(`"${dest.display}" could not be found: no such directory`);
  return {into: 'parent', rename: true};
}

function hostTarget(p: string, src: {isDir: boolean; contents: boolean} | 'stream'): Target {
  const abs = path.resolve(p);
  const st = fs.statSync(abs, {throwIfNoEntry: false});
  const d = decideTarget(src, {exists: !!st, isDir: !!st?.isDirectory(), trailingSlash: shape(p).trailingSlash, display: p});
  if (d.into === 'dest') return {dir: abs, close: () => undefined};
  const parent = path.dirname(abs);
  if (!fs.statSync(parent, {throwIfNoEntry: false})?.isDirectory()) throw notFound(`"${path.dirname(p)}" could not be found on the host: no such file or directory`);
  // Replacing an existing file through a symlink on the host replaces the link's target, as cp does.
  const real = st ? fs.realpathSync(abs) : abs;
  return {dir: path.dirname(real), name: path.basename(real), close: () => undefined};
}

function containerTarget(root: string, p: string, src: {isDir: boolean; contents: boolean} | 'stream'): Target {
  const r = resolveInRoot(root, p, {followFinal: true, display: p});
  const d = decideTarget(src, {exists: !!r.st, isDir: !!r.st?.isDirectory(), trailingSlash: shape(p).trailingSlash, display: p});
  if (d.into === 'dest') {
    const pin = pinDir(root, r.rel);
    return {dir: pin.dir, close: pin.close};
  }
  const parentRel = r.rel.includes('/') ? r.rel.slice(0, r.rel.lastIndexOf('/')) : '';
  const name = r.rel.slice(r.rel.lastIndexOf('/') + 1);
  if (name === '') throw invalidInput(`cannot replace the container's root directory`);
  const pin = pinDir(root, parentRel);
  return {dir: pin.dir, name, close: pin.close};
}

function packSources(src: Source, name: string | undefined): PackSource[] {
  if (src.isDir && src.contents) {
    // "/." copies the contents: members are named relative to the directory (or below `name` when DEST is new).
    const abs = src.base === '.' ? `${src.parent}/.` : `${src.parent}/${src.base}/.`;
    return [{abs, name: name ?? ''}];
  }
  return [{abs: src.base === '.' ? `${src.parent}/.` : `${src.parent}/${src.base}`, name: name ?? src.base}];
}

async function* fromReadable(r: Readable): AsyncGenerator<Buffer> {
  for await (const c of r) yield typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
}

async function toWritable(src: AsyncIterable<Buffer>, w: Writable): Promise<void> {
  for await (const chunk of src) {
    if (!w.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          w.off('error', onError);
          resolve();
        };
        const onError = (err: Error) => {
          w.off('drain', onDrain);
          reject(err);
        };
        w.once('drain', onDrain);
        w.once('error', onError);
      });
    }
  }
}

export interface CopyIo {
  stdin: Readable;
  stdout: Writable;
  /** podman's --archive (default true): what lands in a container belongs to the container's user. */
  archive?: boolean;
  /** Runs fn with the container's merged rootfs mounted (a counted mount); `user` is the container's --user. */
  withRootfs<T>(container: string, fn: (rootfs: string, user: string) => Promise<T>): Promise<T>;
}

/** The container user's uid/gid, read from the container's own /etc/passwd (without following its symlinks out). */
function containerOwner(rootfs: string, user: string): {uid: number; gid: number} {
  const u = resolveUser(user, [], rootfsReader(rootfs));
  return {uid: u.uid, gid: u.gid};
}

/** Copy from `from` to `to`; one side must be a container (or a stream with a container on the other side). */
export async function copy(from: CopyEnd, to: CopyEnd, io: CopyIo): Promise<void> {
  if (from.kind === 'container' && to.kind === 'container') throw invalidInput('copying between containers is not supported');
  if (from.kind !== 'container' && to.kind !== 'container') throw invalidInput('one of the source or the destination must be a container ("CONTAINER:PATH")');
  if (from.kind === 'stream' && to.kind === 'stream') throw invalidInput('the source and the destination cannot both be "-"');

  if (from.kind === 'container') {
    await io.withRootfs(from.container, async (root) => {
      const src = containerSource(root, from.path);
      try {
        if (to.kind === 'stream') {
          await toWritable(packTree(packSources(src, undefined)), io.stdout);
          return;
        }
        const dest = (to as {path: string}).path;
        const target = hostTarget(dest, src);
        try {
          await extractLayer(packTree(packSources(src, target.name)), target.dir, {whiteouts: 'none'});
        } finally {
          target.close();
        }
      } finally {
        src.close();
      }
    });
    return;
  }

  const dest = to as {kind: 'container'; container: string; path: string};
  await io.withRootfs(dest.container, async (root, user) => {
    const owner = io.archive === false ? undefined : containerOwner(root, user);
    if (from.kind === 'stream') {
      const target = containerTarget(root, dest.path, 'stream');
      try {
        await extractLayer(fromReadable(io.stdin), target.dir, {whiteouts: 'none'});
      } finally {
        target.close();
      }
      return;
    }
    const src = hostSource(from.path);
    const target = containerTarget(root, dest.path, src);
    try {
      const map = owner ? (e: PackEntry) => ({...e, uid: owner.uid, gid: owner.gid}) : undefined;
      await extractLayer(packTree(packSources(src, target.name), {map}), target.dir, {whiteouts: 'none'});
    } finally {
      target.close();
      src.close();
    }
  });
}
