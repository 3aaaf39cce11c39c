/**
 * Benchmark driver: extract one layer tar into a directory.
 * Usage: node --import tsx bench/unpack-one.ts LAYER.tar DEST [overlay|apply]
 *        node ... bench/unpack-one.ts LAYER.tar.gz DEST sha256:DIFFID
 *        node ... bench/unpack-one.ts --startup-only
 * (bench/unpack.sh runs it against GNU tar, alternating runs.)
 *
 * A .gz layer goes the way a pull's does: unpackLayerBlob (layer-stream.ts)
 * gunzips it and hashes the tar on an addon thread for the diff ID (given as the
 * third argument, checked), records its tar-split beside DEST/diff, and
 * extracts into DEST/diff.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {extractLayer} from '../src/lib/storage/unpack';
import {readFileChunks} from '../src/lib/storage/unpack/file-source';
import {unpackLayerBlob} from '../src/lib/image/layer-stream';

async function main(): Promise<void> {
  const [file, dest, mode] = process.argv.slice(2);
  if (file === '--startup-only') return; // the same process start-up and module load, no extraction
  if (!file || !dest) throw new Error('usage: unpack-one.ts LAYER.tar DEST [overlay|apply] | LAYER.tar.gz DEST sha256:DIFFID');
  if (file.endsWith('.gz')) {
    if (!mode?.startsWith('sha256:')) throw new Error('a .gz layer needs its diff ID (sha256:...) as the third argument');
    const diffDir = path.join(dest, 'diff');
    fs.mkdirSync(diffDir);
    // The same source as `skiff load` (one reused buffer; unpackLayerBlob
    // copies each chunk for the decompressor, as it does there).
    const r = await unpackLayerBlob(readFileChunks(file), diffDir, mode, 'gzip');
    if (process.env.UNPACK_VERBOSE) process.stderr.write(`${r.size} tar bytes, ${r.diffId}\n`);
    return;
  }
  // The layer file is read as `skiff load` and `import` read theirs (one
  // reused buffer, file-source.ts); UNPACK_SOURCE=stream reads it through
  // fs.createReadStream as a generic stream source instead.
  const source = process.env.UNPACK_SOURCE === 'stream' ? (fs.createReadStream(file, {highWaterMark: 1 << 20}) as AsyncIterable<Buffer>) : readFileChunks(file);
  const r = await extractLayer(source, dest, {whiteouts: mode === 'apply' ? 'apply' : 'overlay'});
  if (process.env.UNPACK_VERBOSE) process.stderr.write(`${r.entries} entries, ${r.bytes} bytes\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`Error: ${(err as Error).message}\n`);
  process.exitCode = 125;
});
