/** What extractLayer writes: metadata, replacement rules, whiteouts in both modes. Runs as root. */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {extractLayer, type ExtractOptions} from '../../../../src/lib/storage/unpack';
import {lgetxattr} from '../../../../src/lib/util/native';
import {buildTar, chunked, sandbox, type FixtureEntry} from './tar-fixture';

async function extract(entries: FixtureEntry[], opts: ExtractOptions = {}, prepare?: (dest: string) => void) {
  const box = sandbox();
  prepare?.(box.dest);
  const r = await extractLayer(chunked(buildTar(entries), 1000), box.dest, opts);
  return {...box, r};
}

test('ownership, special mode bits and mtimes are kept (chown before chmod)', async () => {
  const {dest, r, cleanup} = await extract([
    {name: 'bin/', mode: 0o755, mtime: 1_000_000_000},
    {name: 'bin/su', data: '#!', mode: 0o4755, uid: 1000, gid: 1000, mtime: 1_500_000_000},
    {name: 'bin/wall', data: 'w', mode: 0o2755, gid: 5},
    {name: 'tmp/', mode: 0o1777, uid: 65534, gid: 65534, mtime: 1_200_000_000},
    {name: 'secret', data: 's', mode: 0o600, uid: 0, gid: 0},
    {name: 'odd', data: '', mode: 0o000},
    {name: 'frac', data: 'f', pax: {mtime: '1600000000.25'}},
  ]);
  try {
    const st = (p: string) => fs.lstatSync(path.join(dest, p));
    assert.equal(st('bin/su').mode & 0o7777, 0o4755);
    assert.deepEqual([st('bin/su').uid, st('bin/su').gid], [1000, 1000]);
    assert.equal(st('bin/su').mtimeMs, 1_500_000_000_000);
    assert.equal(st('bin/wall').mode & 0o7777, 0o2755);
    assert.equal(st('bin/wall').gid, 5);
    assert.equal(st('tmp').mode & 0o7777, 0o1777);
    assert.deepEqual([st('tmp').uid, st('tmp').gid], [65534, 65534]);
    assert.equal(st('secret').mode & 0o7777, 0o600);
    assert.equal(st('odd').mode & 0o7777, 0);
    assert.equal(st('frac').mtimeMs, 1_600_000_000_250);
    // Directory mtimes are applied after their children were created.
    assert.equal(st('bin').mtimeMs, 1_000_000_000_000);
    assert.deepEqual(r, {entries: 7, bytes: 5});
  } finally {
    cleanup();
  }
});

test('files in a setgid directory still get the archived group', async () => {
  const {dest, cleanup} = await extract([
    {name: 'g/', mode: 0o2775, gid: 50},
    {name: 'g/f', data: 'x', uid: 0, gid: 0},
    {name: 'g/sub/'},
    {name: 'g/implicit/f', data: 'y'},
    {name: 'g/l', type: '2', linkname: 'f', uid: 0, gid: 0, mtime: 1_100_000_000},
  ]);
  try {
    assert.equal(fs.lstatSync(path.join(dest, 'g/f')).gid, 0);
    assert.equal(fs.lstatSync(path.join(dest, 'g/sub')).mode & 0o7777, 0o755);
    // A parent created implicitly is 0755 too: mkdir's inherited setgid bit is cleared.
    assert.equal(fs.lstatSync(path.join(dest, 'g/implicit')).mode & 0o7777, 0o755);
    // Symlinks too: created there they would get group 50.
    assert.deepEqual([fs.lstatSync(path.join(dest, 'g/l')).gid, fs.lstatSync(path.join(dest, 'g/l')).mtimeMs], [0, 1_100_000_000_000]);
  } finally {
    cleanup();
  }
});

