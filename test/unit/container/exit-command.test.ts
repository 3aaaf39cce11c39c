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

test('detached: the cleanup runs unless a live process claimed it', async () => {
  const claim = cleanupClaimFile(dir);
  const cmd = exitCommand(['echo', 'ran'], path.join(dir, 'exit'), false, claim);
  assert.equal(cmd.exitDelaySeconds, undefined, 'at once');
  fs.rmSync(claim, {force: true});
  assert.ok(runs(cmd.exitCommand), 'no claim: runs');
  // A claimer that died (a stop killed midway): the cleanup is not lost.
  const gone = spawn('true');
  await new Promise((r) => gone.on('exit', r));
  fs.writeFileSync(claim, `${gone.pid}\n`);
  assert.ok(runs(cmd.exitCommand), 'dead claimer: runs');
  fs.writeFileSync(claim, 'garbage\n');
  assert.ok(runs(cmd.exitCommand), 'unreadable claim: runs');
  fs.writeFileSync(claim, `${process.pid}\n`);
  assert.ok(!runs(cmd.exitCommand), 'live claimer: skipped');
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
