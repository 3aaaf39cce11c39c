/**
 * Benchmark driver: extract one uncompressed layer tar into a directory.
 * Usage: node --import tsx bench/unpack-one.ts LAYER.tar DEST [overlay|apply]
 *        node ... bench/unpack-one.ts --startup-only
 * (bench/unpack.sh runs it against GNU tar under hyperfine.)
 */
import * as fs from 'node:fs';
import {extractLayer} from '../src/lib/storage/unpack';
import {readFileChunks} from '../src/lib/storage/unpack/file-source';

async function main(): Promise<void> {
  const [file, dest, mode] = process.argv.slice(2);
  if (file === '--startup-only') return; // the same process start-up and module load, no extraction
  if (!file || !dest) throw new Error('usage: unpack-one.ts LAYER.tar DEST [overlay|apply]');
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
