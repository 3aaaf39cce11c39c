import {test} from 'node:test';
import assert from 'node:assert/strict';
import type {TarEntry} from '../../../../src/lib/storage/unpack/entry';
import {TarParser} from '../../../../src/lib/storage/unpack/parser';
import {buildTar, END, header, member, metaMember, paxPayload, type FixtureEntry} from './tar-fixture';

interface Got extends TarEntry {
  content: string;
}

function parse(tar: Buffer, chunk = tar.length || 1): Got[] {
  const out: Got[] = [];
  let cur: Got | undefined;
  const p = new TarParser({
    entry: (e) => {
      cur = {...e, content: ''};
      out.push(cur);
    },
    data: (b) => {
      (cur as Got).content += b.toString('latin1');
    },
    end: () => {
      cur = undefined;
    },
  });
  for (let i = 0; i < tar.length; i += chunk) p.push(tar.subarray(i, i + chunk));
  p.finish();
  return out;
}

const all: FixtureEntry[] = [
  {name: 'dir/', mode: 0o1777, uid: 1000, gid: 1000, mtime: 1_700_000_000},
  {name: 'dir/file', data: 'hello', mode: 0o4755},
  {name: 'dir/contig', type: '7', data: 'c'},
  {name: 'hard', type: '1', linkname: 'dir/file'},
  {name: 'sym', type: '2', linkname: '../x'},
  {name: 'null', type: '3', devmajor: 1, devminor: 3},
  {name: 'sda', type: '4', devmajor: 8, devminor: 1},
  {name: 'pipe', type: '6', mode: 0o600},
];

test('every entry type is decoded with its fields', () => {
  const got = parse(buildTar(all));
  assert.deepEqual(
    got.map((e) => [e.path, e.type, e.mode.toString(8), e.linkpath, e.content, e.devmajor, e.devminor]),
    [
      ['dir/', 'dir', '1777', '', '', 0, 0],
      ['dir/file', 'file', '4755', '', 'hello', 0, 0],
      ['dir/contig', 'file', '644', '', 'c', 0, 0],
      ['hard', 'hardlink', '644', 'dir/file', '', 0, 0],
      ['sym', 'symlink', '644', '../x', '', 0, 0],
      ['null', 'char', '644', '', '', 1, 3],
      ['sda', 'block', '644', '', '', 8, 1],
      ['pipe', 'fifo', '600', '', '', 0, 0],
    ],
  );
  assert.deepEqual([got[0].uid, got[0].gid, got[0].mtime], [1000, 1000, 1_700_000_000]);
});

test('byte-at-a-time chunks parse exactly like one chunk', () => {
  const tar = buildTar([...all, {name: 'big', data: 'z'.repeat(1500)}, {name: 'long/' + 'n'.repeat(150), gnuLong: true, data: 'L'}]);
  assert.deepEqual(parse(tar, 1), parse(tar));
  assert.deepEqual(parse(tar, 511), parse(tar));
});

test('PAX records override the header: path, linkpath, size, uid, gid, fractional mtime, xattrs', () => {
  const cap = Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const got = parse(
    buildTar([
      {name: 'short', data: 'abc', pax: {path: 'ü/' + 'p'.repeat(200), uid: '4294967294', gid: '65534', mtime: '1700000000.123456789', 'SCHILY.xattr.security.capability': cap, 'SCHILY.xattr.user.empty': ''}},
      {name: 'l', type: '2', linkname: 'x', pax: {linkpath: 'y'.repeat(300)}},
      {name: 'lib', data: '', pax: {'LIBARCHIVE.xattr.user.a%3Db': Buffer.from('value').toString('base64')}},
    ]),
  );
  assert.equal(got[0].path, 'ü/' + 'p'.repeat(200));
  assert.equal(got[0].uid, 4294967294);
  assert.equal(got[0].gid, 65534);
  assert.equal(got[0].mtime, 1700000000.123456789);
  assert.deepEqual(got[0].xattrs?.get('security.capability'), cap);
  assert.deepEqual(got[0].xattrs?.get('user.empty'), Buffer.alloc(0));
  assert.equal(got[1].linkpath, 'y'.repeat(300));
  assert.equal(got[2].xattrs?.get('user.a=b')?.toString(), 'value');
});

test('PAX size overrides the header size (files over 8 GiB need it)', () => {
  const tar = Buffer.concat([metaMember('x', paxPayload({size: '4'})), header({name: 'f', size: 0}), Buffer.from('DATA'), Buffer.alloc(508), END]);
  assert.equal(parse(tar)[0].content, 'DATA');
});

test('GNU L/K long names and the ustar prefix field', () => {
  const long = 'a/'.repeat(80) + 'file';
  const got = parse(buildTar([{name: long, gnuLong: true, data: 'x'}, {name: 'h', type: '1', linkname: long, gnuLong: true}, {name: 'base', prefix: 'some/prefix'}]));
  assert.equal(got[0].path, long);
  assert.equal(got[1].linkpath, long);
  assert.equal(got[2].path, 'some/prefix/base');
});

test('global PAX records apply to every later entry, except path/linkpath/size; local ones win', () => {
  const g = metaMember('g', paxPayload({uid: '7', path: 'ignored', comment: 'git archive'}));
  const got = parse(buildTar([g, {name: 'a'}, {name: 'b', pax: {uid: '8'}}]));
  assert.deepEqual(got.map((e) => [e.path, e.uid]), [['a', 7], ['b', 8]]);
});

test('base-256 numbers (GNU) are decoded', () => {
  const h = header({name: 'big-uid'});
  const tar = buildTar([h]);
  // uid field: 0x80 marker + 2^32 in big-endian.
  tar.fill(0, 108, 116);
  tar[108] = 0x80;
  tar[111] = 0x01;
  tar.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[i];
  tar.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  assert.throws(() => parse(tar), /invalid owner 4294967296/);
});

test('v7 "\\0" type with a trailing slash is a directory', () => {
  const got = parse(buildTar([{name: 'old/', type: '\0'}, {name: 'oldfile', type: '\0', data: 'x'}]));
  assert.deepEqual(got.map((e) => e.type), ['dir', 'file']);
});

test('end of archive: two zero blocks end it and what follows is ignored', () => {
  const tar = Buffer.concat([buildTar([{name: 'a'}]), Buffer.from('trailing garbage after the end marker')]);
  assert.deepEqual(parse(tar).map((e) => e.path), ['a']);
});

test('end of archive: a stream ending on a member boundary is complete (like Go archive/tar); one zero block too', () => {
  assert.deepEqual(parse(buildTar([{name: 'a'}], {end: false})).map((e) => e.path), ['a']);
  assert.deepEqual(parse(Buffer.concat([member({name: 'a'}), Buffer.alloc(512)])).map((e) => e.path), ['a']);
  assert.deepEqual(parse(Buffer.alloc(0)), []);
});

test('a header after a single zero block is rejected', () => {
  assert.throws(() => parse(Buffer.concat([Buffer.alloc(512), member({name: 'a'})])), /header after an end-of-archive block/);
});

test('header-only types carry no data even when the size field says so (Go archive/tar)', () => {
  const tar = Buffer.concat([header({name: 'd/', type: '5', size: 100}), member({name: 'next', data: 'n'}), END]);
  assert.deepEqual(parse(tar).map((e) => [e.path, e.size]), [['d/', 0], ['next', 1]]);
});
