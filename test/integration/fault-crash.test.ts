/**
 * Crash injection: kill -9 of skiff at random moments of pull (download and
 * unpack), create, start, run, stop, rm, commit and network setup (run -d on
 * a user network with -p, network connect/disconnect), at least 100 kills
 * per run. After
 * every batch and at the end: `system check --repair` leaves a store a second
 * check finds clean, no mount leaks, no lock is held by a dead process, no
 * container is stuck in a transitional state, no removed container left a
 * veth, iptables rule, netns mount or lease behind, every image `images`
 * lists can be inspected, and every verb still works.
 *
 * The kill schedule is seeded: the seed is printed; SKIFF_FAULT_SEED=N replays it.
 * Extension point: add a Scenario to SCENARIOS (commit, network create/connect, exec...)
 * as those commands land; each names its verb, prepares its target (not killed)
 * and returns the argv to kill.
 *
 * Then the reboot simulation: the runroot is emptied (and what skiff mounted
 * there unmounted) while containers run; the next invocation shows them exited
 * with consistent records, `start --all --filter restart-policy=always` brings
 * back those with --restart=always, `start --all` the rest.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import {execFileSync} from 'node:child_process';
import {makeStore, type Store} from '../helpers/skiff';
import {startRegistry, type TestRegistry} from '../helpers/registry';
import {buildBusybox, buildMultilayer, pushImage} from '../helpers/images';
import {killAfter, mountsUnder, rng, sleep, verifyStore} from '../helpers/fault';
import {leaksOfRemoved, newNetwork, type TestNetwork} from '../helpers/network';

const KILLS = Number(process.env.SKIFF_FAULT_KILLS ?? 100);
const R = rng();
let reg: TestRegistry;
let s: Store;
let BB: string;
let ML: string;
let NET: TestNetwork;
const TLS = '--tls-verify=false';
const LOOP = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'];

before(async () => {
  reg = await startRegistry();
  const [bb, ml] = await Promise.all([buildBusybox(), buildMultilayer()]);
  BB = `${reg.host}/busybox:latest`;
  ML = `${reg.host}/multilayer:latest`;
  await pushImage(bb.layoutDir, bb.ref, BB, reg);
  await pushImage(ml.layoutDir, ml.ref, ML, reg);
  s = makeStore();
  assert.equal((await s.run(['pull', '-q', TLS, BB])).code, 0);
  NET = await newNetwork(s);
});

after(async () => {
  await s?.run(['rm', '-a', '-f', '-t', '0']);
  if (NET) await s.run(['network', 'rm', '-f', NET.name]);
  await s?.cleanup();
  await reg?.stop();
});

async function must(args: string[]): Promise<string> {
  const r = await s.run(args);
  assert.equal(r.code, 0, `skiff ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

interface Pool {
  /** Containers by state, as the last `ps -a` after a kill saw them. */
  running: string[];
  stopped: string[];
  /** Running containers attached to the test network. */
  onNet: string[];
}

interface Scenario {
  verb: string;
  /** Upper bound of the random kill moment (ms after spawn). */
  maxDelay: number;
  /** Pick or set up what the killed command works on (runs to completion); returns its argv. */
  prepare(pool: Pool): Promise<string[]>;
}

/**
 * The extension point: one entry per verb that can be interrupted. Targets
 * come from the containers earlier (killed) commands left behind, so kills
 * also land on containers in whatever state a previous kill produced.
 */
