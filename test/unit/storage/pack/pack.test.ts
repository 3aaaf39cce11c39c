/**
 * The tar writer, round-tripped: a tree with every member type packed by
 * packTree must unpack to the same tree through skiff's own extractor and
 * through GNU tar (each a reference for the other), and GNU tar's archive
 * of it must list the same members.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {execFileSync, spawnSync} from 'node:child_process';
import {packTree} from '../../../../src/lib/storage/pack/tree';
import {encodeHeader, paxRecord, splitUstarName} from '../../../../src/lib/storage/pack/header';
import {extractLayer} from '../../../../src/lib/storage/unpack';
import {lsetxattr, mknod} from '../../../../src/lib/util/native';
import {snapshot, diffTrees} from '../../../helpers/tree';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-pack-'));

async function collect(src: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(c);
  return Buffer.concat(parts);
}

/** A tree with every kind of member the writer must keep. */
function makeTree(root: string): void {
  const deep = path.join(root, 'a'.repeat(90), 'b'.repeat(90), 'c'.repeat(90));
  fs.mkdirSync(deep, {recursive: true});
  fs.writeFileSync(path.join(deep, 'long-name-' + 'x'.repeat(120)), 'deep');
  fs.writeFileSync(path.join(root, 'small'), 'hello\n');
  fs.writeFileSync(path.join(root, 'empty'), '');
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
  fs.writeFileSync(path.join(root, 'big'), big);
  fs.linkSync(path.join(root, 'small'), path.join(root, 'hardlink'));
  fs.symlinkSync('small', path.join(root, 'symlink'));
  fs.symlinkSync('/' + 't'.repeat(150), path.join(root, 'long-symlink'));
  fs.symlinkSync('../../../etc/passwd', path.join(root, 'dangling'));
  mknod(path.join(root, 'null'), fs.constants.S_IFCHR | 0o666, 1, 3);
  mknod(path.join(root, 'loop'), fs.constants.S_IFBLK | 0o660, 7, 300);
  mknod(path.join(root, 'fifo'), fs.constants.S_IFIFO | 0o600, 0, 0);
  const suid = path.join(root, 'suid');
  fs.writeFileSync(suid, '#!/bin/sh\n');
  fs.chownSync(suid, 1234, 5678);
  fs.chmodSync(suid, 0o6755);
  fs.mkdirSync(path.join(root, 'sticky'));
  fs.chmodSync(path.join(root, 'sticky'), 0o1777);
  fs.writeFileSync(path.join(root, 'bigid'), 'x');
  fs.chownSync(path.join(root, 'bigid'), 3_000_000, 3_000_001);
  fs.writeFileSync(path.join(root, 'caps'), 'x');
  lsetxattr(path.join(root, 'caps'), 'user.note', Buffer.from('value with = and \n newline'));
  lsetxattr(path.join(root, 'caps'), 'security.capability', Buffer.from('0100000200200000000000000000000000000000', 'hex'));
  fs.writeFileSync(path.join(root, 'ünïcödé'), 'u');
  fs.utimesSync(path.join(root, 'small'), 1_500_000_000, 1_500_000_000);
  fs.utimesSync(path.join(root, 'sticky'), 1_400_000_000, 1_400_000_000);
}

test('pax records count their own length', () => {
  for (const v of ['', 'x', 'x'.repeat(90), 'x'.repeat(993), 'x'.repeat(9990)]) {
    const r = paxRecord('path', v);
    const len = Number(r.toString('latin1').split(' ')[0]);
    assert.equal(len, r.length, `value of ${v.length}`);
  }
});

test('names are split into ustar prefix and name when they can be', () => {
  assert.deepEqual(splitUstarName('short'), {prefix: '', name: 'short'});
  const long = 'd'.repeat(120) + '/' + 'f'.repeat(50);
  assert.deepEqual(splitUstarName(long), {prefix: 'd'.repeat(120), name: 'f'.repeat(50)});
  assert.equal(splitUstarName('x'.repeat(101)), undefined);
  assert.equal(encodeHeader({name: 'x'.repeat(300), type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0}).length, 512 * 3);
});

