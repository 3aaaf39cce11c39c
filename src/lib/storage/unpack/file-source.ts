/**
 * A local file as a chunk source for extractLayer / unpackLayerBlob, read
 * synchronously into ONE reused 1 MiB buffer.
 *
 * Why: fs.createReadStream allocates a fresh 1 MiB buffer per read (fresh
 * pages: a page fault per 4 KiB) and hands each read to libuv's thread
 * pool; on a 50 MB layer of mid-sized files that was a quarter of the
 * unpacker's CPU. The extractor consumes each chunk before asking for the
 * next (the parser's views are valid only during push(), tar-split copies
 * what it keeps), so one buffer suffices.
 *
 * Contract: a chunk is valid only until the next one is requested. A
 * consumer that keeps chunks (a zlib stream, a decompressor) must copy
 * them: see ownedChunks().
 */
import * as fs from 'node:fs';

const REUSES = Symbol('skiff.reusesChunkBuffer');

export interface ReusedChunks extends AsyncIterable<Buffer> {
  readonly [REUSES]: true;
}

export function readFileChunks(file: string, size = 1 << 20): ReusedChunks {
  return {
    [REUSES]: true,
    async *[Symbol.asyncIterator]() {
      const fd = fs.openSync(file, 'r');
      try {
        const buf = Buffer.allocUnsafeSlow(size);
        for (;;) {
          const n = fs.readSync(fd, buf, 0, size, null);
          if (n === 0) return;
          yield buf.subarray(0, n);
        }
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

/** True when src's chunks are overwritten by the next read (readFileChunks). */
export function reusesChunks(src: AsyncIterable<Buffer>): boolean {
  return (src as Partial<ReusedChunks>)[REUSES] === true;
}

/** Each chunk copied, for a consumer that keeps them (the source reuses its buffer). */
export function copiedChunks(src: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  return (async function* () {
    for await (const c of src) yield Buffer.from(c);
  })();
}
