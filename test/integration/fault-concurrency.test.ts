/**
 * Concurrency: 100 skiff invocations started at once on one store, mixing
 * run --rm, create (named and generated names), rm, ps, inspect, pull of the
 * image every container uses, volume create/rm, networking on a test-private
 * network (run --rm -p, run -d, network connect/disconnect), and system check
 * --repair (which must find nothing to repair in work that is merely in
 * progress). Zero failures a serial run would not have, no duplicate names,
 * no duplicate addresses among the running containers, no lost containers,
 * no network leftovers once they are removed, and a store `system check`
 * finds sound. Prints the throughput.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {makeStore, type Store, type RunResult} from '../helpers/skiff';
import {startRegistry, type TestRegistry} from '../helpers/registry';
import {buildBusybox, pushImage} from '../helpers/images';
import {rng, verifyStore, mountsUnder} from '../helpers/fault';
import {leaksOfRemoved, newNetwork, type TestNetwork} from '../helpers/network';

const N = Number(process.env.SKIFF_FAULT_CONCURRENCY ?? 100);
const R = rng();
let reg: TestRegistry;
let s: Store;
let BB: string;
let NET: TestNetwork;

before(async () => {
  reg = await startRegistry();
  const bb = await buildBusybox();
  BB = `${reg.host}/busybox:latest`;
  await pushImage(bb.layoutDir, bb.ref, BB, reg);
  s = makeStore();
  assert.equal((await s.run(['pull', '-q', '--tls-verify=false', BB])).code, 0);
  NET = await newNetwork(s);
});

after(async () => {
  await s?.run(['rm', '-a', '-f', '-t', '0']);
  if (NET) await s.run(['network', 'rm', '-f', NET.name]);
  await s?.cleanup();
  await reg?.stop();
});

interface Op {
  kind: string;
  /** One or more invocations run in sequence (e.g. volume create then rm). */
  steps: string[][];
  /** Checks the outputs; returns a problem or undefined. */
  expect?: (results: RunResult[]) => string | undefined;
  /** The name of the container it leaves behind. */
  leaves?: string;
}

