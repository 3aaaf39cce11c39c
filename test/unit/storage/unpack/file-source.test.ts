/** readFileChunks (one reused buffer) and its consumers: the extractor directly, decompressors through copies. */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createHash, randomBytes} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {copiedChunks, readFileChunks, reusesChunks} from '../../../../src/lib/storage/unpack/file-source';
import {unpackLayerBlob} from '../../../../src/lib/image/layer-stream';
import {buildTar, sandbox} from './tar-fixture';

test('readFileChunks reads the whole file through one buffer; copiedChunks makes chunks that stay valid', async () => {
  const box = sandbox();
  try {
    const data = randomBytes(3 * 4096 + 100);
    const f = path.join(box.dir, 'data');
    fs.writeFileSync(f, data);
    const src = readFileChunks(f, 4096);
    assert.ok(reusesChunks(src));
    const seen = new Set<ArrayBufferLike>();
    const copies: Buffer[] = [];
    for await (const c of src) {
      seen.add(c.buffer);
      copies.push(Buffer.from(c));
    }
    assert.equal(seen.size, 1, 'every chunk is a view of the same buffer');
    assert.ok(Buffer.concat(copies).equals(data));
    const kept: Buffer[] = [];
    for await (const c of copiedChunks(readFileChunks(f, 4096))) kept.push(c);
    assert.ok(Buffer.concat(kept).equals(data), 'kept copies are not overwritten by later reads');
  } finally {
    box.cleanup();
  }
});

for (const gz of [false, true]) {
  test(`unpackLayerBlob from readFileChunks, ${gz ? 'gzip (decompressor gets copies)' : 'uncompressed'}`, async () => {
    const box = sandbox();
    try {
      const big = randomBytes(300 * 1024); // incompressible: many compressed chunks
      const tar = buildTar([
        {name: 'a/', mode: 0o755},
        {name: 'a/big', data: big, mode: 0o644},
        {name: 'a/small', data: 'small', mode: 0o600, uid: 3, gid: 4},
      ]);
      const f = path.join(box.dir, 'layer');
      fs.writeFileSync(f, gz ? zlib.gzipSync(tar) : tar);
      const diffId = 'sha256:' + createHash('sha256').update(tar).digest('hex');
      const r = await unpackLayerBlob(readFileChunks(f, 4096), box.dest, diffId, gz ? 'gzip' : 'none', {tarSplit: false});
      assert.equal(r.size, tar.length);
      assert.ok(fs.readFileSync(path.join(box.dest, 'a/big')).equals(big));
      assert.equal(fs.readFileSync(path.join(box.dest, 'a/small'), 'utf8'), 'small');
      const st = fs.lstatSync(path.join(box.dest, 'a/small'));
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [3, 4, 0o600]);
    } finally {
      box.cleanup();
    }
  });
}
