/**
 * The tar-split recording is compressed as it is made (a gzip stream fed
 * every 256 KiB of JSON lines) instead of once at the end: a recording of
 * many such batches still rebuilds the exact tar, and a failed extraction
 * leaves no tar-split file.
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
    const diff = path.join(box.dest, 'diff');
    fs.mkdirSync(diff);
    const split = path.join(box.dest, 'tar-split.gz');
    await extractLayer(chunks(tar, 100_000), diff, {tarSplit: split});
    const text = zlib.gunzipSync(fs.readFileSync(split)).toString('utf8');
    assert.ok(text.length > 3 * 256 * 1024, `the recording spans several batches (${text.length} chars)`);
    assert.equal(text.split('\n')[0], '{"tarsplit":1}');
    const diffId = 'sha256:' + createHash('sha256').update(tar).digest('hex');
    const rebuilt: Buffer[] = [];
    for await (const c of tarFromSplit(split, diff, diffId)) rebuilt.push(c);
    assert.ok(Buffer.concat(rebuilt).equals(tar), 'the rebuilt tar is the original');
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
    const diff = path.join(box.dest, 'diff');
    fs.mkdirSync(diff);
    const split = path.join(box.dest, 'tar-split.gz');
    await assert.rejects(extractLayer(chunks(buildTar(entries), 65_536), diff, {tarSplit: split}), /escapes the layer root/);
    assert.equal(fs.existsSync(split), false);
  } finally {
    box.cleanup();
  }
});
