import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {deleteOnRelease, lockFile, nextDelay, tryLockFile} from '../../../src/lib/state/lock';
import {isSkiffError} from '../../../src/lib/util/errors';
import {tempDir} from '../../helpers/tmp';

const tmp = () => tempDir('skiff-lock-');

/** A child process that takes `file` in `mode`, prints "waiting" if it must wait, "held" once it holds it, then sleeps. */
function holder(file: string, mode: 'shared' | 'exclusive') {
  const code = `
    const {lockFile} = require(${JSON.stringify(path.resolve(__dirname, '../../../src/lib/state/lock.ts'))});
    lockFile(${JSON.stringify(file)}, {mode: ${JSON.stringify(mode)}, onWait: () => process.stdout.write('waiting\\n')}).then(() => { process.stdout.write('held\\n'); setInterval(() => {}, 1000); });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], {stdio: ['ignore', 'pipe', 'inherit']});
  const said = (word: string) =>
    new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes(word) && resolve());
      child.on('exit', (c) => reject(new Error(`holder exited ${c}`)));
    });
  const ready = said('held');
  const waiting = said('waiting');
  waiting.catch(() => {}); // most holders never wait
  return {child, ready, waiting};
}

test('a lock held by a process killed with SIGKILL is free at once', async () => {
  const file = path.join(tmp(), 'x.lock');
  const h = holder(file, 'exclusive');
  await h.ready;
  assert.equal(tryLockFile(file), undefined, 'held by the child');
  h.child.kill('SIGKILL');
  await new Promise((r) => h.child.on('exit', r));
  const t0 = Date.now();
  const lock = await lockFile(file, {timeoutMs: 5000});
  assert.ok(Date.now() - t0 < 2000, 'acquired without a staleness wait');
  lock.release();
});

test('shared holders coexist; exclusive waits for them; timeout is a typed error', async () => {
  const file = path.join(tmp(), 'y.lock');
  const h = holder(file, 'shared');
  await h.ready;
  const mine = tryLockFile(file, 'shared');
  assert.ok(mine, 'two shared holders');
  mine!.release();
  let waited = false;
  await assert.rejects(lockFile(file, {mode: 'exclusive', timeoutMs: 150, onWait: () => (waited = true)}), (e) => isSkiffError(e, 'lock-timeout'));
  assert.ok(waited);
  h.child.kill('SIGKILL');
  await new Promise((r) => h.child.on('exit', r));
  const ex = await lockFile(file, {mode: 'exclusive', timeoutMs: 2000});
  ex.release();
});

test('taking a lock twice in one process is an error, not a deadlock', async () => {
  const file = path.join(tmp(), 'z.lock');
  const a = await lockFile(file);
  await assert.rejects(lockFile(file), (e) => isSkiffError(e, 'internal'));
  assert.equal(tryLockFile(file), undefined);
  a.release();
  a.release(); // idempotent
  const b = tryLockFile(file);
  assert.ok(b);
  b!.release();
});

test('downgrade lets shared holders in without releasing', async () => {
  const file = path.join(tmp(), 'd.lock');
  const ex = await lockFile(file, {mode: 'exclusive'});
  ex.downgrade();
  assert.equal(ex.mode, 'shared');
  const h = holder(file, 'shared');
  await h.ready; // would hang if still exclusive
  h.child.kill('SIGKILL');
  await new Promise((r) => h.child.on('exit', r));
  ex.release();
});

test('a waiter polls every 1-4 ms while locks are usually held, then backs off to 25 and 100 ms', () => {
  const seq: number[] = [];
  for (let d = 1, waited = 0; waited < 3000; waited += d) {
    seq.push(d);
    d = nextDelay(d, waited + d);
  }
  assert.deepEqual(seq.slice(0, 5), [1, 2, 4, 4, 4]);
  assert.ok(seq.filter((d) => d <= 4).length >= 60, 'about 250 ms of short polls');
  assert.ok(seq.includes(25));
  assert.equal(seq.at(-1), 100);
  assert.ok(Math.max(...seq) === 100);
});

test('a waiter whose lock file the holder deletes ends up holding the file at the path, not the deleted one', async () => {
  const file = path.join(tmp(), 'gone.lock');
  const mine = await lockFile(file);
  const h = holder(file, 'exclusive');
  await h.waiting; // it has the file open and polls flock
  assert.equal(deleteOnRelease(file), true);
  mine.release();
  await h.ready;
  // The waiter re-took the lock on the file now at the path; with the deleted inode it would hold
  // nothing anyone else can see, and this try-lock would succeed on a new file.
  assert.ok(fs.existsSync(file), 'the waiter re-created the lock file');
  assert.equal(tryLockFile(file), undefined, 'the waiter holds the file at the path');
  h.child.kill('SIGKILL');
  await new Promise((r) => h.child.on('exit', r));
  const again = tryLockFile(file);
  assert.ok(again);
  again!.release();
});

test('deleteOnRelease: only an exclusive holder deletes, when it lets go; a sweep never re-creates the file', async () => {
  const dir = tmp();
  const file = path.join(dir, 'r.lock');
  assert.equal(deleteOnRelease(file), false, 'not held');
  const sh = tryLockFile(file, 'shared')!;
  assert.equal(deleteOnRelease(file), false, 'shared holders may have company');
  sh.release();
  assert.ok(fs.existsSync(file));
  const ex = tryLockFile(file)!;
  assert.equal(deleteOnRelease(file), true);
  assert.ok(fs.existsSync(file), 'kept while held');
  ex.release();
  assert.equal(fs.existsSync(file), false, 'deleted as it was let go');
  assert.equal(tryLockFile(file, 'exclusive', {create: false}), undefined);
  assert.equal(fs.existsSync(file), false, 'create: false takes only an existing file');
  const again = tryLockFile(file)!;
  again.release();
  assert.ok(fs.existsSync(file), 'released without deleteOnRelease: kept');
});