describe('fault: concurrency', () => {
  test(`${N} concurrent invocations: no failures, no duplicate names, no lost containers (SKIFF_FAULT_SEED=${R.seed})`, async (t) => {
    const keep = (await s.run(['create', '--name', 'inspect-me', BB, 'true'])).stdout.trim();
    assert.ok(keep);
    const kinds: Array<(i: number) => Op> = [
      (i) => ({kind: 'run --rm', steps: [['run', '--rm', BB, 'echo', `hello-${i}`]], expect: ([r]) => (r.stdout.trim() === `hello-${i}` ? undefined : `output ${JSON.stringify(r.stdout)}`)}),
      (i) => ({kind: 'create+rm', steps: [['create', '--name', `gone-${i}`, BB, 'true'], ['rm', `gone-${i}`]]}),
      (i) => ({kind: 'create', steps: [['create', '--name', `stays-${i}`, BB, 'true']], leaves: `stays-${i}`}),
      // Networking: CNI ADD/DEL, host-local leases and port rules under load.
      (i) => ({kind: 'run --rm --network -p', steps: [['run', '--rm', '--network', NET.name, '-p', '80', BB, 'echo', `net-${i}`]], expect: ([r]) => (r.stdout.trim() === `net-${i}` ? undefined : `output ${JSON.stringify(r.stdout)}`)}),
      (i) => ({kind: 'run -d --network -p', steps: [['run', '-d', '--name', `netrun-${i}`, '--network', NET.name, '-p', '80', BB, 'sleep', '300']], leaves: `netrun-${i}`}),
      (i) => ({kind: 'network connect+disconnect', steps: [['run', '-d', '--name', `hop-${i}`, BB, 'sleep', '300'], ['network', 'connect', NET.name, `hop-${i}`], ['network', 'disconnect', NET.name, `hop-${i}`]], leaves: `hop-${i}`}),
      (i) => ({kind: 'network connect', steps: [['run', '-d', '--name', `join-${i}`, BB, 'sleep', '300'], ['network', 'connect', NET.name, `join-${i}`]], leaves: `join-${i}`}),
      () => ({kind: 'create (generated name)', steps: [['create', '--label', 'gen=1', BB, 'true']]}),
      () => ({kind: 'ps', steps: [['ps', '-a', '--format', '{{.Names}}']], expect: ([r]) => (r.stdout.includes('inspect-me') ? undefined : 'inspect-me missing from ps')}),
      () => ({kind: 'inspect', steps: [['inspect', '--format', '{{.Id}}', 'inspect-me']], expect: ([r]) => (r.stdout.trim() === keep ? undefined : `inspect gave ${r.stdout}`)}),
      () => ({kind: 'pull', steps: [['pull', '-q', '--tls-verify=false', BB]]}),
      (i) => ({kind: 'volume create+rm', steps: [['volume', 'create', `vol-${i}`], ['volume', 'rm', `vol-${i}`]]}),
      (i) => ({kind: 'volume create', steps: [['volume', 'create', `vkeep-${i}`]]}),
      // check --repair beside everything else: work in progress must never look like damage to it.
      () => ({kind: 'system check --repair', steps: [['system', 'check', '--repair']], expect: ([r]) => (r.stdout === '' ? undefined : `repaired live work: ${r.stdout.trim()}`)}),
    ];
    const ops: Op[] = Array.from({length: N}, (_, i) => kinds[R.int(kinds.length)](i));
    let invocations = 0;
    const failures: string[] = [];
    const t0 = Date.now();
    await Promise.all(
      ops.map(async (op) => {
        const results: RunResult[] = [];
        for (const step of op.steps) {
          const r = await s.run(step, {timeoutMs: 300_000});
          invocations++;
          results.push(r);
          if (r.code !== 0) {
            failures.push(`${op.kind}: skiff ${step.join(' ')} exited ${r.code}: ${r.stderr.trim()}${r.stdout.trim() ? ` (stdout: ${r.stdout.trim()})` : ''}`);
            return;
          }
        }
        const p = op.expect?.(results);
        if (p) failures.push(`${op.kind}: ${p}`);
      }),
    );
    const secs = (Date.now() - t0) / 1000;
    assert.deepEqual(failures, []);

    // No lost containers, no duplicates, nothing extra.
    const ps = (await s.run(['ps', '-a', '--format', '{{.Names}} {{.Labels}}'])).stdout.split('\n').filter(Boolean);
    const names = ps.map((l) => l.split(' ')[0]);
    assert.equal(new Set(names).size, names.length, `duplicate names: ${names.join(', ')}`);
    const want = ['inspect-me', ...ops.flatMap((o) => (o.leaves ? [o.leaves] : []))].sort();
    const named = names.filter((n) => n === 'inspect-me' || /^(stays|gone|netrun|hop|join)-\d+$/.test(n)).sort();
    assert.deepEqual(named, want);
    const generated = ops.filter((o) => o.kind === 'create (generated name)').length;
    assert.equal(names.length - named.length, generated, `generated-name containers: ${ps.join(' | ')}`);
    const vols = (await s.run(['volume', 'ls', '-q'])).stdout.split('\n').filter(Boolean).sort();
    assert.deepEqual(vols, ops.flatMap((o, i) => (o.kind === 'volume create' ? [`vkeep-${i}`] : [])).sort());
    const images = (await s.run(['images', '-q'])).stdout.split('\n').filter(Boolean);
    assert.equal(images.length, 1);
    const v = await verifyStore(s);
    assert.deepEqual(v.repaired, [], 'a sound store needs no repair');
    assert.deepEqual(v.problems, []);
    // No two running containers share an address on a network; each is on the networks it should be.
    const ids = (await s.run(['ps', '-a', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean);
    const running = (await s.run(['ps', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean);
    const addrs = new Map<string, string>();
    let addresses = 0;
    for (const id of running) {
      const ins = JSON.parse((await s.run(['inspect', id])).stdout)[0];
      const nets: Record<string, {IPAddress: string}> = ins.NetworkSettings.Networks ?? {};
      const onNet = Object.keys(nets).includes(NET.name);
      const name: string = ins.Name;
      assert.equal(onNet, /^(netrun|join)-/.test(name), `${name} on networks ${Object.keys(nets).join(', ')}`);
      for (const [net, n] of Object.entries(nets)) {
        const key = `${net} ${n.IPAddress}`;
        assert.ok(n.IPAddress, `${name} has no address on ${net}`);
        assert.ok(!addrs.has(key), `${name} and ${addrs.get(key)} share ${key}`);
        addrs.set(key, name);
        addresses++;
      }
    }
    assert.equal((await s.run(['rm', '-a', '-f', '-t', '0'])).code, 0);
    assert.deepEqual(mountsUnder(s.dir), []);
    assert.deepEqual(leaksOfRemoved(s, ids, new Set(), NET), []);
    const byKind = new Map<string, number>();
    for (const o of ops) byKind.set(o.kind, (byKind.get(o.kind) ?? 0) + 1);
    t.diagnostic(`concurrency: ${N} concurrent operations, ${invocations} invocations in ${secs.toFixed(1)} s (${(invocations / secs).toFixed(1)} invocations/s), 0 failures, 0 duplicate names, 0 duplicate addresses among ${addresses} on ${running.length} running containers, 0 lost containers, 0 network leftovers [${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}]`);
  });
});
