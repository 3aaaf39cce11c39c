/**
 * Container rootfs mounts (as root): overlay with 0, 1, 2 and 60+ layers on
 * long paths, whiteouts and opaque directories, unmount leaving nothing in
 * /proc/self/mountinfo; and the vfs copy giving the same tree.
 */
import {after, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  buildVfsRootfs,
  chooseStorageDriver,
  isMounted,
  MOUNT_DATA_LIMIT,
  mountPoints,
  mountRootfs,
  overlayMountData,
  overlaySupported,
  probeOverlay,
  unmountRootfs,
} from '../../../src/lib/storage/overlay';
import {lgetxattr, lsetxattr, mknod} from '../../../src/lib/util/native';
import {diffTrees, snapshot} from '../../helpers/tree';

const isRoot = process.getuid?.() === 0;
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-overlay-'));
const cleanups: string[] = [];

after(() => {
  for (const m of mountPoints().filter((p) => p.startsWith(base)).reverse()) {
    try {
      unmountRootfs(m);
    } catch {
      /* reported by the tests themselves */
    }
  }
  fs.rmSync(base, {recursive: true, force: true});
  for (const c of cleanups) fs.rmSync(c, {recursive: true, force: true});
});

let seq = 0;
function scratch(name = 'case'): string {
  const d = path.join(base, `${name}-${++seq}`);
  fs.mkdirSync(d, {recursive: true});
  return d;
}

function write(root: string, rel: string, content: string, mode = 0o644): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), {recursive: true});
  fs.writeFileSync(path.join(root, rel), content, {mode});
  fs.chmodSync(path.join(root, rel), mode);
}

function whiteout(root: string, rel: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), {recursive: true});
  mknod(path.join(root, rel), fs.constants.S_IFCHR, 0, 0);
}

function opaque(root: string, rel: string): void {
  fs.mkdirSync(path.join(root, rel), {recursive: true});
  lsetxattr(path.join(root, rel), 'trusted.overlay.opaque', Buffer.from('y'));
}

/** A three-layer image exercising whiteouts, opaque dirs, replacement and metadata. */
function sampleLayers(dir: string): string[] {
  const l1 = path.join(dir, 'l1');
  const l2 = path.join(dir, 'l2');
  const l3 = path.join(dir, 'l3');
  for (const l of [l1, l2, l3]) fs.mkdirSync(l);
  write(l1, 'etc/passwd', 'root:x:0:0::/root:/bin/sh\n');
  write(l1, 'etc/gone', 'to be whited out');
  write(l1, 'opq/old1', 'old');
  write(l1, 'opq/sub/old2', 'old');
  write(l1, 'replaced', 'file in l1');
  write(l1, 'bin/tool', '#!/bin/sh\n', 0o4755);
  fs.chownSync(path.join(l1, 'bin/tool'), 1000, 1000);
  fs.chmodSync(path.join(l1, 'bin/tool'), 0o4755);
  fs.symlinkSync('../etc/passwd', path.join(l1, 'bin/link'));
  fs.linkSync(path.join(l1, 'etc/passwd'), path.join(l1, 'etc/passwd-hard'));
  lsetxattr(path.join(l1, 'etc/passwd'), 'user.note', Buffer.from('kept'));
  whiteout(l2, 'etc/gone');
  opaque(l2, 'opq');
  write(l2, 'opq/new', 'new');
  fs.mkdirSync(path.join(l2, 'replaced'));
  write(l2, 'replaced/inner', 'dir now');
  opaque(l3, 'bin');
  write(l3, 'bin/fresh', 'only entry of an opaque dir');
  return [l1, l2, l3];
}