const SCENARIOS: Scenario[] = [
  {verb: 'pull', maxDelay: 600, prepare: async () => (await s.run(['rmi', '-f', ML]), ['pull', '-q', TLS, ML])},
  {verb: 'create', maxDelay: 250, prepare: async () => ['create', BB, ...LOOP]},
  {verb: 'start', maxDelay: 350, prepare: async (p) => ['start', p.stopped.length ? R.pick(p.stopped) : await must(['create', BB, ...LOOP])]},
  {verb: 'run', maxDelay: 400, prepare: async () => ['run', '-d', BB, ...LOOP]},
  {verb: 'stop', maxDelay: 400, prepare: async (p) => ['stop', '-t', '2', p.running.length ? R.pick(p.running) : await must(['run', '-d', BB, ...LOOP])]},
  {verb: 'rm', maxDelay: 400, prepare: async (p) => ['rm', '-f', p.running.length ? R.pick(p.running) : await must(['run', '-d', BB, ...LOOP])]},
  {verb: 'rm-stopped', maxDelay: 250, prepare: async (p) => ['rm', p.stopped.length ? R.pick(p.stopped) : await must(['create', BB, 'true'])]},
  {verb: 'check-repair', maxDelay: 300, prepare: async () => ['system', 'check', '--repair']},
  // A container with changes (a file written at start) committed: killed while diffing, storing the layer or recording the image.
  {verb: 'commit', maxDelay: 900, prepare: async (p) => ['commit', p.running.length ? R.pick(p.running) : await must(['run', '-d', BB, 'sh', '-c', `head -c 2000000 /dev/urandom > /blob; ${LOOP[2]}`]), `crash-commit:${commits++}`]},
  // Network setup: netns, CNI ADD (bridge, host-local, portmap) on a user network, killed anywhere in it.
  {verb: 'run-net', maxDelay: 700, prepare: async () => ['run', '-d', '--network', NET.name, '-p', '80', BB, ...LOOP]},
  {verb: 'network-connect', maxDelay: 500, prepare: async (p) => ['network', 'connect', NET.name, p.running.length ? R.pick(p.running) : await must(['run', '-d', BB, ...LOOP])]},
  {verb: 'network-disconnect', maxDelay: 500, prepare: async (p) => ['network', 'disconnect', NET.name, p.onNet.length ? R.pick(p.onNet) : await must(['run', '-d', '--network', NET.name, '-p', '80', BB, ...LOOP])]},
];
let commits = 0;

