/**
 * One regression test per attack on the extractor, each with a hand-made
 * malicious layer. After every case nothing outside dest may have changed.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {randomBytes} from 'node:crypto';
import {extractLayer, type ExtractOptions} from '../../../../src/lib/storage/unpack';
import {isSkiffError} from '../../../../src/lib/util/errors';
import {buildTar, chunked, header, metaMember, paxPayload, sandbox, type FixtureEntry} from './tar-fixture';

async function attempt(entries: Array<FixtureEntry | Buffer>, opts: ExtractOptions & {end?: boolean; raw?: Buffer} = {}) {
  const box = sandbox();
  const before = box.outside();
  const tar = opts.raw ?? buildTar(entries, {end: opts.end});
  let error: unknown;
  try {
    await extractLayer(chunked(tar, 7), box.dest, opts);
  } catch (err) {
    error = err;
  }
  assert.equal(box.outside(), before, 'nothing outside dest changed');
  return {box, error};
}

/** Runs a layer that must be rejected; returns the message. */
async function rejected(entries: Array<FixtureEntry | Buffer>, reason: RegExp, opts: ExtractOptions & {end?: boolean; raw?: Buffer} = {}): Promise<string> {
  const {box, error} = await attempt(entries, opts);
  box.cleanup();
  assert.ok(isSkiffError(error, 'unpack'), `expected an unpack error, got ${String(error)}`);
  assert.match(error.message, /^layer entry ".*": /);
  assert.match(error.message, reason);
  return error.message;
}

async function accepted(entries: Array<FixtureEntry | Buffer>, check: (dest: string, sentinel: string) => void, opts: ExtractOptions = {}) {
  const {box, error} = await attempt(entries, opts);
  try {
    assert.equal(error, undefined, `unexpected error: ${String(error)}`);
    check(box.dest, box.sentinel);
  } finally {
    box.cleanup();
  }
}

const file = (name: string, data = 'pwned\n'): FixtureEntry => ({name, data});
const symlink = (name: string, linkname: string): FixtureEntry => ({name, type: '2', linkname});
const hardlink = (name: string, linkname: string): FixtureEntry => ({name, type: '1', linkname});

test('dot-dot escape: "../x" is rejected', async () => {
  await rejected([file('../escaped')], /escapes the layer root/);
});

test('dot-dot escape: ".." hidden mid-path ("a/../../x") is rejected', async () => {
  await rejected([{name: 'a/'}, file('a/../../escaped')], /escapes the layer root/);
});

test('dot-dot escape: ".." inside a PAX path is rejected', async () => {
  await rejected([{...file('innocent'), pax: {path: 'x/../../../escaped'}}], /escapes the layer root/);
});

test('dot-dot that stays inside is folded like filepath.Clean', async () => {
  await accepted([{name: 'a/'}, file('a/../b')], (dest) => assert.equal(fs.readFileSync(path.join(dest, 'b'), 'utf8'), 'pwned\n'));
});

test('absolute path: "/sentinel/passwd" lands inside dest', async () => {
  await accepted([file('/etc/passwd-skiff-test'), file('//twice')], (dest) => {
    assert.ok(fs.existsSync(path.join(dest, 'etc/passwd-skiff-test')));
    assert.ok(fs.existsSync(path.join(dest, 'twice')));
    assert.ok(!fs.existsSync('/etc/passwd-skiff-test'));
  });
});

test('symlink escape: absolute symlink to a directory outside, then a file through it', async () => {
  const box = sandbox();
  const target = box.sentinel; // absolute path of a real directory outside dest
  box.cleanup();
  await accepted([symlink('evil', target), file('evil/passwd')], (dest) => {
    // Resolved as if dest were "/": the file lands at dest/<target>/passwd.
    assert.equal(fs.readFileSync(path.join(dest, target, 'passwd'), 'utf8'), 'pwned\n');
    assert.equal(fs.readlinkSync(path.join(dest, 'evil')), target);
  });
});

test('symlink escape: "evil -> /etc" then "evil/<name>" never touches the host /etc', async () => {
  const name = `skiff-unpack-${randomBytes(6).toString('hex')}`;
  await accepted([symlink('evil', '/etc'), file(`evil/${name}`)], (dest) => {
    assert.ok(!fs.existsSync(`/etc/${name}`));
    assert.ok(fs.existsSync(path.join(dest, 'etc', name)));
  });
});

test('symlink escape: relative "../.." symlink then a file through it', async () => {
  const name = `skiff-unpack-${randomBytes(6).toString('hex')}`;
  await accepted([symlink('evil', '..'), file('evil/sentinel/passwd'), symlink('deep', '../../../../../../..'), file(`deep/${name}`)], (dest) => {
    // ".." of the root is the root: both land inside dest, never in the sandbox or at the host's "/".
    assert.ok(fs.existsSync(path.join(dest, 'sentinel/passwd')));
    assert.ok(fs.existsSync(path.join(dest, name)));
    assert.ok(!fs.existsSync(`/${name}`));
  });
});