function assertSampleTree(root: string): void {
  assert.equal(fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
  assert.equal(lgetxattr(path.join(root, 'etc/passwd'), 'user.note')?.toString(), 'kept');
  assert.equal(fs.existsSync(path.join(root, 'etc/gone')), false, 'whiteout hides the lower file');
  assert.deepEqual(fs.readdirSync(path.join(root, 'opq')), ['new'], 'opaque dir hides lower content');
  assert.equal(fs.readFileSync(path.join(root, 'replaced/inner'), 'utf8'), 'dir now');
  assert.deepEqual(fs.readdirSync(path.join(root, 'bin')), ['fresh'], 'opaque dir in the top layer');
}

describe('overlay mount data', () => {
  test('short paths: absolute lowerdirs, top layer first, index=off, no volatile', () => {
    const {data, fds} = overlayMountData({layers: [], upper: '/u', work: '/w', target: '/t', userxattr: false}, ['/a', '/b', '/c']);
    assert.equal(data, 'lowerdir=/c:/b:/a,upperdir=/u,workdir=/w,index=off');
    assert.deepEqual(fds, []);
    const v = overlayMountData({layers: [], upper: '/u', work: '/w', target: '/t', userxattr: true, volatile: true}, ['/a']);
    assert.equal(v.data, 'lowerdir=/a,upperdir=/u,workdir=/w,index=off,userxattr,volatile');
  });

  test('too long for a page: /proc/self/fd names, under the limit, descriptors handed back', () => {
    const dir = scratch('long');
    const lowers: string[] = [];
    for (let i = 0; i < 70; i++) {
      const l = path.join(dir, 'x'.repeat(60), `layer-${String(i).padStart(3, '0')}-${'y'.repeat(40)}`);
      fs.mkdirSync(l, {recursive: true});
      lowers.push(l);
    }
    const m = {layers: lowers, upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), target: path.join(dir, 't'), userxattr: false};
    fs.mkdirSync(m.upper);
    fs.mkdirSync(m.work);
    const {data, fds} = overlayMountData(m, lowers);
    try {
      assert.ok(Buffer.byteLength(data) <= MOUNT_DATA_LIMIT, `${data.length} bytes`);
      assert.equal(fds.length, 72);
      assert.match(data, /^lowerdir=\/proc\/self\/fd\/\d+(:\/proc\/self\/fd\/\d+){69},upperdir=\/proc\/self\/fd\/\d+,workdir=\/proc\/self\/fd\/\d+,index=off$/);
      // Top layer first: the first name is the descriptor of the last layer.
      const first = /lowerdir=\/proc\/self\/fd\/(\d+)/.exec(data)?.[1];
      assert.equal(fs.readlinkSync(`/proc/self/fd/${first}`), lowers[69]);
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
  });

  test('more layers than overlayfs allows are refused', () => {
    assert.throws(() => overlayMountData({layers: [], upper: '/u', work: '/w', target: '/t'}, Array.from({length: 501}, (_, i) => `/l${i}`)), /at most 500/);
  });
});

describe('overlay mounts', {skip: !isRoot && 'needs root'}, () => {
  test('one layer: contents visible, writes go to upper, unmount leaves no mount', () => {
    const dir = scratch();
    const l1 = path.join(dir, 'l1');
    write(l1, 'hello', 'world');
    fs.chmodSync(l1, 0o711);
    fs.chownSync(l1, 5, 6);
    const target = path.join(dir, 'merged');
    mountRootfs({layers: [l1], upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), target});
    assert.equal(isMounted(target), true);
    assert.equal(fs.readFileSync(path.join(target, 'hello'), 'utf8'), 'world');
    const rootSt = fs.statSync(target);
    assert.deepEqual([rootSt.mode & 0o7777, rootSt.uid, rootSt.gid], [0o711, 5, 6], 'the root shows the image root, through the new upper');
    fs.writeFileSync(path.join(target, 'new'), 'n');
    assert.equal(fs.readFileSync(path.join(dir, 'upper', 'new'), 'utf8'), 'n');
    assert.equal(fs.existsSync(path.join(l1, 'new')), false, 'lower layers stay untouched');
    const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === target) ?? '';
    assert.match(line, /\bnodev\b/);
    assert.doesNotMatch(line, /index=on/);
    assert.doesNotMatch(line, /volatile/);
    assert.equal(unmountRootfs(target), true);
    assert.equal(isMounted(target), false);
    assert.equal(mountPoints().some((p) => p.startsWith(dir)), false);
    assert.equal(unmountRootfs(target), false, 'unmounting again is fine');
    assert.equal(unmountRootfs(path.join(dir, 'never-existed')), false);
  });

  test('a second mount on the same target is refused', () => {
    const dir = scratch();
    const l1 = path.join(dir, 'l1');
    write(l1, 'a', 'a');
    const m = {layers: [l1], upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), target: path.join(dir, 'merged')};
    mountRootfs(m);
    try {
      assert.throws(() => mountRootfs(m), /already a mount point/);
    } finally {
      unmountRootfs(m.target);
    }
  });

  test('two and three layers: whiteouts, opaque directories and replacements honoured', () => {
    const dir = scratch();
    const layers = sampleLayers(dir);
    const target = path.join(dir, 'merged');
    mountRootfs({layers, upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), target});
    try {
      assertSampleTree(target);
      const st = fs.statSync(path.join(target, 'etc/passwd'));
      assert.equal(st.nlink, 2, 'hardlink seen through the mount');
    } finally {
      unmountRootfs(target);
    }
    const two = path.join(dir, 'merged2');
    mountRootfs({layers: layers.slice(0, 2), upper: path.join(dir, 'upper2'), work: path.join(dir, 'work2'), target: two});
    try {
      assert.equal(fs.existsSync(path.join(two, 'etc/gone')), false);
      assert.deepEqual(fs.readdirSync(path.join(two, 'bin')).sort(), ['link', 'tool']);
    } finally {
      unmountRootfs(two);
    }
  });

  test('no layers: mounts an empty lower', () => {
    const dir = scratch();
    const target = path.join(dir, 'merged');
    mountRootfs({layers: [], upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), target});
    try {
      assert.deepEqual(fs.readdirSync(target), []);
      fs.writeFileSync(path.join(target, 'x'), 'x');
      assert.deepEqual(fs.readdirSync(path.join(dir, 'empty')), [], 'the empty lower stays empty');
    } finally {
      unmountRootfs(target);
    }
  });

  test('65 layers on long paths: options would exceed a page; every layer is stacked in order', () => {
    const dir = scratch('deep');
    const root = path.join(dir, 'a-rather-long-store-root-'.repeat(3), 'layers');
    const layers: string[] = [];
    for (let i = 0; i < 65; i++) {
      const l = path.join(root, `${i.toString(16).padStart(64, 'c')}`, 'diff');
      write(l, `f${i}`, String(i));
      write(l, 'top', String(i));
      if (i === 64) whiteout(l, 'f0');
      layers.push(l);
    }
    assert.ok(layers.join(':').length > 4096, 'the absolute form would not fit');
    const target = path.join(dir, 'merged');
    const before = fs.readdirSync('/proc/self/fd').length;
    mountRootfs({layers, upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), target});
    try {
      assert.equal(fs.readdirSync('/proc/self/fd').length, before, 'no descriptor left open');
      assert.equal(fs.readFileSync(path.join(target, 'top'), 'utf8'), '64', 'the last layer is on top');
      assert.equal(fs.readFileSync(path.join(target, 'f1'), 'utf8'), '1');
      assert.equal(fs.existsSync(path.join(target, 'f0')), false, 'whiteout in the top layer');
      assert.equal(fs.readdirSync(target).length, 65);
    } finally {
      unmountRootfs(target);
    }
    assert.equal(mountPoints().some((p) => p.startsWith(dir)), false);
  });

  test('volatile mounts, and can be mounted again on the same upper afterwards', () => {
    const dir = scratch();
    const l1 = path.join(dir, 'l1');
    write(l1, 'a', 'a');
    const m = {layers: [l1], upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), target: path.join(dir, 'merged'), volatile: true};
    mountRootfs(m);
    unmountRootfs(m.target);
    mountRootfs(m);
    assert.equal(fs.readFileSync(path.join(m.target, 'a'), 'utf8'), 'a');
    unmountRootfs(m.target);
  });

  test('a missing layer directory is an error and mounts nothing', () => {
    const dir = scratch();
    const target = path.join(dir, 'merged');
    assert.throws(() => mountRootfs({layers: [path.join(dir, 'nope')], upper: path.join(dir, 'u'), work: path.join(dir, 'w'), target}), /layer directory .* is missing/);
    assert.equal(isMounted(target), false);
  });

  test('a busy mount is detached lazily', () => {
    const dir = scratch();
    const l1 = path.join(dir, 'l1');
    write(l1, 'a', 'a');
    const target = path.join(dir, 'merged');
    mountRootfs({layers: [l1], upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), target});
    const fd = fs.openSync(path.join(target, 'a'), 'r');
    const cwdFd = fs.opendirSync(target);
    try {
      // An open file does not make umount fail on Linux; a nested mount does.
      const inner = path.join(target, 'inner');
      fs.mkdirSync(inner);
      mountRootfs({layers: [l1], upper: path.join(dir, 'u2'), work: path.join(dir, 'w2'), target: inner});
      assert.equal(unmountRootfs(target), true);
      assert.equal(isMounted(target), false);
    } finally {
      fs.closeSync(fd);
      cwdFd.closeSync();
    }
  });

  test('overlay support probe: supported here, cached, and the scratch directory removed', () => {
    const dir = scratch('probe');
    assert.equal(overlaySupported(dir), true, probeOverlay(dir).reason);
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.equal(chooseStorageDriver('overlay', dir), 'overlay');
    assert.equal(chooseStorageDriver('vfs', dir), 'vfs');
  });

  test('overlay cannot use an overlay mount as its upper: probe fails, driver falls back to vfs', () => {
    const dir = scratch();
    const l1 = path.join(dir, 'l1');
    write(l1, 'a', 'a');
    const target = path.join(dir, 'merged');
    mountRootfs({layers: [l1], upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), target});
    try {
      const probe = probeOverlay(path.join(target, 'tmp'));
      assert.equal(probe.supported, false);
      assert.ok(probe.reason);
      assert.equal(chooseStorageDriver('overlay', path.join(target, 'tmp')), 'vfs');
      assert.deepEqual(fs.readdirSync(path.join(target, 'tmp')), [], 'probe cleaned up');
    } finally {
      unmountRootfs(target);
    }
  });
});

