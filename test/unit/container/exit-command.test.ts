import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {cleanupClaimFile, exitCommand} from '../../../src/lib/container/service';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-exitcmd-'));
process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}));

/** Runs the exit command as conmon would, with `echo ran` standing in for `skiff container cleanup`. */
function runs(cmd: string[]): boolean {
  const [bin, ...args] = cmd;
  return spawnSync(bin, args, {encoding: 'utf8'}).stdout === 'ran\n';
}

/** The same, without blocking the event loop (the claimer may be killed meanwhile); resolves with whether it ran. */
function runsAsync(cmd: string[]): Promise<boolean> {
  const [bin, ...args] = cmd;
  const child = spawn(bin, args, {stdio: ['ignore', 'pipe', 'ignore']});
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', () => resolve(out === 'ran\n')));
}

test('detached: the cleanup runs unless a process that claimed it cleans up', async () => {
  const claim = cleanupClaimFile(dir);
  const exitFile = path.join(dir, 'exit');
  const cmd = exitCommand(['echo', 'ran'], exitFile, false, claim);
  assert.equal(cmd.exitDelaySeconds, undefined, 'at once');
  fs.writeFileSync(exitFile, '0');
  fs.rmSync(claim, {force: true});
  assert.ok(runs(cmd.exitCommand), 'no claim: runs');
  // A claimer that died (a stop killed midway): the cleanup is not lost.
  const gone = spawn('true');
  await new Promise((r) => gone.on('exit', r));
  fs.writeFileSync(claim, `${gone.pid}\n`);
  assert.ok(runs(cmd.exitCommand), 'dead claimer: runs');
  fs.writeFileSync(claim, 'garbage\n');
  assert.ok(runs(cmd.exitCommand), 'unreadable claim: runs');
  // A live claimer that has cleaned up (the exit file is gone): nothing to do.
  fs.writeFileSync(claim, `${process.pid}\n`);
  fs.rmSync(exitFile);
  assert.ok(!runs(cmd.exitCommand), 'live claimer, cleaned up: skipped');
});

test('detached: a claimer that cleans up later is waited for, one killed before it cleans up is replaced', async () => {
  const claim = cleanupClaimFile(dir);
  const exitFile = path.join(dir, 'exit-wait');
  const cmd = exitCommand(['echo', 'ran'], exitFile, false, claim);
  const claimer = spawn('sleep', ['30']);
  fs.writeFileSync(claim, `${claimer.pid}\n`);
  try {
    // The claimer cleans up (removes the exit file) while the exit command waits: it ends without running.
    fs.writeFileSync(exitFile, '0');
    let pending = runsAsync(cmd.exitCommand);
    await new Promise((r) => setTimeout(r, 300));
    fs.rmSync(exitFile);
    assert.equal(await pending, false, 'claimer cleaned up: skipped');
    // The claimer is killed before it cleans up (the exit file stays): the exit command runs the cleanup.
    fs.writeFileSync(exitFile, '0');
    pending = runsAsync(cmd.exitCommand);
    await new Promise((r) => setTimeout(r, 300));
    claimer.kill('SIGKILL');
    assert.equal(await pending, true, 'claimer killed: runs');
  } finally {
    claimer.kill('SIGKILL');
    fs.rmSync(exitFile, {force: true});
  }
});

test('foreground: after a delay, and only if the exit file is still there', () => {
  const exitFile = path.join(dir, 'exit-fg');
  const cmd = exitCommand(['echo', 'ran'], exitFile, true, cleanupClaimFile(dir));
  assert.equal(cmd.exitDelaySeconds, 1);
  fs.writeFileSync(exitFile, '0');
  assert.ok(runs(cmd.exitCommand));
  fs.rmSync(exitFile);
  assert.ok(!runs(cmd.exitCommand), 'the foreground CLI cleaned up already');
});