test('symlink escape: symlink to a symlink to outside', async () => {
  await accepted([symlink('a', '../sentinel'), symlink('b', 'a'), symlink('c', '/b'), file('c/passwd'), {name: 'c/sub/'}, file('b/sub/keep')], (dest) => {
    assert.ok(fs.existsSync(path.join(dest, 'sentinel/passwd')));
    assert.ok(fs.existsSync(path.join(dest, 'sentinel/sub/keep')));
  });
});

test('symlink escape: symlink planted inside a directory pointing up and out', async () => {
  await accepted([{name: 'd/'}, symlink('d/up', '../../sentinel'), file('d/up/passwd')], (dest) => {
    assert.ok(fs.existsSync(path.join(dest, 'sentinel/passwd')));
  });
});

test('symlink escape: a file entry over a planted symlink replaces the link, never writes its target', async () => {
  const box = sandbox();
  const target = path.join(box.sentinel, 'passwd');
  box.cleanup();
  await accepted([symlink('evil', target), file('evil')], (dest) => {
    const st = fs.lstatSync(path.join(dest, 'evil'));
    assert.ok(st.isFile());
  });
});

test('symlink escape: directory, device and hardlink entries over a planted symlink replace the link', async () => {
  await accepted([symlink('d', '../sentinel/sub'), {name: 'd/', mode: 0o700}, symlink('f', '../sentinel'), {name: 'f', type: '6'}, file('real'), symlink('h', '../sentinel/passwd'), hardlink('h', 'real')], (dest) => {
    assert.ok(fs.lstatSync(path.join(dest, 'd')).isDirectory());
    assert.ok(fs.lstatSync(path.join(dest, 'f')).isFIFO());
    assert.equal(fs.lstatSync(path.join(dest, 'h')).ino, fs.lstatSync(path.join(dest, 'real')).ino);
  });
});

test('symlink escape: a symlink loop is rejected', async () => {
  await rejected([symlink('a', 'b'), symlink('b', 'a'), file('a/x')], /too many levels of symbolic links/);
});

test('symlink entries themselves may point anywhere (they are data)', async () => {
  await accepted([symlink('abs', '/etc/shadow'), symlink('rel', '../../../../etc/shadow'), symlink('dangling', 'nowhere')], (dest) => {
    assert.equal(fs.readlinkSync(path.join(dest, 'abs')), '/etc/shadow');
    assert.equal(fs.readlinkSync(path.join(dest, 'rel')), '../../../../etc/shadow');
  });
});

test('hardlink escape: target with ".." outside the root is rejected', async () => {
  await rejected([hardlink('h', '../sentinel/passwd')], /hardlink target .* escapes the layer root/);
});

test('hardlink escape: absolute target is taken inside the root and must be an earlier entry', async () => {
  const box = sandbox();
  const target = path.join(box.sentinel, 'passwd');
  box.cleanup();
  await rejected([hardlink('h', target)], /not an earlier entry of this layer|reached through a symlink or a missing directory/);
});

test('hardlink escape: target reached through a symlink is rejected', async () => {
  await rejected([{name: 'd/'}, file('d/f'), symlink('s', 'd'), hardlink('h', 's/f')], /reached through a symlink/);
  await rejected([symlink('s', '../sentinel'), hardlink('h', 's/passwd')], /reached through a symlink/);
});

test('hardlink escape: target that no entry of this layer wrote is rejected', async () => {
  await rejected([{name: 'd/'}, hardlink('h', 'd/missing')], /not an earlier entry of this layer/);
});

test('hardlink to a directory is rejected', async () => {
  await rejected([{name: 'd/'}, hardlink('h', 'd')], /is a directory/);
});

test('hardlink to a symlink links the symlink inode, never its outside target', async () => {
  await accepted([symlink('s', '../sentinel/passwd'), hardlink('h', 's')], (dest) => {
    assert.ok(fs.lstatSync(path.join(dest, 'h')).isSymbolicLink());
    assert.equal(fs.lstatSync(path.join(dest, 'h')).ino, fs.lstatSync(path.join(dest, 's')).ino);
  });
});

test('oversized PAX header is rejected before it is buffered', async () => {
  const big = header({name: 'PaxHeader', type: 'x', size: (1 << 20) + 1});
  await rejected([big], /exceeds the 1048576-byte limit/);
});

test('oversized GNU long name is rejected', async () => {
  const big = header({name: '././@LongLink', type: 'L', size: 2 << 20});
  await rejected([big], /exceeds the 1048576-byte limit/);
});

test('negative size (base-256) is rejected', async () => {
  const raw = Buffer.alloc(12, 0xff); // -1
  await rejected([{name: 'neg', rawSize: raw}], /invalid size -1/);
});

test('huge size beyond 2^53 (base-256) is rejected', async () => {
  const raw = Buffer.alloc(12, 0);
  raw[0] = 0x80;
  raw[4] = 0x01; // 2^56
  await rejected([{name: 'huge', rawSize: raw}], /too large/);
});

