/**
 * The tar-split recording is compressed as it is made (format 2: binary
 * records, each 1 MiB batch gzipped on its own, the file a multi-member
 * gzip) instead of once at the end: a recording of many such batches still
 * rebuilds the exact tar, a failed extraction leaves no tar-split file, and
 * a format-1 file (JSON lines, written by earlier versions) is still read.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {extractLayer} from '../../../../src/lib/storage/unpack';
import {tarFromSplit} from '../../../../src/lib/storage/layer-tar/split';
import {buildTar, sandbox, type FixtureEntry} from '../unpack/tar-fixture';

/** Chunks with a turn of the event loop between them, as from a socket: the compressor works meanwhile. */
async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let o = 0; o < buf.length; o += size) {
    await new Promise((r) => setImmediate(r));
    yield buf.subarray(o, o + size);
  }
}

type Box = ReturnType<typeof sandbox>;

/** diff/ and tar-split.gz in the sandbox, as a layer's directory has them. */
function layerPaths(box: Box): {diff: string; split: string} {
  const diff = path.join(box.dest, 'diff');
  fs.mkdirSync(diff);
  return {diff, split: path.join(box.dest, 'tar-split.gz')};
}

/** Extracts `tar` (in chunks of `size`) with its tar-split recorded; the paths and the tar's diff ID. */
async function record(box: Box, tar: Buffer, size: number): Promise<{diff: string; split: string; diffId: string}> {
  const p = layerPaths(box);
  await extractLayer(chunks(tar, size), p.diff, {tarSplit: p.split});
  return {...p, diffId: 'sha256:' + createHash('sha256').update(tar).digest('hex')};
}

/** The tar rebuilt from a tar-split and its diff. */
async function rebuild(split: string, diff: string, diffId: string): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of tarFromSplit(split, diff, diffId)) out.push(c);
  return Buffer.concat(out);
}

test('a tar-split of many compressor batches (3k members, PAX records, inline whiteout content) rebuilds the layer byte for byte', async () => {
  const entries: FixtureEntry[] = [{name: 'd/', mode: 0o755}];
  for (let i = 0; i < 3000; i++) {
    // Long names go through PAX records (raw bytes in the recording); contents are references.
    const name = i % 10 === 0 ? `d/${'long-name-'.repeat(12)}${i}` : `d/f${i}`;
    entries.push({name, data: `content ${i}\n`.repeat(i % 5), mode: 0o644, uid: i % 7, gid: i % 11, mtime: 1_600_000_000 + i});
  }
  entries.push({name: 'd/.wh.gone', data: 'kept inline'});
  const tar = buildTar(entries);
  const box = sandbox();
  try {
    const {diff, split, diffId} = await record(box, tar, 100_000);
    const data = zlib.gunzipSync(fs.readFileSync(split));
    assert.ok(data.length > 2 * 1024 * 1024, `the recording spans several batches (${data.length} bytes)`);
    assert.equal(data.toString('latin1', 0, 15), '{"tarsplit":2}\n');
    assert.ok(gzipMembers(fs.readFileSync(split)) >= 3, 'one gzip member per batch');
    assert.ok((await rebuild(split, diff, diffId)).equals(tar), 'the rebuilt tar is the original');
  } finally {
    box.cleanup();
  }
});

/** Gzip members in `gz` (each starts with the magic bytes and ends with CRC32 + ISIZE). */
function gzipMembers(gz: Buffer): number {
  let n = 0;
  let rest = gz;
  while (rest.length > 0) {
    assert.equal(rest.readUInt16BE(0), 0x1f8b);
    // Find where this member ends: inflate it alone and see how much input it used.
    const inflated = zlib.inflateRawSync(rest.subarray(10), {info: true}) as unknown as {engine: {bytesWritten: number}};
    rest = rest.subarray(10 + inflated.engine.bytesWritten + 8);
    n++;
  }
  return n;
}

/** Re-encodes a format-2 recording as format 1 (JSON lines, base64 raw bytes, as skiff wrote before). */
function toFormat1(data: Buffer): Buffer {
  const lines = ['{"tarsplit":1}'];
  let o = 15;
  while (o < data.length) {
    const type = data[o];
    const len = data.readUInt32LE(o + 1);
    const at = o + 5;
    if (type === 0x72) {
      for (let i = 0; i < len; i += 65536) lines.push(JSON.stringify({r: data.subarray(at + i, at + Math.min(len, i + 65536)).toString('base64')}));
      o = at + len;
    } else {
      assert.equal(type, 0x66);
      lines.push(JSON.stringify({f: data.toString('utf8', at, at + len), s: data.readUInt32LE(at + len) + data.readUInt32LE(at + len + 4) * 2 ** 32}));
      o = at + len + 8;
    }
  }
  return zlib.gzipSync(lines.join('\n') + '\n');
}

test('a format-1 tar-split (JSON lines, stores written before format 2) still rebuilds the layer; a damaged one is refused', async () => {
  const entries: FixtureEntry[] = [{name: 'd/', mode: 0o755}];
  for (let i = 0; i < 300; i++) {
    // Every seventh name is long and not ASCII: a PAX path record (raw bytes), a UTF-8 path reference.
    const long = `d/${'ü-long-'.repeat(20)}${i}`;
    entries.push({name: i % 7 === 0 ? long.slice(0, 40) : `d/f${i}`, pax: i % 7 === 0 ? {path: long} : undefined, data: `x${i}\n`.repeat(i % 4), mode: 0o600, mtime: 1_500_000_000 + i});
  }
  entries.push({name: 'd/.wh.gone', data: 'inline'});
  const tar = buildTar(entries);
  const box = sandbox();
  try {
    const {diff, split, diffId} = await record(box, tar, 10_000);
    const v2 = zlib.gunzipSync(fs.readFileSync(split));
    fs.writeFileSync(split, toFormat1(v2));
    assert.ok((await rebuild(split, diff, diffId)).equals(tar), 'the rebuilt tar is the original');
    // Format 2 cut short, and an unknown record type: refused, never a wrong tar.
    fs.writeFileSync(split, zlib.gzipSync(v2.subarray(0, v2.length - 3)));
    await assert.rejects(async () => {
      for await (const _ of tarFromSplit(split, diff, diffId)) void _;
    }, /not a valid tar-split file: truncated record/);
    const bad = Buffer.from(v2);
    bad[15] = 0x7a;
    fs.writeFileSync(split, zlib.gzipSync(bad));
    await assert.rejects(async () => {
      for await (const _ of tarFromSplit(split, diff, diffId)) void _;
    }, /unknown record type/);
  } finally {
    box.cleanup();
  }
});

test('an extraction that fails after recording started writes no tar-split', async () => {
  const entries: FixtureEntry[] = [];
  for (let i = 0; i < 2000; i++) entries.push({name: `f${i}`, data: 'x'.repeat(i % 300), mode: 0o644});
  entries.push({name: '../escape', data: 'no'});
  const box = sandbox();
  try {
    const {diff, split} = layerPaths(box);
    await assert.rejects(extractLayer(chunks(buildTar(entries), 65_536), diff, {tarSplit: split}), /escapes the layer root/);
    assert.equal(fs.existsSync(split), false);
  } finally {
    box.cleanup();
  }
});