test('fifos, device nodes, hardlinks, symlinks and xattrs (incl. security.capability)', async () => {
  const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_raw+ep
  const {dest, cleanup} = await extract([
    {name: 'dev/'},
    {name: 'dev/null', type: '3', devmajor: 1, devminor: 3, mode: 0o666},
    {name: 'dev/loop0', type: '4', devmajor: 7, devminor: 0, mode: 0o660, gid: 6},
    {name: 'fifo', type: '6', mode: 0o620},
    {name: 'ping', data: 'elf', mode: 0o755, pax: {'SCHILY.xattr.security.capability': cap, 'SCHILY.xattr.user.note': 'hi'}},
    {name: 'ping-link', type: '1', linkname: 'ping'},
    {name: 'rel', type: '2', linkname: 'ping', uid: 3, gid: 4, mtime: 1_234_567_890},
  ]);
  try {
    const st = (p: string) => fs.lstatSync(path.join(dest, p));
    assert.ok(st('dev/null').isCharacterDevice());
    assert.equal(st('dev/null').rdev, (1 << 8) | 3);
    assert.equal(st('dev/null').mode & 0o7777, 0o666);
    assert.ok(st('dev/loop0').isBlockDevice());
    assert.equal(st('dev/loop0').gid, 6);
    assert.ok(st('fifo').isFIFO());
    assert.equal(st('fifo').mode & 0o7777, 0o620);
    assert.deepEqual(lgetxattr(path.join(dest, 'ping'), 'security.capability'), cap);
    assert.equal(lgetxattr(path.join(dest, 'ping'), 'user.note')?.toString(), 'hi');
    assert.equal(st('ping-link').ino, st('ping').ino);
    assert.equal(st('ping').nlink, 2);
    assert.deepEqual([st('rel').uid, st('rel').gid, st('rel').mtimeMs], [3, 4, 1_234_567_890_000]);
  } finally {
    cleanup();
  }
});

test('replacement: a non-directory replaces anything, a directory over a directory only updates metadata', async () => {
  const {dest, cleanup} = await extract([
    {name: 'd/'},
    {name: 'd/child', data: 'c'},
    {name: 'd/', mode: 0o700, uid: 9}, // dir over dir: children stay
    {name: 'x/'},
    {name: 'x/inner', data: 'i'},
    {name: 'x', data: 'now a file'}, // file over dir: the tree goes
    {name: 'f', data: 'old'},
    {name: 'f', type: '2', linkname: 'target'}, // symlink over file
    {name: 'f/', mode: 0o711}, // dir over symlink
  ]);
  try {
    assert.equal(fs.readFileSync(path.join(dest, 'd/child'), 'utf8'), 'c');
    assert.equal(fs.lstatSync(path.join(dest, 'd')).mode & 0o7777, 0o700);
    assert.equal(fs.lstatSync(path.join(dest, 'd')).uid, 9);
    assert.equal(fs.readFileSync(path.join(dest, 'x'), 'utf8'), 'now a file');
    assert.ok(fs.lstatSync(path.join(dest, 'f')).isDirectory());
    assert.equal(fs.lstatSync(path.join(dest, 'f')).mode & 0o7777, 0o711);
  } finally {
    cleanup();
  }
});

test('missing parents are created 0755 and the "./" entry sets the root metadata', async () => {
  const {dest, cleanup} = await extract([{name: './', mode: 0o750, uid: 1, mtime: 1_111_111_111}, {name: './a/b/c', data: 'x'}]);
  try {
    assert.equal(fs.lstatSync(path.join(dest, 'a')).mode & 0o7777, 0o755);
    assert.equal(fs.lstatSync(path.join(dest, 'a/b')).mode & 0o7777, 0o755);
    assert.equal(fs.lstatSync(dest).mode & 0o7777, 0o750);
    assert.equal(fs.lstatSync(dest).uid, 1);
    assert.equal(fs.lstatSync(dest).mtimeMs, 1_111_111_111_000);
  } finally {
    cleanup();
  }
});

test('chunks may be plain Uint8Arrays (fzstd output)', async () => {
  const box = sandbox();
  try {
    const tar = buildTar([{name: 'u8', data: 'data'}]);
    async function* u8() {
      for (let i = 0; i < tar.length; i += 300) yield new Uint8Array(tar.subarray(i, i + 300));
    }
    await extractLayer(u8(), box.dest);
    assert.equal(fs.readFileSync(path.join(box.dest, 'u8'), 'utf8'), 'data');
  } finally {
    box.cleanup();
  }
});

