/**
 * Concurrency: 100 skiff invocations started at once on one store, mixing
 * run --rm, create (named and generated names), rm, ps, inspect, pull of the
 * image every container uses, volume create/rm, and system check --repair
 * (which must find nothing to repair in work that is merely in progress). Zero failures a serial
 * run would not have, no duplicate names, no lost containers, and a store
 * `system check` finds sound. Prints the throughput.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {makeStore, type Store, type RunResult} from '../helpers/skiff';
import {startRegistry, type TestRegistry} from '../helpers/registry';
import {buildBusybox, pushImage} from '../helpers/images';
import {rng, verifyStore, mountsUnder} from '../helpers/fault';

const N = Number(process.env.SKIFF_FAULT_CONCURRENCY ?? 100);
const R = rng();
let reg: TestRegistry;
let s: Store;
let BB: string;

before(async () => {
  reg = await startRegistry();
  const bb = await buildBusybox();
  BB = `${reg.host}/busybox:latest`;
  await pushImage(bb.layoutDir, bb.ref, BB, reg);
  s = makeStore();
  assert.equal((await s.run(['pull', '-q', '--tls-verify=false', BB])).code, 0);
});

after(async () => {
  await s?.run(['rm', '-a', '-f', '-t', '0']);
  await s?.cleanup();
  await reg?.stop();
});

interface Op {
  kind: string;
  /** One or more invocations run in sequence (e.g. volume create then rm). */
  steps: string[][];
  /** Checks the outputs; returns a problem or undefined. */
  expect?: (results: RunResult[]) => string | undefined;
}

describe('fault: concurrency', () => {
  test(`${N} concurrent invocations: no failures, no duplicate names, no lost containers (SKIFF_FAULT_SEED=${R.seed})`, async (t) => {
    const keep = (await s.run(['create', '--name', 'inspect-me', BB, 'true'])).stdout.trim();
    assert.ok(keep);
    const kinds: Array<(i: number) => Op> = [
      (i) => ({kind: 'run --rm', steps: [['run', '--rm', BB, 'echo', `hello-${i}`]], expect: ([r]) => (r.stdout.trim() === `hello-${i}` ? undefined : `output ${JSON.stringify(r.stdout)}`)}),
      (i) => ({kind: 'create+rm', steps: [['create', '--name', `gone-${i}`, BB, 'true'], ['rm', `gone-${i}`]]}),
      (i) => ({kind: 'create', steps: [['create', '--name', `stays-${i}`, BB, 'true']]}),
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
            failures.push(`${op.kind}: skiff ${step.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
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
    const want = ['inspect-me', ...ops.flatMap((o, i) => (o.kind === 'create' ? [`stays-${i}`] : []))].sort();
    const named = names.filter((n) => n === 'inspect-me' || n.startsWith('stays-') || n.startsWith('gone-')).sort();
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
    assert.equal((await s.run(['rm', '-a', '-f'])).code, 0);
    assert.deepEqual(mountsUnder(s.dir), []);
    const byKind = new Map<string, number>();
    for (const o of ops) byKind.set(o.kind, (byKind.get(o.kind) ?? 0) + 1);
    t.diagnostic(`concurrency: ${N} concurrent operations, ${invocations} invocations in ${secs.toFixed(1)} s (${(invocations / secs).toFixed(1)} invocations/s), 0 failures, 0 duplicate names, 0 lost containers [${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}]`);
  });
});
