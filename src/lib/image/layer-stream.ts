/**
 * From a layer blob's bytes to an unpacked diff, in one pass: the blob is
 * digest-checked as it arrives (by the registry client), decompressed,
 * hashed again for the diff ID, and fed straight to the extractor. Nothing
 * is buffered to disk. gzip (nearly every layer) is inflated and hashed on
 * a thread of the addon (native.ts gunzipChunks), so the JS thread only
 * parses and creates files.
 */
import {createHash} from 'node:crypto';
import {digestMismatch, unpackError} from '../util/errors';
import {extractLayer, type ExtractOptions} from '../storage/unpack';
import {tarSplitPathFor} from '../storage/layer-tar/split';
import {copiedChunks, reusesChunks} from '../storage/unpack/file-source';
import {gunzipChunks} from '../util/native';
import {sniffCompression, type Compression} from './manifest';

type Chunks = AsyncIterable<Buffer>;

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
  // keep their input, so they get copies (the native gunzip into recycled
  // buffers of its own).
  const reused = reusesChunks(blob);
  const raw = compression === 'zstd' && reused ? copiedChunks(prepend(head, rest)) : prepend(head, rest);
  // gzip: inflated and hashed by the addon's thread (native.ts gunzipChunks);
  // otherwise hashed here as the chunks pass.
  const nativeGz: {sha256?: string; size?: number} = {};
  const plain = compression === 'gzip' ? gunzipChunks(raw, nativeGz, {copyInput: reused}) : compression === 'zstd' ? unzstd(raw) : raw;
  const hash = compression === 'gzip' ? undefined : createHash('sha256');
  let tarBytes = 0;
  const it = plain[Symbol.asyncIterator]();
  // The extractor may stop at the end-of-archive marker; the rest of the
  // stream (padding, trailer) must still be read so both digests cover it all.
  const tapped: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const r = await it.next();
        if (!r.done && hash) {
          hash.update(r.value);
          tarBytes += r.value.length;
        }
        return r;
      },
    }),
  };
  const corrupt = (err: unknown) => (err as NodeJS.ErrnoException).code?.startsWith('Z_') ? unpackError(`layer ${diffId}: corrupt ${compression} stream: ${(err as Error).message}`, err) : err;
  try {
    try {
      await extractLayer(tapped, dest, {...opts, tarSplit: opts.tarSplit ?? tarSplitPathFor(dest)});
    } catch (err) {
      throw corrupt(err);
    }
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        if (hash) {
          hash.update(r.value);
          tarBytes += r.value.length;
        }
      }
    } catch (err) {
      throw corrupt(err);
    }
  } finally {
    // A failed extraction leaves the decompressor mid-stream: stop it (the native gunzip's thread).
    await it.return?.();
  }
  const actual = 'sha256:' + (hash ? hash.digest('hex') : nativeGz.sha256);
  if (hash === undefined) tarBytes = nativeGz.size as number;
  if (actual !== diffId) throw digestMismatch(`layer diff ID mismatch: the image config says ${diffId}, the layer unpacks to ${actual}`);
  // The uncompressed tar's length, as podman counts a layer's (and an image's) size.
  return {size: tarBytes, diffId: actual};
}
