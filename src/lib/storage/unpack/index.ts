/**
 * Layer extractor: an uncompressed OCI/Docker layer tar stream → a
 * directory (an overlayfs lowerdir, or in 'apply' mode a vfs tree that
 * already holds the lower layers).
 *
 * The stream is parsed by hand (parser.ts) because node-tar drops xattrs,
 * device nodes, fifos and setuid bits. Every rejection is a SkiffError of
 * kind 'unpack': `layer entry "<name>": <reason>`. Nothing is ever written
 * outside dest; on failure the caller deletes dest.
 */
import * as path from 'node:path';
import {isSkiffError, messageOf} from '../../util/errors';
import {entryError} from './entry-error';
import {inUserns} from '../../rootless/userns';
import {TarParser} from './parser';
import {LayerWriter} from './write-entry';
import {TarSplitRecorder} from '../layer-tar/split';

export interface ExtractOptions {
  /**
   * 'overlay' (default): whiteouts become 0/0 char devices and opaque xattrs. 'apply': they delete from dest.
   * 'none': `.wh.` names are ordinary files and dest may already hold a tree (skiff cp).
   */
  whiteouts?: 'overlay' | 'apply' | 'none';
  /** Create char/block device nodes (default true; rootless callers pass false and such layers are rejected). */
  allowDevices?: boolean;
  /** Record the stream's tar-split (layer-tar/split.ts) into this file; false or absent: do not. */
  tarSplit?: string | false;
}

export interface ExtractResult {
  /** Members processed (extension headers not counted). */
  entries: number;
  /** Sum of regular file sizes. */
  bytes: number;
}

/**
 * The error's text; a chown to an id the user namespace does not map
 * (EINVAL, rootless with too few subordinate ids) says what to fix, as podman does.
 */
function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EINVAL' && /chown/.test(e.syscall ?? '') && inUserns()) {
    return 'potentially insufficient UIDs or GIDs available in the user namespace: check /etc/subuid and /etc/subgid, then run `skiff system migrate`';
  }
  return messageOf(err);
}

export async function extractLayer(source: AsyncIterable<Buffer | Uint8Array>, dest: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const writer = new LayerWriter(path.resolve(dest), {
    whiteouts: opts.whiteouts ?? 'overlay',
    allowDevices: opts.allowDevices ?? true,
  });
  const recorder = opts.tarSplit ? new TarSplitRecorder(writer, () => writer.contentPath) : undefined;
  const parser = recorder ? new TarParser(recorder, recorder.tap) : new TarParser(writer);
  const wrap = (err: unknown) => (isSkiffError(err) ? err : entryError(writer.failedEntry ?? parser.current, reasonOf(err), err));
  try {
    // Errors from the source itself (a corrupt compressed stream) propagate unchanged.
    // After the end-of-archive marker the parser ignores the rest, but the
    // source is still read to its end so a caller hashing it sees every byte.
    for await (const chunk of source) {
      try {
        // Decompressors may hand out plain Uint8Arrays (fzstd); view them as Buffers without copying.
        parser.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from((chunk as Uint8Array).buffer, (chunk as Uint8Array).byteOffset, (chunk as Uint8Array).byteLength));
      } catch (err) {
        throw wrap(err);
      }
    }
    try {
      parser.finish();
      writer.finish();
    } catch (err) {
      throw wrap(err);
    }
    if (recorder && opts.tarSplit) {
      try {
        await recorder.save(opts.tarSplit);
      } catch (err) {
        throw wrap(err);
      }
    }
  } finally {
    recorder?.abort();
    writer.abort();
  }
  return {entries: writer.entries, bytes: writer.bytes};
}
