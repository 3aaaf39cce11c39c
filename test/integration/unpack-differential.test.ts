/**
 * Differential test of the layer extractor against GNU tar (as root): one
 * source tree with every entry type and awkward metadata, archived by GNU
 * tar, unpacked by extractLayer and by `tar -xpf`; the two trees must agree
 * on every path's type, mode, owner, size, link target, content, xattrs,
 * rdev and mtime. Then whiteouts: overlay-mode layers mounted with real
 * overlayfs must show the same tree as apply-mode unpacking into one dir.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {extractLayer, type ExtractOptions} from '../../src/lib/storage/unpack';
import {lgetxattr, llistxattr, lsetxattr, mknod} from '../../src/lib/util/native';

const isRoot = process.getuid?.() === 0;
const TAR_X = ['--xattrs', '--xattrs-include=*', '--numeric-owner'];

function sh(cmd: string, args: string[], opts: {cwd?: string} = {}): string {
  const r = spawnSync(cmd, args, {encoding: 'utf8', ...opts});
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function extractFile(tarFile: string, dest: string, opts?: ExtractOptions) {
  return extractLayer(fs.createReadStream(tarFile, {highWaterMark: 64 * 1024 + 17}), dest, opts);
}

/** Every path under root (not root itself) → a comparable description. */
function describe(root: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    for (const name of fs.readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(root, r);
      const st = fs.lstatSync(p);
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'other';
      const xattrs: Record<string, string> = {};
      for (const x of llistxattr(p).sort()) xattrs[x] = lgetxattr(p, x)?.toString('hex') ?? '';
      out.set(r, {
        type,
        mode: (st.mode & 0o7777).toString(8),
        uid: st.uid,
        gid: st.gid,
        size: type === 'file' || type === 'symlink' ? st.size : undefined,
        nlink: type === 'dir' ? undefined : st.nlink,
        link: type === 'symlink' ? fs.readlinkSync(p) : undefined,
        sha: type === 'file' ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : undefined,
        rdev: type === 'char' || type === 'block' ? st.rdev : undefined,
        mtime: st.mtimeMs,
        xattrs,
      });
      if (type === 'dir') walk(r);
    }
  };
  walk('');
  return out;
}

function buildSource(src: string): void {
  const p = (r: string) => path.join(src, r);
  fs.mkdirSync(p('tmp'));
  fs.mkdirSync(p('shared'));
  fs.mkdirSync(p('private'));
  fs.mkdirSync(p('usr/bin'), {recursive: true});
  fs.writeFileSync(p('usr/bin/su'), '#!/bin/sh\necho su\n');
  fs.writeFileSync(p('usr/bin/wall'), 'wall');
  fs.writeFileSync(p('usr/bin/ping'), 'ping binary');
  fs.writeFileSync(p('private/secret'), 'secret');
  fs.writeFileSync(p('empty'), '');
  fs.writeFileSync(p('big.bin'), Buffer.alloc(3 * 1024 * 1024 + 123, 7).map((_, i) => (i * 2654435761) >>> 24));
  fs.writeFileSync(p('user-owned'), 'uid 1000');
  fs.writeFileSync(p('nobody'), 'uid 65534');
  fs.writeFileSync(p('with space and ünïcödé ✓.txt'), 'names');
  const longDir = 'a-directory-name-of-considerable-length-'.repeat(3);
  fs.mkdirSync(p(`${longDir}/${longDir}`), {recursive: true});
  fs.writeFileSync(p(`${longDir}/${longDir}/${'f'.repeat(120)}`), 'long path');
  fs.linkSync(p('usr/bin/su'), p('usr/bin/su-hardlink'));
  fs.linkSync(p('usr/bin/su'), p('private/su-third-name'));
  fs.symlinkSync('../../empty', p('usr/bin/rel-link'));
  fs.symlinkSync('/etc/passwd', p('abs-link'));
  fs.symlinkSync('does/not/exist', p('dangling'));
  fs.symlinkSync(longDir, p('link-to-long'));
  mknod(p('fifo'), fs.constants.S_IFIFO | 0o640);
  mknod(p('null'), fs.constants.S_IFCHR | 0o666, 1, 3);
  mknod(p('loop7'), fs.constants.S_IFBLK | 0o660, 7, 7);
  lsetxattr(p('user-owned'), 'user.comment', Buffer.from('hello'));
  lsetxattr(p('shared'), 'user.dirattr', Buffer.from([0, 1, 2, 255]));
  const setcap = spawnSync('setcap', ['cap_net_raw+ep', p('usr/bin/ping')]);
  if (setcap.status !== 0) lsetxattr(p('usr/bin/ping'), 'security.capability', Buffer.from('0100000200200000000000000000000000000000', 'hex'));
  // Ownership, then modes (chown clears setuid), then times, deepest first.
  fs.chownSync(p('user-owned'), 1000, 1000);
  fs.chownSync(p('nobody'), 65534, 65534);
  fs.lchownSync(p('dangling'), 1000, 1000);
  fs.chownSync(p('shared'), 1000, 1000);
  fs.chownSync(p('usr/bin/wall'), 0, 5);
  fs.chmodSync(p('usr/bin/su'), 0o4755);
  fs.chmodSync(p('usr/bin/wall'), 0o2755);
  fs.chmodSync(p('tmp'), 0o1777);
  fs.chmodSync(p('shared'), 0o2775);
  fs.chmodSync(p('private'), 0o700);
  fs.chmodSync(p('private/secret'), 0o600);
  let t = 1_600_000_000;
  const all = sh('find', ['.', '-depth'], {cwd: src}).split('\n').filter(Boolean);
  for (const r of all) fs.lutimesSync(p(r), t, (t += 3600));
}

