/**
 * Tree snapshots for differential tests: every path under a root with its
 * type, mode, owner, size, link target, content hash, device numbers and
 * xattrs, so two unpackers' results can be compared exactly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {createHash} from 'node:crypto';
import {execFileSync} from 'node:child_process';
import {lgetxattr, llistxattr} from '../../src/lib/util/native';

export interface Entry {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  link?: string;
  sha?: string;
  rdev?: number;
  xattrs?: Record<string, string>;
  nlink?: number;
}

function typeOf(st: fs.Stats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isSocket()) return 'socket';
  return 'other';
}

export function snapshot(root: string, opts: {skipXattrPrefixes?: string[]} = {}): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs);
    const e: Entry = {type: typeOf(st), mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid};
    if (e.type === 'file') {
      e.size = st.size;
      e.sha = createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
      e.nlink = st.nlink;
    }
    if (e.type === 'symlink') e.link = fs.readlinkSync(abs);
    if (e.type === 'char' || e.type === 'block') e.rdev = st.rdev;
    const names = llistxattr(abs).filter((n) => !(opts.skipXattrPrefixes ?? []).some((p) => n.startsWith(p)));
    if (names.length) e.xattrs = Object.fromEntries(names.sort().map((n) => [n, lgetxattr(abs, n)?.toString('base64') ?? '']));
    out.set(rel || '/', e);
    if (e.type === 'dir') for (const n of fs.readdirSync(abs).sort()) walk(path.join(rel, n));
  };
  walk('');
  return out;
}

/** Differences between two snapshots, as readable lines (empty when equal). */
export function diffTrees(a: Map<string, Entry>, b: Map<string, Entry>, ignore: (p: string) => boolean = () => false): string[] {
  const lines: string[] = [];
  for (const [p, ea] of a) {
    if (ignore(p)) continue;
    const eb = b.get(p);
    if (!eb) lines.push(`only in first: ${p}`);
    else if (JSON.stringify(ea) !== JSON.stringify(eb)) lines.push(`differs: ${p}: ${JSON.stringify(ea)} vs ${JSON.stringify(eb)}`);
  }
  for (const p of b.keys()) if (!a.has(p) && !ignore(p)) lines.push(`only in second: ${p}`);
  return lines;
}

/** Mount the layers (top first) read-only as one overlay tree; returns an unmount function. */
export function mountLayers(lowerTopFirst: string[], target: string): () => void {
  fs.mkdirSync(target, {recursive: true});
  if (lowerTopFirst.length === 1) {
    execFileSync('mount', ['--bind', '-o', 'ro', lowerTopFirst[0], target]);
  } else {
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${lowerTopFirst.join(':')}`, target]);
  }
  return () => execFileSync('umount', [target]);
}

/**
 * Snapshots of each layer's unpacked diff of image `id` in a store (its
 * root directory), base layer first, read from images.json.
 */
export function imageLayerTrees(storeRoot: string, id: string): Array<Map<string, Entry>> {
  const idx = JSON.parse(fs.readFileSync(path.join(storeRoot, 'images', 'images.json'), 'utf8')) as {images: Array<{id: string; layers: string[]}>};
  const img = idx.images.find((i) => i.id === id);
  if (!img) throw new Error(`image ${id} is not recorded in ${storeRoot}`);
  return img.layers.map((c) => snapshot(path.join(storeRoot, 'layers', c.slice(7), 'diff')));
}
