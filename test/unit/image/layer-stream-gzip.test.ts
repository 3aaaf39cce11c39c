/**
 * gzip layers are inflated and hashed by the addon's thread (native.ts
 * gunzipChunks, gzOpen in native/skiff_native.c): the same bytes, sha256 and
 * length as node:zlib and node:crypto give, over any chunking; concatenated
 * members and zero padding read as node:zlib's Gunzip reads them; a
 * truncated or corrupt stream refused with node:zlib's codes and messages,
 * after the blocks before the damage (the one in which inflate noticed is
 * dropped: it likely ends in garbage); and a consumer that stops early (a
 * failed extraction) stops the thread. unpackLayerBlob then gives the diff
 * ID check and the "corrupt gzip stream" error on that path.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createHash, randomBytes} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {gunzipChunks} from '../../../src/lib/util/native';
import {unpackLayerBlob} from '../../../src/lib/image/layer-stream';
import {buildTar, sandbox, type FixtureEntry} from '../storage/unpack/tar-fixture';

async function* chunked(buf: Buffer, size: number, tick = false): AsyncGenerator<Buffer> {
  for (let o = 0; o < buf.length; o += size) {
    if (tick) await new Promise((r) => setImmediate(r));
    yield buf.subarray(o, o + size);
  }
}

async function inflateAll(gz: Buffer, size: number): Promise<{data: Buffer; blocks: number; done: {sha256?: string; size?: number}}> {
  const done: {sha256?: string; size?: number} = {};
  const parts: Buffer[] = [];
  for await (const b of gunzipChunks(chunked(gz, size), done)) parts.push(Buffer.from(b));
  return {data: Buffer.concat(parts), blocks: parts.length, done};
}

/** Compressible but not trivially so: ~9 MB, several 1 MiB blocks and more than the thread's queue of them. */
const plain = Buffer.concat(Array.from({length: 300}, (_, i) => Buffer.concat([randomBytes(4096), Buffer.alloc(26000 + i, i & 0xff)])));
const gz = zlib.gzipSync(plain, {level: 1});
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('inflates and hashes as node:zlib and node:crypto do, whatever the chunking', async () => {
  for (const size of [1, 7, 4096, 65_536, 1 << 20, gz.length]) {
    const src = size === 1 ? gz.subarray(0, 50_000) : gz;
    if (size === 1) {
      // One byte at a time (a short prefix): the stream is cut short, but everything before is delivered.
      const done: {sha256?: string; size?: number} = {};
      const parts: Buffer[] = [];
      await assert.rejects(async () => {
        for await (const b of gunzipChunks(chunked(src, 1), done)) parts.push(Buffer.from(b));
      }, (err: NodeJS.ErrnoException) => err.code === 'Z_BUF_ERROR' && /unexpected end of file/.test(err.message));
      const got = Buffer.concat(parts);
      assert.ok(got.length > 0 && got.equals(plain.subarray(0, got.length)), 'the prefix inflated before the end');
      continue;
    }
    const r = await inflateAll(src, size);
    assert.ok(r.data.equals(plain), `chunks of ${size}`);
    assert.equal(r.done.sha256, sha(plain));
    assert.equal(r.done.size, plain.length);
    assert.ok(r.blocks >= 9, `blocks of at most 1 MiB (${r.blocks})`);
  }
});

test('concatenated members and zero padding after a member read as one stream', async () => {
  const a = Buffer.from('first member\n'.repeat(1000));
  const b = Buffer.from('second member\n'.repeat(1000));
  const two = Buffer.concat([zlib.gzipSync(a), zlib.gzipSync(b), Buffer.alloc(1024)]);
  for (const size of [3, 100, two.length]) {
    const r = await inflateAll(two, size);
    assert.ok(r.data.equals(Buffer.concat([a, b])), `chunks of ${size}`);
    assert.equal(r.done.sha256, sha(Buffer.concat([a, b])));
    // node:zlib agrees.
    assert.ok(zlib.gunzipSync(two).equals(r.data));
  }
});

test('a corrupt stream is refused with Z_DATA_ERROR after the bytes before the damage; garbage after a member too', async () => {
  const bad = Buffer.from(gz);
  bad.fill(0xa5, Math.floor(gz.length / 2), Math.floor(gz.length / 2) + 64);
  const parts: Buffer[] = [];
  await assert.rejects(async () => {
    for await (const b of gunzipChunks(chunked(bad, 65_536), {})) parts.push(Buffer.from(b));
  }, (err: NodeJS.ErrnoException) => err.code === 'Z_DATA_ERROR' && typeof err.errno === 'number');
  // Damage is not always seen where it is (here perhaps only by the CRC at the end), but what came before it is intact.
  const got = Buffer.concat(parts);
  assert.ok(got.length >= 1 << 20 && got.subarray(0, 1 << 20).equals(plain.subarray(0, 1 << 20)), `the first ${got.length} bytes were delivered`);
  const checked = await assert.rejects(inflateAll(bad, bad.length), (err: NodeJS.ErrnoException) => {
    assert.equal(err.code, 'Z_DATA_ERROR');
    // node:zlib says the same.
    assert.throws(() => zlib.gunzipSync(bad), {code: 'Z_DATA_ERROR', message: err.message});
    return true;
  });
  void checked;
  // Not gzip at all, and a gzip member followed by something that is not one.
  await assert.rejects(inflateAll(Buffer.from('this is not gzip data at all'), 10), {code: 'Z_DATA_ERROR'});
  await assert.rejects(inflateAll(Buffer.concat([zlib.gzipSync('ok'), Buffer.from('garbage')]), 10), {code: 'Z_DATA_ERROR'});
});

