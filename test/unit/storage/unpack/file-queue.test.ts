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
import {fileQueueDrain, fileQueueOpen} from '../../../../src/lib/util/native';
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
  // 20 MB of 4 MiB files: written synchronously (files over QUEUED_FILE_MAX are not queued), between queued ones.
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
    // 12 KiB files (queued: up to QUEUED_FILE_MAX) until the 1 MiB tmpfs is full: a queued job fails.
    const entries: FixtureEntry[] = [{name: 'small', data: 'ok'}];
    for (let i = 0; i < 120; i++) entries.push({name: `etc/fill${i}`, data: Buffer.alloc(12 << 10, 1)});
    for (let i = 0; i < 50; i++) entries.push({name: `after${i}`, data: 'x'});
    const fds = openFds();
    const clear = () => {
      for (const n of fs.readdirSync(box.dest)) fs.rmSync(path.join(box.dest, n), {recursive: true});
    };
    // Failing mid-stream (seen by a later member's call) and as the last member (seen only by the final drain).
    for (const layer of [entries, [...entries.slice(121), ...entries.slice(0, 121)]]) {
      await assert.rejects(extractLayer(one(buildTar(layer)), box.dest), (err: unknown) => {
        assert.ok(isSkiffError(err));
        assert.match((err as Error).message, /layer entry "etc\/fill\d+": .*ENOSPC: write/);
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

/** The archive in `size`-byte chunks, yielding to the event loop between them so concurrent extractions interleave. */
async function* interleaved(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) {
    await new Promise((r) => setImmediate(r));
    yield buf.subarray(i, Math.min(buf.length, i + size));
  }
}

test('concurrent extractions (a pull unpacks layers in parallel) keep their own failures', async (t) => {
  if (process.geteuid?.() !== 0) return t.skip('needs root (tmpfs mount)');
  const bad = sandbox();
  const good = sandbox();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', bad.dest]);
  } catch {
    bad.cleanup();
    good.cleanup();
    return t.skip('cannot mount tmpfs');
  }
  try {
    const many = (p: string) => Array.from({length: 400}, (_, i): FixtureEntry => ({name: `${p}${i}`, data: `${p} ${i}`, uid: 3, gid: 4, mode: 0o4755}));
    // 400 small files take 1.6 MB of the 4 MB tmpfs; 250 of 12 KiB (some gathered across chunks, all queued) cannot all fit.
    const huge = Array.from({length: 250}, (_, i): FixtureEntry => ({name: `huge${i}`, data: Buffer.alloc(12 << 10, i)}));
    const badLayer = buildTar([...many('b'), ...huge, ...many('c')]);
    const goodLayer = buildTar(many('g'));
    const fds = openFds();
    const [b, g] = await Promise.allSettled([extractLayer(interleaved(badLayer, 64 << 10), bad.dest), extractLayer(interleaved(goodLayer, 4 << 10), good.dest)]);
    assert.equal(b.status, 'rejected');
    assert.match(((b as PromiseRejectedResult).reason as Error).message, /layer entry "huge\d+": .*ENOSPC: write/);
    assert.equal(g.status, 'fulfilled', String((g as PromiseRejectedResult).reason));
    for (let i = 0; i < 400; i++) {
      const st = fs.lstatSync(path.join(good.dest, `g${i}`));
      assert.equal(fs.readFileSync(path.join(good.dest, `g${i}`), 'utf8'), `g ${i}`);
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [3, 4, 0o4755]);
    }
    assert.equal(openFds(), fds, 'no descriptor left open');
  } finally {
    execFileSync('umount', [bad.dest]);
    bad.cleanup();
    good.cleanup();
  }
});

test('with every queue slot taken, files are written synchronously, with the same rules and metadata', async () => {
  const held: number[] = [];
  for (let s = fileQueueOpen(); s !== undefined; s = fileQueueOpen()) held.push(s);
  const box = sandbox();
  try {
    assert.ok(held.length > 0);
    const r = await extractLayer(one(buildTar([{name: 'a', data: 'A', mode: 0o4750, uid: 9, gid: 8, mtime: 1_234_567_890}, {name: 'a', data: 'B', mode: 0o2750, uid: 9, gid: 8, mtime: 1_234_567_890}])), box.dest);
    assert.equal(r.entries, 2);
    const st = fs.lstatSync(path.join(box.dest, 'a'));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777, st.mtimeMs], [9, 8, 0o2750, 1_234_567_890_000]);
    assert.equal(fs.readFileSync(path.join(box.dest, 'a'), 'utf8'), 'B');
    // A file through a symlink to a directory outside lands inside dest, resolved as if dest were "/".
    const before = box.outside();
    await extractLayer(one(buildTar([{name: 'x', type: '2', linkname: box.sentinel}, {name: 'x/passwd', data: 'pwned'}])), box.dest);
    assert.equal(box.outside(), before);
    assert.equal(fs.readFileSync(path.join(box.dest, box.sentinel, 'passwd'), 'utf8'), 'pwned');
    await assert.rejects(extractLayer(one(buildTar([{name: '../escape', data: 'no'}])), box.dest), /layer entry "..\/escape": path escapes/);
  } finally {
    for (const s of held) fileQueueDrain(s, true, String);
    box.cleanup();
  }
  // The slots are free again.
  const s = fileQueueOpen();
  assert.notEqual(s, undefined);
  fileQueueDrain(s as number, true, String);
});