describe('fault: crash injection', () => {
  test(`kill -9 at random moments, ${KILLS} kills (SKIFF_FAULT_SEED=${R.seed})`, async (t) => {
    t.diagnostic(`crash: seed ${R.seed} (replay with SKIFF_FAULT_SEED=${R.seed})`);
    const perVerb = new Map<string, number>();
    let repaired = 0;
    const problems: string[] = [];
    const pool: Pool = {running: [], stopped: [], onNet: []};
    const seen = new Set<string>();
    for (let i = 0; i < KILLS; i++) {
      const sc = SCENARIOS[i % SCENARIOS.length];
      const args = await sc.prepare(pool);
      const delay = R.int(sc.maxDelay);
      await killAfter(s, args, delay);
      perVerb.set(sc.verb, (perVerb.get(sc.verb) ?? 0) + 1);
      // Right after the kill: reading commands work, nothing is stuck.
      const ps = await s.run(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.State}} {{.Networks}}']);
      if (ps.code !== 0) problems.push(`ps after kill of ${sc.verb} at ${delay} ms: ${ps.stderr}`);
      pool.running = [];
      pool.stopped = [];
      pool.onNet = [];
      for (const line of ps.stdout.split('\n').filter(Boolean)) {
        const [id, st, ...nets] = line.split(' ');
        seen.add(id);
        if (st === 'running' && nets.join(' ').split(/[^\w.-]+/).includes(NET.name)) pool.onNet.push(id);
        if (!/^(created|running|exited|paused)$/.test(st)) problems.push(`after kill of ${sc.verb} at ${delay} ms: container ${id.slice(0, 12)} shows transitional state ${st}`);
        (st === 'running' ? pool.running : pool.stopped).push(id);
      }
      if ((i + 1) % 25 === 0 || i === KILLS - 1) {
        await sleep(200); // conmon exit commands of containers the kills stopped
        const v = await verifyStore(s);
        repaired += v.repaired.length;
        for (const p of v.problems) problems.push(`after kill ${i + 1} (${sc.verb} at ${delay} ms): ${p}`);
        if (v.repaired.length) t.diagnostic(`repaired after kill ${i + 1}: ${v.repaired.join(' | ')}`);
        // Keep the store small: remove everything; that must work after any crash.
        const imgs = await s.run(['images', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']);
        if (imgs.code !== 0) problems.push(`images after kill ${i + 1}: ${imgs.stderr}`);
        const commitImages: string[] = [];
        for (const [id, ref] of imgs.stdout.split('\n').filter(Boolean).map((l) => l.split(' '))) {
          const ins = await s.run(['image', 'inspect', '--format', '{{.Id}}', id]);
          if (ins.code !== 0) problems.push(`after kill ${i + 1}: images lists ${id.slice(0, 19)} (${ref}), image inspect fails: ${ins.stderr.trim()}`);
          if (ref.includes('crash-commit')) commitImages.push(ref);
        }
        // Keep the store small: remove everything; that must work after any crash.
        const rm = await s.run(['rm', '-a', '-f', '-t', '0']);
        if (rm.code !== 0) problems.push(`rm -a -f after kill ${i + 1}: ${rm.stderr}`);
        if (commitImages.length) {
          const rmi = await s.run(['rmi', ...commitImages]);
          if (rmi.code !== 0) problems.push(`rmi of committed images after kill ${i + 1}: ${rmi.stderr}`);
        }
        for (const leak of leaksOfRemoved(s, seen, new Set(), NET)) problems.push(`after kill ${i + 1}: network leftover: ${leak}`);
        seen.clear();
        pool.running = [];
        pool.stopped = [];
        pool.onNet = [];
      }
    }
    // Every verb works after all that.
    await must(['pull', '-q', TLS, ML]);
    const id = await must(['create', '--name', 'after-crash', BB, ...LOOP]);
    await must(['start', id]);
    assert.equal(await must(['inspect', '--format', '{{.State.Status}}', 'after-crash']), 'running');
    await must(['stop', '-t', '1', id]);
    await must(['rm', id]);
    assert.equal(await must(['run', '--rm', BB, 'echo', 'alive']), 'alive');
    // commit and networking work after all that.
    const src = await must(['run', '-d', '--network', NET.name, '-p', '80', BB, 'sh', '-c', `echo committed > /marker; ${LOOP[2]}`]);
    await must(['network', 'disconnect', NET.name, src]);
    await must(['network', 'connect', NET.name, src]);
    await sleep(100);
    await must(['commit', src, 'crash-commit:final']);
    assert.equal(await must(['run', '--rm', 'crash-commit:final', 'cat', '/marker']), 'committed');
    await must(['rm', '-f', '-t', '0', src]);
    await must(['rmi', 'crash-commit:final']);
    problems.push(...leaksOfRemoved(s, [src], new Set(), NET).map((l) => `final: network leftover: ${l}`));
    await must(['rmi', ML]);
    const fin = await verifyStore(s);
    problems.push(...fin.problems);
    assert.deepEqual(mountsUnder(s.dir), []);
    t.diagnostic(`crash: ${KILLS} kills (${[...perVerb].map(([v, n]) => `${v} ${n}`).join(', ')}), ${repaired} findings repaired, ${problems.length} inconsistencies`);
    assert.deepEqual(problems, []);
  });

  test('reboot: runroot emptied while containers run → exited with consistent records; start --all brings them back', async (t) => {
    const always = await must(['run', '-d', '--name', 'boot-always', '--restart', 'always', BB, ...LOOP]);
    const plain = await must(['run', '-d', '--name', 'boot-plain', BB, ...LOOP]);
    await must(['create', '--name', 'boot-created', BB, 'true']);
    // The reboot: every process of the containers dies, the runroot (a tmpfs at boot) is empty again.
    for (const id of [always, plain]) {
      const st = JSON.parse(await must(['inspect', id]))[0].State;
      // conmon first: killed after its container, it would start the exit
      // command, whose cleanup then races the unmounts below (no reboot does that).
      process.kill(st.ConmonPid, 'SIGKILL');
      try {
        execFileSync('runc', ['--root', `${s.runroot}/runtime`, 'kill', id, 'KILL']);
      } catch {
        /* already gone */
      }
    }
    await sleep(300);
    for (const m of mountsUnder(s.runroot).sort().reverse()) execFileSync('umount', ['-l', m]);
    fs.rmSync(s.runroot, {recursive: true, force: true});

    const ps = await must(['ps', '-a', '--format', '{{.Names}} {{.State}}']);
    assert.match(ps, /^boot-always exited$/m);
    assert.match(ps, /^boot-plain exited$/m);
    assert.match(ps, /^boot-created created$/m);
    const st = JSON.parse(await must(['inspect', 'boot-plain']))[0].State;
    assert.equal(st.Running, false);
    assert.equal(st.Pid, 0);
    // The records are settled (mounted flags, states) by check --repair, which reports what it did.
    const v = await verifyStore(s);
    assert.deepEqual(v.problems, []);

    const pol = await s.run(['start', '--all', '--filter', 'restart-policy=always']);
    assert.equal(pol.code, 0, pol.stderr);
    assert.equal(await must(['inspect', '--format', '{{.State.Status}}', 'boot-always']), 'running');
    assert.equal(await must(['inspect', '--format', '{{.State.Status}}', 'boot-plain']), 'exited');
    await must(['start', '--all']);
    assert.equal(await must(['inspect', '--format', '{{.State.Status}}', 'boot-plain']), 'running');
    const after = await verifyStore(s);
    assert.deepEqual(after.problems, []);
    await must(['rm', '-f', '-t', '0', 'boot-always', 'boot-plain', 'boot-created']);
    assert.deepEqual(mountsUnder(s.dir), []);
    t.diagnostic(`reboot: 2 running containers lost, ${v.repaired.length} records settled, 2 restarted, 0 inconsistencies`);
  });
});