describe('vfs rootfs', {skip: !isRoot && 'needs root (chown, mknod, trusted xattrs)'}, () => {
  test('layers copied in order with whiteouts, opaque dirs, owners, modes, xattrs, symlinks and hardlinks', () => {
    const dir = scratch();
    const layers = sampleLayers(dir);
    const target = path.join(dir, 'rootfs');
    buildVfsRootfs(layers, target);
    assertSampleTree(target);
    const a = fs.statSync(path.join(target, 'etc/passwd'));
    const b = fs.statSync(path.join(target, 'etc/passwd-hard'));
    assert.equal(a.ino, b.ino, 'hardlink kept');
    for (const l of layers) assert.equal(fs.existsSync(path.join(l, 'etc/passwd')) || l !== layers[0], true);
  });

  test('AUFS-style .wh. names in a layer: delete lower entries only; same-layer entries survive; markers never copied', () => {
    const dir = scratch();
    const l1 = path.join(dir, 'l1');
    const l2 = path.join(dir, 'l2');
    write(l1, 'bin/old', 'old');
    write(l1, 'etc/gone', 'x');
    write(l1, 'etc/kept', 'x');
    write(l1, 'var/old', 'old');
    write(l2, '.wh.bin', '');
    write(l2, 'bin/fresh', 'new');
    write(l2, 'etc/.wh.gone', '');
    write(l2, 'var/.wh..wh..opq', '');
    write(l2, 'var/new', 'new');
    write(l2, '.wh..wh.plnk', '');
    const target = path.join(dir, 'rootfs');
    buildVfsRootfs([l1, l2], target);
    assert.deepEqual(fs.readdirSync(target).sort(), ['bin', 'etc', 'var']);
    assert.deepEqual(fs.readdirSync(path.join(target, 'bin')), ['fresh']);
    assert.deepEqual(fs.readdirSync(path.join(target, 'etc')), ['kept']);
    assert.deepEqual(fs.readdirSync(path.join(target, 'var')), ['new']);
  });

  test('vfs copy and overlay mount show the same tree', () => {
    const dir = scratch();
    const layers = sampleLayers(dir);
    write(layers[1], 'bin/tool', 'replaced in l2', 0o700);
    fs.chownSync(path.join(layers[1], 'bin/tool'), 7, 8);
    mknod(path.join(layers[1], 'fifo'), fs.constants.S_IFIFO | 0o640);
    mknod(path.join(layers[1], 'null'), fs.constants.S_IFCHR | 0o666, 1, 3);
    fs.symlinkSync('/etc/passwd', path.join(layers[1], 'abs-link'));
    const vfs = path.join(dir, 'vfs');
    buildVfsRootfs(layers.slice(0, 2), vfs);
    const merged = path.join(dir, 'merged');
    mountRootfs({layers: layers.slice(0, 2), upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), target: merged, nodev: false});
    try {
      const skip = {skipXattrPrefixes: ['trusted.overlay.', 'security.selinux']};
      const diff = diffTrees(snapshot(merged, skip), snapshot(vfs, skip), (p) => p === '/');
      assert.deepEqual(diff, []);
      assert.equal(fs.lstatSync(path.join(vfs, 'null')).rdev, fs.lstatSync(path.join(merged, 'null')).rdev);
      assert.equal(fs.readlinkSync(path.join(vfs, 'abs-link')), '/etc/passwd', 'symlinks copied, not followed');
    } finally {
      unmountRootfs(merged);
    }
  });

  test('no layers gives an empty rootfs; a non-empty target is refused', () => {
    const dir = scratch();
    const target = path.join(dir, 'rootfs');
    buildVfsRootfs([], target);
    assert.deepEqual(fs.readdirSync(target), []);
    fs.writeFileSync(path.join(target, 'x'), '');
    assert.throws(() => buildVfsRootfs([], target), /not empty/);
  });

  test('a failed build leaves the target empty', () => {
    const dir = scratch();
    const layers = sampleLayers(dir);
    const target = path.join(dir, 'rootfs');
    assert.throws(() => buildVfsRootfs([...layers, path.join(dir, 'missing')], target), /missing/);
    assert.deepEqual(fs.readdirSync(target), []);
  });
});
