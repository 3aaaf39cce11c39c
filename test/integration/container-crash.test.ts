/**
 * kill -9 of skiff in the middle of container work, and a simulated reboot
 * (runroot emptied while containers run): the next invocations see a
 * consistent state and can clean everything up.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import {execFileSync, spawn} from 'node:child_process';
import {makeStore, type Store} from '../helpers/skiff';
import {startRegistry, type TestRegistry} from '../helpers/registry';
import {buildBusybox, pushImage} from '../helpers/images';

let reg: TestRegistry;
let s: Store;
let IMG: string;
const seed = Number(process.env.SKIFF_TEST_SEED ?? Date.now() % 100000);
let rnd = seed;
const rand = () => ((rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648);

before(async () => {
  reg = await startRegistry();
  const bb = await buildBusybox();
  IMG = `${reg.host}/busybox:latest`;
  await pushImage(bb.layoutDir, bb.ref, IMG, reg);
  s = makeStore();
  assert.equal((await s.run(['pull', '-q', '--tls-verify=false', IMG])).code, 0);
});

after(async () => {
  await s?.run(['rm', '-a', '-f']);
  await s?.cleanup();
  await reg?.stop();
});

const mounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(s.dir)).length;
const conmons = () => {
  try {
    return execFileSync('pgrep', ['-f', `conmon.*${s.dir}`]).toString().trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

describe('crash recovery', () => {
  test(`kill -9 during run -d, stop and rm: every later command works and rm -a -f leaves nothing (seed ${seed})`, async () => {
    for (let i = 0; i < 10; i++) {
      const verb = i % 3;
      let args: string[];
      if (verb === 0) args = ['run', '-d', IMG, 'sleep', '30'];
      else {
        const id = (await s.run(['run', '-d', IMG, 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done'])).stdout.trim();
        args = verb === 1 ? ['stop', id] : ['rm', '-f', id];
      }
      const child = s.start(args);
      const delay = Math.floor(rand() * 250);
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode ? r(null) : child.on('exit', r)));
      const ps = await s.run(['ps', '-a', '--format', '{{.ID}} {{.State}}']);
      assert.equal(ps.code, 0, `ps after kill of ${args[0]} at ${delay} ms: ${ps.stderr}`);
      for (const line of ps.stdout.trim().split('\n').filter(Boolean)) {
        assert.match(line, / (created|running|exited|stopping)$/, `no container stuck in a transitional state: ${line}`);
      }
    }
    const rm = await s.run(['rm', '-a', '-f']);
    assert.equal(rm.code, 0, rm.stderr);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await s.run(['ps', '-a', '-q'])).stdout, '');
    assert.equal(mounts(), 0, 'no leaked mounts');
    assert.equal(conmons(), 0, 'no conmon left');
  });

  test('a foreground run killed after its container exits is cleaned up by conmon without any later command', async () => {
    // The foreground path cleans up itself, so conmon's exit command only
    // runs (after a delay) when the exit file is still there: the CLI died.
    const child = s.start(['run', '--name', 'orphaned-fg', IMG, 'sleep', '2']);
    const stateFile = () => {
      for (const id of fs.readdirSync(`${s.root}/containers`)) {
        try {
          const cfg = JSON.parse(fs.readFileSync(`${s.root}/containers/${id}/config.json`, 'utf8'));
          if (cfg.name === 'orphaned-fg') return JSON.parse(fs.readFileSync(`${s.root}/containers/${id}/state.json`, 'utf8'));
        } catch {
          /* another record coming or going */
        }
      }
      return undefined;
    };
    // Read the record files directly: any skiff command would reconcile on read and hide a missing cleanup.
    // Kill the CLI once the container runs (before, a killed start leaves it 'created': another test).
    const started = Date.now() + 20_000;
    while (stateFile()?.status !== 'running' && Date.now() < started) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    let st = stateFile();
    while (Date.now() < deadline && !(st?.status === 'exited' && st?.mounted === false)) {
      await new Promise((r) => setTimeout(r, 200));
      st = stateFile();
    }
    assert.equal(st?.status, 'exited', JSON.stringify(st));
    assert.equal(st?.mounted, false, 'unmounted by the exit command');
    assert.equal(mounts(), 0);
    assert.equal((await s.run(['rm', 'orphaned-fg'])).code, 0);
  });

  test('a stop or rm killed between its container exit and the teardown: conmon cleans up', async () => {
    // stop and rm claim the cleanup (their pid in the bundle's cleanup-claim file) so that
    // conmon's exit command need not start skiff. One killed after the container died and before
    // it tore it down is simulated with a stand-in claimer killed at that moment: the exit
    // command, waiting on the claimer, must then do the teardown (before session 9 it had
    // already given up, leaving the rootfs mounted until a later command touched the container).
    const id = (await s.run(['run', '-d', '--name', 'claimed', IMG, 'sleep', '1000'])).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const claimer = spawn('sleep', ['1000']);
    try {
      fs.writeFileSync(`${s.runroot}/containers/${id}/cleanup-claim`, `${claimer.pid}\n`);
      const pid = Number((await s.run(['inspect', '--format', '{{.State.Pid}}', id])).stdout.trim());
      assert.ok(pid > 0);
      process.kill(pid, 'SIGKILL');
      // conmon records the exit and starts the exit command, which waits while the claimer lives.
      const exitFile = `${s.runroot}/exits/${id}`;
      for (const end = Date.now() + 10_000; !fs.existsSync(exitFile) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
      assert.ok(fs.existsSync(exitFile), 'conmon wrote the exit file');
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(mounts() > 0, 'still mounted while the claimer lives');
      claimer.kill('SIGKILL');
      const state = () => JSON.parse(fs.readFileSync(`${s.root}/containers/${id}/state.json`, 'utf8'));
      for (const end = Date.now() + 20_000; (mounts() > 0 || state().mounted) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 100));
      assert.equal(mounts(), 0, 'unmounted by the exit command');
      assert.equal(state().status, 'exited');
      assert.equal(state().mounted, false);
      assert.equal(fs.existsSync(exitFile), false);
    } finally {
      claimer.kill('SIGKILL');
    }
    assert.equal((await s.run(['rm', 'claimed'])).code, 0);
  });

  test('a foreground run leaves no cleanup process behind when it cleaned up itself', async () => {
    const r = await s.run(['run', '--rm', '--name', 'fg-clean', IMG, 'true']);
    assert.equal(r.code, 0, r.stderr);
    const conmonOf = () => {
      try {
        return execFileSync('pgrep', ['-f', `conmon.* -n fg-clean `]).toString().trim();
      } catch {
        return '';
      }
    };
    const deadline = Date.now() + 15_000; // conmon waits a second, then runs the guard
    while (conmonOf() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
    assert.equal(conmonOf(), '', 'conmon gone');
    let cleanups = '';
    try {
      cleanups = execFileSync('pgrep', ['-af', `container cleanup.*`]).toString();
    } catch {
      /* none */
    }
    assert.ok(!cleanups.includes(s.dir), `no cleanup command ran for this store: ${cleanups}`);
  });

  test('a killed start is finished by the next start', async () => {
    const id = (await s.run(['create', IMG, 'sh', '-c', 'echo ran'])).stdout.trim();
    for (let i = 0; i < 4; i++) {
      const child = s.start(['start', id]);
      await new Promise((r) => setTimeout(r, 40 + Math.floor(rand() * 120)));
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode ? r(null) : child.on('exit', r)));
    }
    await new Promise((r) => setTimeout(r, 300));
    const start = await s.run(['start', '-a', id]);
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stdout, /ran/);
    assert.equal((await s.run(['rm', id])).code, 0);
    assert.equal(mounts(), 0);
  });

  test('after a reboot (runroot emptied, processes gone) running containers show as exited and start again', async () => {
    const id = (await s.run(['run', '-d', '--name', 'survivor', IMG, 'sleep', '100'])).stdout.trim();
    // Simulate the reboot: every process of the container dies, mounts vanish, the runroot is a new tmpfs.
    const pid = JSON.parse((await s.run(['inspect', id])).stdout)[0].State.ConmonPid;
    // conmon first, or it starts the exit command, which races the unmounts below.
    process.kill(pid, 'SIGKILL');
    execFileSync('runc', ['--root', `${s.runroot}/runtime`, 'kill', id, 'KILL']);
    await new Promise((r) => setTimeout(r, 300));
    for (const m of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(s.runroot))) {
      execFileSync('umount', ['-l', m]);
    }
    fs.rmSync(s.runroot, {recursive: true, force: true});
    const st = await s.run(['ps', '-a', '--format', '{{.Names}} {{.State}}']);
    assert.match(st.stdout, /^survivor exited$/m);
    const again = await s.run(['start', 'survivor']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await s.run(['inspect', '--format', '{{.State.Status}}', 'survivor'])).stdout, 'running\n');
    assert.equal((await s.run(['rm', '-f', 'survivor'])).code, 0);
    assert.equal(mounts(), 0);
  });
});
