/**
 * From a layer blob's bytes to an unpacked diff, in one pass: the blob is
 * digest-checked as it arrives (by the registry client), decompressed,
 * hashed again for the diff ID, and fed straight to the extractor. Nothing
 * is buffered to disk.
 */
import {createHash} from 'node:crypto';
import type * as Zlib from 'node:zlib';
import {Readable} from 'node:stream';
import {digestMismatch, unpackError} from '../util/errors';
import {extractLayer, type ExtractOptions} from '../storage/unpack';
import {tarSplitPathFor} from '../storage/layer-tar/split';
import {copiedChunks, reusesChunks} from '../storage/unpack/file-source';
import {sniffCompression, type Compression} from './manifest';

type Chunks = AsyncIterable<Buffer>;

async function* gunzip(src: Chunks): AsyncGenerator<Buffer> {
  // Loaded here, not at module load: zlib is not in the start-up snapshot and
  // costs a compile on every command that merely touches the image service.
  const zlib = require('node:zlib') as typeof Zlib;
  const z = zlib.createGunzip({chunkSize: 256 * 1024});
  const input = Readable.from(src, {objectMode: false});
  input.on('error', (err) => z.destroy(err));
  input.pipe(z);
  for await (const chunk of z) yield chunk as Buffer;
}

async function* unzstd(src: Chunks): AsyncGenerator<Buffer> {
  const {Decompress} = await import('fzstd');
  const out: Uint8Array[] = [];
  const d = new Decompress((chunk) => out.push(chunk));
  for await (const c of src) {
    d.push(c);
    while (out.length) yield Buffer.from(out.shift()!);
  }
  d.push(new Uint8Array(0), true);
  while (out.length) yield Buffer.from(out.shift()!);
}

/** Peek at the first chunk to detect compression, then yield everything. */
async function peek(src: Chunks): Promise<{head: Buffer | undefined; rest: AsyncIterator<Buffer>}> {
  const it = src[Symbol.asyncIterator]();
  const first = await it.next();
  return {head: first.done ? undefined : first.value, rest: it};
}

async function* prepend(head: Buffer | undefined, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (head) yield head;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

export interface LayerStreamResult {
  /** Bytes of the uncompressed layer tar. */
  size: number;
  diffId: string;
}

/**
 * Unpack a (possibly compressed) layer blob into `dest`, checking that the
 * uncompressed stream hashes to `diffId`. The declared compression is only
 * a hint: the stream's magic bytes decide, since registries mislabel layers.
 *
 * `dest` is a layer's diff directory: the tar-split that lets push and save
 * rebuild this exact tar is written beside it (layer-tar/split.ts) unless
 * opts.tarSplit says otherwise.
 */
export async function unpackLayerBlob(blob: Chunks, dest: string, diffId: string, _declared: Compression, opts: ExtractOptions = {}): Promise<LayerStreamResult> {
  const {head, rest} = await peek(blob);
  const compression = head ? sniffCompression(head) : 'none';
  // A reused-buffer file source (readFileChunks) goes straight to the
  // extractor, which is done with each chunk before the next; decompressors
  // keep their input, so they get copies.
  const raw = compression !== 'none' && reusesChunks(blob) ? copiedChunks(prepend(head, rest)) : prepend(head, rest);
  const plain = compression === 'gzip' ? gunzip(raw) : compression === 'zstd' ? unzstd(raw) : raw;
  const hash = createHash('sha256');
  let tarBytes = 0;
  const it = plain[Symbol.asyncIterator]();
  // The extractor may stop at the end-of-archive marker; the rest of the
  // stream (padding, trailer) must still be read so both digests cover it all.
  const tapped: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const r = await it.next();
        if (!r.done) {
          hash.update(r.value);
          tarBytes += r.value.length;
        }
        return r;
      },
    }),
  };
  try {
    await extractLayer(tapped, dest, {...opts, tarSplit: opts.tarSplit ?? tarSplitPathFor(dest)});
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'Z_DATA_ERROR' || (err as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') {
      throw unpackError(`layer ${diffId}: corrupt ${compression} stream: ${(err as Error).message}`, err);
    }
    throw err;
  }
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      hash.update(r.value);
      tarBytes += r.value.length;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code?.startsWith('Z_')) throw unpackError(`layer ${diffId}: corrupt ${compression} stream: ${(err as Error).message}`, err);
    throw err;
  }
  const actual = 'sha256:' + hash.digest('hex');
  if (actual !== diffId) throw digestMismatch(`layer diff ID mismatch: the image config says ${diffId}, the layer unpacks to ${actual}`);
  // The uncompressed tar's length, as podman counts a layer's (and an image's) size.
  return {size: tarBytes, diffId: actual};
}
