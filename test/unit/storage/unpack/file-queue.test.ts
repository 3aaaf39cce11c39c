/**
 * LayerWriter.file()'s queue (native writeFileQueued): the file is created
 * at once, its content, owner, mode and times are set by the addon's worker
 * thread. These archives are one chunk, so every regular file takes that
 * path; they queue more jobs and bytes than the queue holds (back-pressure),
 * replace and hardlink files whose jobs may still be pending, and make a
 * queued job fail (ENOSPC on a small tmpfs). Runs as root.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {execFileSync} from 'node:child_process';
import {extractLayer} from '../../../../src/lib/storage/unpack';
import {isSkiffError} from '../../../../src/lib/util/errors';
import {buildTar, sandbox, type FixtureEntry} from './tar-fixture';

async function* one(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;

test('more jobs and bytes than the queue holds: every file keeps its content, owner, mode bits and mtime', async () => {
  const entries: FixtureEntry[] = [{name: 'd/', mode: 0o755, mtime: 1_300_000_000}];
  const want = new Map<string, {data: Buffer; mode: number; uid: number; gid: number; mtime: number}>();
  for (let i = 0; i < 700; i++) {
    const modes = [0o644, 0o4755, 0o2755, 0o1755, 0o600, 0o000];
    const f = {data: Buffer.from(`file ${i}\n`.repeat(i % 7)), mode: modes[i % modes.length]!, uid: i % 3 === 0 ? 0 : 1000 + i, gid: i % 5 === 0 ? 0 : 2000 + i, mtime: 1_000_000_000 + i};
    want.set(`d/f${i}`, f);
    entries.push({name: `d/f${i}`, ...f});
  }
  // 20 MB of 4 MiB files: past the queue's 16 MiB of copies.
  for (let i = 0; i < 5; i++) {
    const f = {data: Buffer.alloc(4 << 20, 0x41 + i), mode: 0o4711, uid: 77, gid: 88, mtime: 1_400_000_000 + i};
    want.set(`big${i}`, f);
    entries.push({name: `big${i}`, ...f});
  }
  // Replaced while its job may still be queued: the later member wins.
  entries.push({name: 'dup', data: 'first', mode: 0o4755, uid: 5, gid: 5, mtime: 1_100_000_000});
  entries.push({name: 'dup', data: 'second', mode: 0o640, uid: 6, gid: 7, mtime: 1_200_000_000});
  want.set('dup', {data: Buffer.from('second'), mode: 0o640, uid: 6, gid: 7, mtime: 1_200_000_000});
  // A hardlink to a file whose job may be pending: the same inode, finished.
  entries.push({name: 'link', type: '1', linkname: 'd/f699'});
  const box = sandbox();
  try {
    const fds = openFds();
    const r = await extractLayer(one(buildTar(entries)), box.dest);
    assert.equal(openFds(), fds, 'no descriptor left open');
    assert.equal(r.entries, entries.length);
    for (const [name, f] of want) {
      const p = path.join(box.dest, name);
      const st = fs.lstatSync(p);
      assert.ok(st.isFile(), name);
      assert.equal(st.mode & 0o7777, f.mode, `${name} mode`);
      assert.deepEqual([st.uid, st.gid], [f.uid, f.gid], `${name} owner`);
      assert.equal(st.mtimeMs, f.mtime * 1000, `${name} mtime`);
      assert.ok(fs.readFileSync(p).equals(f.data), `${name} content`);
    }
    const l = fs.lstatSync(path.join(box.dest, 'link'));
    const t = fs.lstatSync(path.join(box.dest, 'd/f699'));
    assert.equal(l.ino, t.ino);
    assert.equal(l.nlink, 2);
    // Directory times are set after the queue drained.
    assert.equal(fs.lstatSync(path.join(box.dest, 'd')).mtimeMs, 1_300_000_000_000);
  } finally {
    box.cleanup();
  }
});

test('a queued job that fails (ENOSPC) stops the extraction naming its member, and leaves no descriptor open', async (t) => {
  if (process.geteuid?.() !== 0) return t.skip('needs root (tmpfs mount)');
  const box = sandbox();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', box.dest]);
  } catch {
    box.cleanup();
    return t.skip('cannot mount tmpfs');
  }
  try {
    const entries: FixtureEntry[] = [{name: 'small', data: 'ok'}, {name: 'etc/huge', data: Buffer.alloc(3 << 20, 1)}];
    for (let i = 0; i < 50; i++) entries.push({name: `after${i}`, data: 'x'});
    const fds = openFds();
    const clear = () => {
      for (const n of fs.readdirSync(box.dest)) fs.rmSync(path.join(box.dest, n), {recursive: true});
    };
    // Failing mid-stream (seen by a later member's call) and as the last member (seen only by the final drain).
    for (const layer of [entries, [...entries.slice(2), ...entries.slice(0, 2)]]) {
      await assert.rejects(extractLayer(one(buildTar(layer)), box.dest), (err: unknown) => {
        assert.ok(isSkiffError(err));
        assert.match((err as Error).message, /layer entry "etc\/huge": .*ENOSPC: write/);
        return true;
      });
      assert.equal(openFds(), fds, 'no descriptor left open');
      clear();
    }
    // The failure is reported once: the next extraction starts clean.
    for (const n of fs.readdirSync(box.dest)) fs.rmSync(path.join(box.dest, n), {recursive: true});
    const r = await extractLayer(one(buildTar([{name: 'again', data: 'fine'}])), box.dest);
    assert.equal(r.entries, 1);
    assert.equal(fs.readFileSync(path.join(box.dest, 'again'), 'utf8'), 'fine');
  } finally {
    execFileSync('umount', [box.dest]);
    box.cleanup();
  }
});
