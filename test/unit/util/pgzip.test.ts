import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import {execFileSync} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {crc32js, parallelGzip, type ParallelGzipOptions} from '../../../src/lib/util/pgzip';

const BLOCK = 64 * 1024; // the smallest block size: many blocks from little data

async function gz(input: Buffer, opts: ParallelGzipOptions & {chunk?: number} = {}): Promise<Buffer> {
  const chunk = opts.chunk ?? 7919;
  async function* src() {
    for (let o = 0; o < input.length; o += chunk) yield input.subarray(o, o + chunk);
  }
  const out: Buffer[] = [];
  for await (const c of parallelGzip(src(), {blockSize: BLOCK, ...opts})) out.push(c);
  return Buffer.concat(out);
}

// Text-like data (compressible, with matches reaching across block cuts) and random runs.
function sample(n: number): Buffer {
  const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu\n'.split(' ');
  const parts: Buffer[] = [];
  let len = 0;
  let i = 0;
  while (len < n) {
    const p = i % 97 === 0 ? randomBytes(3000) : Buffer.from(`${words[i % words.length]}${i % 13} `);
    parts.push(p);
    len += p.length;
    i++;
  }
  return Buffer.concat(parts).subarray(0, n);
}

/** One gzip member: header, deflate stream, trailer with CRC-32 and ISIZE of the whole input. */
function checkMember(out: Buffer, input: Buffer) {
  assert.deepEqual([...out.subarray(0, 4)], [0x1f, 0x8b, 8, 0]);
  assert.equal(out.readUInt32LE(out.length - 8), zlib.crc32(input));
  assert.equal(out.readUInt32LE(out.length - 4), input.length);
  assert.ok(zlib.gunzipSync(out).equals(input));
  // Exactly one member: the raw deflate stream ends right before the 8-byte trailer.
  const inflated = zlib.inflateRawSync(out.subarray(10, out.length - 8));
  assert.ok(inflated.equals(input));
}

for (const [name, size] of [
  ['empty input', 0],
  ['one byte', 1],
  ['smaller than a block', BLOCK - 1],
  ['exactly one block', BLOCK],
  ['one block and a byte', BLOCK + 1],
  ['exactly three blocks', 3 * BLOCK],
  ['many blocks and a tail', 9 * BLOCK + 12345],
] as const) {
  test(`parallel gzip round trip: ${name}`, async () => {
    const input = sample(size);
    const out = await gz(input);
    checkMember(out, input);
  });
}

test('parallel gzip: the output depends on the bytes, level and block size only (not chunking or concurrency)', async () => {
  const input = sample(5 * BLOCK + 777);
  const a = await gz(input, {chunk: 1, concurrency: 1, level: 5});
  const b = await gz(input, {chunk: 100000, concurrency: 8, level: 5});
  const c = await gz(input, {chunk: 4096, concurrency: 3, level: 5});
  assert.ok(a.equals(b) && b.equals(c));
  const l1 = await gz(input, {level: 1});
  assert.ok(!l1.equals(b));
  assert.equal(l1[8], 4); // XFL: fastest
  checkMember(l1, input);
});

test('parallel gzip: the previous block is the dictionary, so the ratio stays close to one stream', async () => {
  // A 40 KiB random unit repeated: within reach of a 32 KiB window only through the dictionary at block starts.
  const unit = randomBytes(20 * 1024);
  const input = Buffer.concat(Array.from({length: 20}, () => unit));
  const out = await gz(input);
  checkMember(out, input);
  const single = zlib.gzipSync(input, {level: 5});
  assert.ok(out.length < single.length * 1.05, `${out.length} vs ${single.length}`);
});

test('parallel gzip output passes gzip -t and gunzip | sha256sum', async () => {
  const input = sample(3 * BLOCK + 5);
  const out = await gz(input);
  execFileSync('gzip', ['-t'], {input: out});
  const back = execFileSync('gunzip', ['-c'], {input: out, maxBuffer: 1 << 24});
  assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(input).digest('hex'));
});

test('parallel gzip: an input error propagates and nothing is left unhandled', async () => {
  async function* bad() {
    yield sample(3 * BLOCK);
    throw new Error('source broke');
  }
  await assert.rejects(
    (async () => {
      for await (const _ of parallelGzip(bad(), {blockSize: BLOCK})) void _;
    })(),
    /source broke/,
  );
});

test('crc32js agrees with zlib.crc32 (the fallback for Node without it)', () => {
  const b = sample(100000);
  assert.equal(crc32js(b), zlib.crc32(b));
  assert.equal(crc32js(b.subarray(5000), crc32js(b.subarray(0, 5000))), zlib.crc32(b));
  assert.equal(crc32js(Buffer.alloc(0)), 0);
});
