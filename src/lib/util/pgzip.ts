/**
 * Parallel gzip (the pigz / pgzip technique), for pushing layers.
 *
 * The input is cut into blocks of a fixed size (1 MiB by default) at fixed
 * offsets, whatever the chunking of the input stream. Each block is deflated
 * on its own (zlib's async API: libuv's thread pool, several blocks at once)
 * with the previous block's last 32 KiB as preset dictionary, so matches
 * still reach back across the cut and the ratio barely changes. Every block
 * but the last ends with a sync flush (an empty stored block: the output is
 * byte aligned and not final); the last one ends the deflate stream. The
 * raw deflate pieces, in order, between a gzip header and a trailer with the
 * CRC-32 and length of the whole input, form ONE ordinary gzip member that
 * any gunzip reads.
 *
 * The output depends only on the input bytes, the level and the block size
 * (never on timing or chunking), so the same layer always gives the same
 * compressed digest.
 */
import * as zlib from 'node:zlib';

export interface ParallelGzipOptions {
  /** zlib level 1-9 (default 5). */
  level?: number;
  /** Uncompressed bytes per independently compressed block (default 1 MiB; at least 64 KiB). */
  blockSize?: number;
  /** Blocks being compressed at once (default 4: libuv's thread pool size). */
  concurrency?: number;
}

const DICT = 32 * 1024;
export const DEFAULT_BLOCK_SIZE = 1 << 20;

// RFC 1952 header: magic, CM=8 (deflate), no flags, MTIME 0, XFL, OS=3 (Unix).
function header(level: number): Buffer {
  // XFL as zlib sets it: 2 = maximum compression, 4 = fastest.
  const xfl = level >= 9 ? 2 : level === 1 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, xfl, 0x03]);
}

const crc32: (data: Uint8Array, value?: number) => number = typeof zlib.crc32 === 'function' ? zlib.crc32 : crc32js;

let table: Uint32Array | undefined;
/** Table-driven CRC-32 (IEEE), for a Node without zlib.crc32. */
export function crc32js(data: Uint8Array, value = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function deflateBlock(block: Buffer, dict: Buffer | undefined, last: boolean, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.deflateRaw(
      block,
      {
        level,
        ...(dict ? {dictionary: dict} : {}),
        finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
        // One pass on the thread pool for the whole block (deflate's bound is a little over the input).
        chunkSize: block.length + (block.length >>> 6) + 1024,
      },
      (err, out) => (err ? reject(err) : resolve(out)),
    );
  });
}

/** gzip `input` with blocks compressed in parallel; yields the compressed stream in order. */
export async function* parallelGzip(input: AsyncIterable<Buffer | Uint8Array>, opts: ParallelGzipOptions = {}): AsyncGenerator<Buffer> {
  const level = opts.level ?? 5;
  const blockSize = Math.max(opts.blockSize ?? DEFAULT_BLOCK_SIZE, 64 * 1024);
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const queue: Promise<Buffer>[] = [];
  let crc = 0;
  let total = 0;
  let prevTail: Buffer | undefined;
  let cur = Buffer.allocUnsafe(blockSize);
  let fill = 0;

  const submit = (block: Buffer, last: boolean) => {
    crc = crc32(block, crc);
    const job = deflateBlock(block, prevTail, last, level);
    job.catch(() => {}); // awaited in order below; never an unhandled rejection if the consumer stops early
    queue.push(job);
    // The next block's dictionary: a copy, since `block` is handed to the thread pool.
    prevTail = block.length >= DICT ? Buffer.from(block.subarray(block.length - DICT)) : undefined;
  };

  yield header(level);
  for await (const chunk of input) {
    let off = 0;
    while (off < chunk.length) {
      if (fill === blockSize) {
        // More input follows: the full block is not the last one.
        submit(cur, false);
        cur = Buffer.allocUnsafe(blockSize);
        fill = 0;
        while (queue.length >= concurrency) yield await queue.shift()!;
      }
      const n = Math.min(blockSize - fill, chunk.length - off);
      cur.set(chunk.subarray(off, off + n), fill);
      fill += n;
      off += n;
      total += n;
    }
  }
  submit(cur.subarray(0, fill), true);
  while (queue.length) yield await queue.shift()!;
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(total % 0x100000000, 4);
  yield trailer;
}