test('negative or malformed PAX size is rejected', async () => {
  await rejected([{...file('p'), pax: {size: '-5'}}], /invalid pax record/);
  await rejected([{...file('p'), pax: {size: '99999999999999999999'}}], /invalid pax record/);
});

test('malformed PAX record is rejected', async () => {
  await rejected([metaMember('x', Buffer.from('99 path=short\n')), file('p')], /invalid extended header/);
});

test('header checksum mismatch is rejected', async () => {
  await rejected([{...file('bad'), badChecksum: true}], /header checksum mismatch/);
});

test('truncated archive: cut inside file data is rejected', async () => {
  const tar = buildTar([file('big', 'x'.repeat(5000))], {end: false});
  await rejected([], /archive is truncated/, {raw: tar.subarray(0, 512 + 3000)});
});

test('truncated archive: cut inside a header is rejected', async () => {
  const tar = buildTar([file('a'), file('b')], {end: false});
  await rejected([], /archive is truncated/, {raw: tar.subarray(0, 1024 + 100)});
});

test('truncated archive: a PAX header with no member after it is rejected', async () => {
  await rejected([], /archive is truncated/, {raw: metaMember('x', paxPayload({path: 'x'}))});
});

test('device nodes are rejected when allowDevices is false', async () => {
  await rejected([{name: 'null', type: '3', devmajor: 1, devminor: 3}], /char device nodes are not allowed/, {allowDevices: false});
  await rejected([{name: 'sda', type: '4', devmajor: 8, devminor: 0}], /block device nodes are not allowed/, {allowDevices: false});
});

test('GNU sparse files and unknown types are rejected', async () => {
  await rejected([{name: 'sparse', type: 'S'}], /GNU sparse files are not supported/);
  await rejected([{...file('psparse'), pax: {'GNU.sparse.major': '1', 'GNU.sparse.minor': '0'}}], /GNU sparse/);
  await rejected([{name: 'weird', type: 'Z'}], /unsupported entry type "Z"/);
});

test('whiteout escape: ".wh.." and ".wh..." are rejected', async () => {
  await rejected([{name: 'd/'}, file('d/.wh..')], /invalid whiteout/);
  await rejected([file('.wh...')], /invalid whiteout/);
});

test('whiteout escape: overlay whiteout through a planted symlink stays inside', async () => {
  await accepted([symlink('evil', '../sentinel'), file('evil/.wh.passwd')], (dest) => {
    assert.ok(fs.lstatSync(path.join(dest, 'sentinel/passwd')).isCharacterDevice());
  });
});

test('whiteout escape: apply-mode deletion through a planted symlink stays inside', async () => {
  await accepted([symlink('evil', '../sentinel'), file('evil/.wh.passwd'), symlink('abs', '/'), file('abs/.wh.sentinel')], () => {}, {whiteouts: 'apply'});
});

test('whiteout escape: apply-mode opaque marker through a planted symlink stays inside', async () => {
  await accepted([symlink('evil', '../sentinel'), file('evil/.wh..wh..opq'), symlink('up', '..'), file('up/.wh..wh..opq')], () => {}, {whiteouts: 'apply'});
});

test('overlay-private xattrs cannot be smuggled in', async () => {
  await accepted([{name: 'd/', pax: {'SCHILY.xattr.trusted.overlay.redirect': '/etc', 'SCHILY.xattr.trusted.overlay.opaque': 'y'}}], (dest) => {
    const {llistxattr} = require('../../../../src/lib/util/native') as typeof import('../../../../src/lib/util/native');
    assert.deepEqual(llistxattr(path.join(dest, 'd')).filter((n) => n.startsWith('trusted.overlay.')), []);
  });
});

test('a non-directory cannot replace the layer root', async () => {
  await rejected([symlink('./', '/etc')], /cannot replace the layer root/);
  await rejected([{name: '/', type: '0', data: 'x'}], /cannot replace the layer root/);
});

test('invalid UTF-8 names are rejected, not silently renamed', async () => {
  const h = header({name: 'xx'});
  // Patch the name to bytes 0xff 0xfe and fix the checksum.
  h[0] = 0xff;
  h[1] = 0xfe;
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  await rejected([h], /not valid UTF-8/);
});

test('a NUL byte inside a PAX path or link target is rejected, never cut short at the NUL', async () => {
  for (const e of [
    {name: 'x', data: 'pwned\n', pax: {path: 'cut\0../../escaped'}},
    {name: 'l', type: '2', linkname: 'x', pax: {linkpath: 'inside\0/etc/passwd'}},
  ] as FixtureEntry[]) {
    const {box, error} = await attempt([e]);
    try {
      assert.ok(isSkiffError(error, 'unpack'), `expected an unpack error, got ${String(error)}`);
      assert.deepEqual(fs.readdirSync(box.dest).filter((n) => n !== '.' && n !== '..'), [], 'nothing was written under a shortened name');
    } finally {
      box.cleanup();
    }
  }
});