test('round trip through skiff\'s extractor keeps every member type', async () => {
  const dir = tmp();
  try {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    makeTree(src);
    const tar = await collect(packTree([{abs: src, name: ''}]));
    assert.equal(tar.length % 512, 0);
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    async function* once() {
      yield tar;
    }
    await extractLayer(once(), out, {whiteouts: 'overlay'});
    const diff = diffTrees(snapshot(src), snapshot(out), (p) => p === '/');
    assert.deepEqual(diff, []);
    assert.equal(fs.statSync(path.join(out, 'hardlink')).ino, fs.statSync(path.join(out, 'small')).ino, 'hardlink kept');
    assert.equal(fs.statSync(path.join(out, 'small')).mtimeMs, 1_500_000_000_000);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('GNU tar reads the archive and unpacks the same tree', async () => {
  const dir = tmp();
  try {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    makeTree(src);
    const tarFile = path.join(dir, 'a.tar');
    fs.writeFileSync(tarFile, await collect(packTree([{abs: src, name: ''}])));
    const out = path.join(dir, 'gnu');
    fs.mkdirSync(out);
    const r = spawnSync('tar', ['-x', '--xattrs', '--xattrs-include=*', '--same-owner', '-p', '--numeric-owner', '-f', tarFile, '-C', out]);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.deepEqual(diffTrees(snapshot(src), snapshot(out), (p) => p === '/'), []);
    const list = execFileSync('tar', ['-tvf', tarFile, '--numeric-owner']).toString();
    assert.match(list, /^c[-rwx]{9} 0\/0 +1,3 .* null$/m);
    assert.match(list, /^b[-rwx]{9} 0\/0 +7,300 .* loop$/m);
    assert.match(list, /^prw------- .* fifo$/m);
    assert.match(list, /^-rwsr-sr-x 1234\/5678 .* suid$/m);
    assert.match(list, /^hrw-r--r-- .* small link to hardlink$/m);
    assert.match(list, /^drwxrwxrwt .* sticky\/$/m);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('an archive made by GNU tar and one made by packTree unpack alike through the extractor', async () => {
  const dir = tmp();
  try {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    makeTree(src);
    const gnuTar = execFileSync('tar', ['-c', '--xattrs', '--xattrs-include=*', '--format=posix', '-C', src, '.'], {maxBuffer: 64 << 20});
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    async function* one(buf: Buffer) {
      yield buf;
    }
    await extractLayer(one(gnuTar), a);
    await extractLayer(packTree([{abs: src, name: ''}]), b);
    assert.deepEqual(diffTrees(snapshot(a), snapshot(b), (p) => p === '/'), []);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('the stream is pulled: a consumer that stops early leaves files closed and memory bounded', async () => {
  const dir = tmp();
  try {
    for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(dir, `f${i}`), Buffer.alloc(2 << 20, i));
    const gen = packTree([{abs: dir, name: 'x'}]);
    let max = 0;
    let n = 0;
    for await (const c of gen) {
      max = Math.max(max, c.length);
      if (++n === 2) break; // return() closes the generator: the finally blocks close the fd
    }
    assert.ok(max <= 2 << 20, `chunks stay small (${max})`);
    const fds = fs.readdirSync('/proc/self/fd').map((f) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${f}`);
      } catch {
        return '';
      }
    });
    assert.ok(!fds.some((l) => l.startsWith(dir)), 'no file of the tree left open');
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('map rewrites members (a whiteout as commit writes it)', async () => {
  const dir = tmp();
  try {
    mknod(path.join(dir, 'gone'), fs.constants.S_IFCHR, 0, 0);
    fs.writeFileSync(path.join(dir, 'kept'), 'k');
    const tar = await collect(
      packTree([{abs: dir, name: ''}], {
        map: (e) => (e.type === 'char' && e.devmajor === 0 && e.devminor === 0 ? {...e, type: 'file', name: '.wh.' + e.name, size: 0, mode: 0} : e),
      }),
    );
    const f = path.join(os.tmpdir(), `skiff-pack-${process.pid}.tar`);
    fs.writeFileSync(f, tar);
    const list = execFileSync('tar', ['-tf', f]).toString().trim().split('\n');
    fs.rmSync(f);
    assert.deepEqual(list, ['.wh.gone', 'kept']);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