test('the block in which inflate notices damage is dropped (what it made just before is likely garbage), the blocks before it are not', async () => {
  // A gzip member by hand: 2.5 MiB in stored deflate blocks, then a block of the invalid type 3.
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const blocks: Buffer[] = [];
  const body = Buffer.alloc(40_000, 0x61);
  for (let i = 0; i < 66; i++) {
    const h = Buffer.alloc(5);
    h[0] = 0; // BFINAL 0, BTYPE 00 (stored)
    h.writeUInt16LE(body.length, 1);
    h.writeUInt16LE(~body.length & 0xffff, 3);
    blocks.push(h, body);
  }
  blocks.push(Buffer.from([0x07])); // BFINAL 1, BTYPE 11
  const bad = Buffer.concat([header, ...blocks, Buffer.alloc(8)]);
  assert.throws(() => zlib.gunzipSync(bad), {code: 'Z_DATA_ERROR', message: 'invalid block type'});
  const parts: Buffer[] = [];
  await assert.rejects(async () => {
    for await (const b of gunzipChunks(chunked(bad, bad.length), {})) parts.push(Buffer.from(b));
  }, {code: 'Z_DATA_ERROR', message: 'invalid block type'});
  const got = Buffer.concat(parts);
  assert.equal(got.length, 2 << 20, 'the two full 1 MiB blocks before the damage, not the partial third');
  assert.ok(got.equals(Buffer.alloc(2 << 20, 0x61)));
});

test('a consumer that stops early stops the thread (many times over, no hang, no leak of handles)', async () => {
  const threads = () => fs.readdirSync('/proc/self/task').length;
  let before = -1;
  for (let i = 0; i < 50; i++) {
    if (i === 1) before = threads();
    let n = 0;
    for await (const _ of gunzipChunks(chunked(gz, 65_536, i % 2 === 0), {})) {
      void _;
      if (++n === 2) break;
    }
    assert.equal(n, 2);
  }
  assert.equal(threads(), before, 'every gunzip thread was joined');
  // And one that throws out of the loop at the first block.
  await assert.rejects(async () => {
    for await (const _ of gunzipChunks(chunked(gz, 1 << 20), {})) {
      void _;
      throw new Error('consumer failed');
    }
  }, /consumer failed/);
});

test('unpackLayerBlob on a gzip layer: the diff ID comes from the thread; a wrong one and a truncated stream are refused', async () => {
  const entries: FixtureEntry[] = [{name: 'd/', mode: 0o755}];
  for (let i = 0; i < 500; i++) entries.push({name: `d/f${i}`, data: `${i}\n`.repeat(i), mode: 0o644});
  const tar = buildTar(entries);
  const layer = zlib.gzipSync(tar);
  const diffId = 'sha256:' + sha(tar);
  const box = sandbox();
  try {
    const dest = (name: string) => {
      const d = path.join(box.dest, name, 'diff');
      fs.mkdirSync(d, {recursive: true});
      return d;
    };
    const r = await unpackLayerBlob(chunked(layer, 10_000, true), dest('ok'), diffId, 'gzip');
    assert.deepEqual(r, {size: tar.length, diffId});
    assert.equal(fs.readFileSync(path.join(box.dest, 'ok', 'diff', 'd', 'f7'), 'utf8'), '7\n'.repeat(7));
    assert.ok(fs.existsSync(path.join(box.dest, 'ok', 'tar-split.gz')));
    await assert.rejects(unpackLayerBlob(chunked(layer, 10_000), dest('wrong'), 'sha256:' + '0'.repeat(64), 'gzip'), /diff ID mismatch/);
    await assert.rejects(unpackLayerBlob(chunked(layer.subarray(0, layer.length - 100), 10_000), dest('cut'), diffId, 'gzip'), /corrupt gzip stream: unexpected end of file/);
    assert.equal(fs.existsSync(path.join(box.dest, 'cut', 'tar-split.gz')), false);
  } finally {
    box.cleanup();
  }
});

test('a process that ends with a gunzip still open (never returned) exits cleanly, by the event loop running dry or process.exit', async () => {
  const {spawnSync} = await import('node:child_process');
  const script = `
    const zlib = require('node:zlib');
    const {gunzipChunks} = require(${JSON.stringify(path.resolve(__dirname, '../../../src/lib/util/native.ts'))});
    const gz = zlib.gzipSync(Buffer.alloc(8 << 20, 7));
    async function* src() { for (let o = 0; o < gz.length; o += 4096) yield gz.subarray(o, o + 4096); }
    (async () => {
      const it = gunzipChunks(src(), {})[Symbol.asyncIterator]();
      await it.next();
      if (process.argv.includes('exit')) process.exit(3);
      // else: left open; nothing else keeps the loop alive
    })();
  `;
  for (const [arg, code] of [['dry', 0], ['exit', 3]] as const) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script, arg], {encoding: 'utf8', timeout: 30_000});
    assert.equal(r.signal, null, `${arg}: no signal (${r.stderr})`);
    assert.equal(r.status, code, `${arg}: ${r.stderr}`);
  }
});