test('overlay whiteouts: .wh.NAME becomes a 0/0 char device owned like the marker, .wh..wh..opq an opaque xattr', async () => {
  const {dest, cleanup} = await extract([
    {name: 'etc/'},
    {name: 'etc/.wh.gone', uid: 1000, gid: 1000},
    {name: 'var/'},
    {name: 'var/.wh..wh..opq'},
    {name: 'var/new', data: 'n'},
    {name: '.wh.dir'},
    {name: 'dir/.wh.below'}, // under a whited-out directory: ignored, as containers/storage does
    {name: 'mine', data: 'm'},
    {name: '.wh.mine'}, // same-layer entries are never hidden
    {name: 'auto/parent/.wh.x'},
  ]);
  try {
    const gone = fs.lstatSync(path.join(dest, 'etc/gone'));
    assert.ok(gone.isCharacterDevice());
    assert.equal(gone.rdev, 0);
    assert.equal(gone.mode & 0o7777, 0);
    assert.deepEqual([gone.uid, gone.gid], [1000, 1000]);
    assert.equal(lgetxattr(path.join(dest, 'var'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.ok(fs.existsSync(path.join(dest, 'var/new')));
    assert.ok(fs.lstatSync(path.join(dest, 'dir')).isCharacterDevice());
    assert.ok(fs.lstatSync(path.join(dest, 'mine')).isFile());
    assert.ok(fs.lstatSync(path.join(dest, 'auto/parent/x')).isCharacterDevice());
    assert.ok(!fs.readdirSync(dest, {recursive: true}).some((n) => String(n).includes('.wh.')));
  } finally {
    cleanup();
  }
});

test('apply whiteouts: .wh.NAME deletes lower content, the opaque marker empties only lower content', async () => {
  const lower = (dest: string) => {
    fs.mkdirSync(path.join(dest, 'etc/old.d'), {recursive: true});
    fs.writeFileSync(path.join(dest, 'etc/old.d/x'), 'x');
    fs.writeFileSync(path.join(dest, 'etc/keep'), 'k');
    fs.writeFileSync(path.join(dest, 'etc/gone'), 'g');
    fs.mkdirSync(path.join(dest, 'var/lib/deep'), {recursive: true});
    fs.writeFileSync(path.join(dest, 'var/lib/deep/lowerfile'), 'l');
    fs.writeFileSync(path.join(dest, 'var/lowerfile'), 'l');
    fs.symlinkSync('/etc/passwd', path.join(dest, 'var/lowerlink'));
    fs.mkdirSync(path.join(dest, 'opt/lowerdir'), {recursive: true});
  };
  const {dest, cleanup} = await extract(
    [
      {name: 'etc/.wh.gone'},
      {name: 'etc/.wh.old.d'},
      {name: 'etc/.wh.never-existed'},
      {name: 'var/lib/deep/mine', data: 'mine'}, // written before the marker: survives it
      {name: 'var/early', data: 'e'},
      {name: 'var/.wh..wh..opq'},
      {name: 'var/late', data: 'l'},
      {name: 'opt/.wh..wh..opq'},
      {name: 'mine', data: 'm'},
      {name: '.wh.mine'}, // same layer: never hidden
    ],
    {whiteouts: 'apply'},
    lower,
  );
  try {
    const ls = (p: string) => fs.readdirSync(path.join(dest, p)).sort();
    assert.deepEqual(ls('etc'), ['keep']);
    assert.deepEqual(ls('var'), ['early', 'late', 'lib']);
    assert.deepEqual(ls('var/lib/deep'), ['mine']);
    assert.deepEqual(ls('opt'), []);
    assert.ok(fs.existsSync(path.join(dest, 'mine')));
    assert.ok(!ls('.').some((n) => n.startsWith('.wh.')));
  } finally {
    cleanup();
  }
});

test('apply mode: a file written below a lower symlinked directory follows it inside the root', async () => {
  const {dest, cleanup} = await extract([{name: 'lib/libx.so', data: 'so'}], {whiteouts: 'apply'}, (d) => {
    fs.mkdirSync(path.join(d, 'usr/lib'), {recursive: true});
    fs.symlinkSync('usr/lib', path.join(d, 'lib'));
  });
  try {
    assert.equal(fs.readFileSync(path.join(dest, 'usr/lib/libx.so'), 'utf8'), 'so');
  } finally {
    cleanup();
  }
});

test('files too big to gather in memory are streamed with the same metadata; small ones split across chunks are gathered', async () => {
  const big = Buffer.alloc(1536 * 1024 + 17, 0x61);
  big.write('end', big.length - 3);
  const small = Buffer.alloc(3000, 0x62);
  const {dest, r, cleanup} = await extract([
    {name: 'big', data: big, mode: 0o4750, uid: 7, gid: 8, mtime: 1_400_000_000},
    {name: 'small', data: small, mode: 0o640, uid: 9, gid: 10, mtime: 1_300_000_000},
  ]);
  try {
    const st = (p: string) => fs.lstatSync(path.join(dest, p));
    assert.ok(fs.readFileSync(path.join(dest, 'big')).equals(big));
    assert.deepEqual([st('big').mode & 0o7777, st('big').uid, st('big').gid, st('big').mtimeMs], [0o4750, 7, 8, 1_400_000_000_000]);
    assert.ok(fs.readFileSync(path.join(dest, 'small')).equals(small));
    assert.deepEqual([st('small').mode & 0o7777, st('small').uid, st('small').gid, st('small').mtimeMs], [0o640, 9, 10, 1_300_000_000_000]);
    assert.deepEqual(r, {entries: 2, bytes: big.length + small.length});
  } finally {
    cleanup();
  }
});