test('extractLayer agrees with GNU tar on every entry type and attribute', {skip: !isRoot && 'needs root'}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-unpack-diff-'));
  try {
    const src = path.join(dir, 'src');
    const ours = path.join(dir, 'ours');
    const theirs = path.join(dir, 'theirs');
    for (const d of [src, ours, theirs]) fs.mkdirSync(d);
    buildSource(src);
    const layer = path.join(dir, 'layer.tar');
    sh('tar', [...TAR_X, '-cf', layer, '-C', src, '.']);
    const r = await extractFile(layer, ours);
    sh('tar', [...TAR_X, '-xpf', layer, '-C', theirs]);

    const a = describe(ours);
    const b = describe(theirs);
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [k, v] of b) assert.deepEqual(a.get(k), v, `entry ${k}`);
    // The tree really has what it should (guards against both sides losing something).
    assert.equal(a.get('usr/bin/su')?.mode, '4755');
    assert.equal(a.get('usr/bin/su')?.nlink, 3);
    assert.equal(a.get('tmp')?.mode, '1777');
    assert.equal(a.get('null')?.type, 'char');
    assert.equal(a.get('loop7')?.type, 'block');
    assert.equal(a.get('fifo')?.type, 'fifo');
    assert.ok(Object.keys(a.get('usr/bin/ping')?.xattrs as object).includes('security.capability'));
    assert.deepEqual(a.get('user-owned')?.xattrs, {'user.comment': Buffer.from('hello').toString('hex')});
    assert.equal(r.entries, a.size + 1); // + the "./" entry
    // The root itself: GNU tar applied "./" metadata; so must we.
    const rootA = fs.lstatSync(ours);
    const rootB = fs.lstatSync(theirs);
    assert.deepEqual([rootA.mode, rootA.uid, rootA.mtimeMs], [rootB.mode, rootB.uid, rootB.mtimeMs]);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

/** Builds a layer tar from a spec of path → content ('/' suffix = dir, null content = whiteout marker file). */
function layerFrom(dir: string, name: string, spec: Record<string, string>): string {
  const root = path.join(dir, `${name}-src`);
  fs.mkdirSync(root);
  for (const [rel, content] of Object.entries(spec)) {
    const p = path.join(root, rel);
    if (rel.endsWith('/')) fs.mkdirSync(p, {recursive: true});
    else {
      fs.mkdirSync(path.dirname(p), {recursive: true});
      fs.writeFileSync(p, content);
    }
  }
  const tarFile = path.join(dir, `${name}.tar`);
  sh('tar', [...TAR_X, '-cf', tarFile, '-C', root, '.']);
  return tarFile;
}

/** path → type:content for a merged view (whiteout devices never appear in one). */
function view(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of (fs.readdirSync(root, {recursive: true}) as string[]).sort()) {
    const st = fs.lstatSync(path.join(root, rel));
    out[rel] = st.isDirectory() ? 'dir' : st.isFile() ? `file:${fs.readFileSync(path.join(root, rel), 'utf8')}` : 'other';
  }
  return out;
}

test('whiteouts: overlay-mode layers under real overlayfs equal apply-mode unpacking', {skip: !isRoot && 'needs root'}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-unpack-wh-'));
  const merged = path.join(dir, 'merged');
  let mounted = false;
  try {
    const l1 = layerFrom(dir, 'l1', {
      'etc/passwd': 'root', 'etc/motd': 'hello', 'etc/cron.d/job': 'job',
      'var/cache/a': 'a', 'var/cache/sub/b': 'b', 'opt/tool': 'tool', 'keep/me': 'kept',
    });
    const l2 = layerFrom(dir, 'l2', {
      'etc/.wh.motd': '', 'etc/.wh.cron.d': '', 'etc/new': 'new',
      'var/cache/.wh..wh..opq': '', 'var/cache/fresh': 'fresh',
      '.wh.opt': '', 'opt2/x': 'x',
    });
    const d1 = path.join(dir, 'd1');
    const d2 = path.join(dir, 'd2');
    const applied = path.join(dir, 'applied');
    for (const d of [d1, d2, applied, merged, path.join(dir, 'upper'), path.join(dir, 'work')]) fs.mkdirSync(d);
    await extractFile(l1, d1);
    await extractFile(l2, d2);
    // Overlay form of the whiteouts on disk.
    assert.ok(fs.lstatSync(path.join(d2, 'etc/motd')).isCharacterDevice());
    assert.equal(fs.lstatSync(path.join(d2, 'etc/motd')).rdev, 0);
    assert.equal(lgetxattr(path.join(d2, 'var/cache'), 'trusted.overlay.opaque')?.toString(), 'y');
    await extractFile(l1, applied, {whiteouts: 'apply'});
    await extractFile(l2, applied, {whiteouts: 'apply'});

    sh('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${d2}:${d1}`, merged]);
    mounted = true;
    const overlayView = view(merged);
    assert.deepEqual(view(applied), overlayView);
    assert.equal(overlayView['etc/motd'], undefined);
    assert.equal(overlayView['etc/cron.d'], undefined);
    assert.equal(overlayView['var/cache/a'], undefined);
    assert.equal(overlayView['var/cache/fresh'], 'file:fresh');
    assert.equal(overlayView['opt'], undefined);
    assert.equal(overlayView['keep/me'], 'file:kept');
  } finally {
    if (mounted) spawnSync('umount', [merged]);
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
