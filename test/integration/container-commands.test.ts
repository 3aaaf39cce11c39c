/**
 * The container commands beyond the basic lifecycle, on real conmon + runc:
 * ps (filters, --format json and table templates, -n/-l, --no-trunc), logs
 * (--since/--until/--tail/-t, -f on a running container), wait --condition,
 * start -a, restart, rename, container prune, and rmi of an image in use.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {SKIFF_BIN, type RunResult, type Store} from '../helpers/skiff';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';

let fx: BusyboxStore;
let s: Store;
let IMG: string;

before(async () => {
  fx = await busyboxStore();
  ({store: s, image: IMG} = fx);
});

after(async () => {
  await fx?.close();
});

const mounts = () => fx.mounts();
const ok = async (args: string[]) => {
  const r = await s.run(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const names = async (...args: string[]) => (await ok(['ps', ...args, '--format', '{{.Names}}'])).trim().split('\n').filter(Boolean);
const waitFor = async (cond: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
};

/** skiff running in the background with its output captured. */
function background(args: string[]): {done: Promise<RunResult>; stdout: () => string} {
  const child = spawn(SKIFF_BIN, ['--root', s.root, '--runroot', s.runroot, ...args], {env: s.env, stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const done = new Promise<RunResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({code: code ?? -1, stdout, stderr});
    });
  });
  return {done, stdout: () => stdout};
}

describe('ps', () => {
  let ids: Record<string, string>;

  before(async () => {
    // c1 created (with a named volume), c2 exited 3, c3 running: created in that order.
    ids = {};
    ids.c1 = (await ok(['create', '--name', 'c1', '-l', 'tier=db', '-v', 'psvol:/data', IMG, 'true'])).trim();
    const c2 = await s.run(['run', '--name', 'c2', '-l', 'tier=web', '-l', 'x', IMG, 'sh', '-c', 'exit 3']);
    assert.equal(c2.code, 3);
    ids.c2 = (await ok(['inspect', '--format', '{{.Id}}', 'c2'])).trim();
    ids.c3 = (await ok(['run', '-d', '--name', 'c3', IMG, 'sleep', '100'])).trim();
  });

  after(async () => {
    await s.run(['rm', '-f', 'c1', 'c2', 'c3']);
    await s.run(['volume', 'rm', 'psvol']);
  });

  test('filters: name, id, status, exited, ancestor, label, before, since, volume', async () => {
    assert.deepEqual(await names(), ['c3'], 'running only by default');
    assert.deepEqual(await names('-a'), ['c3', 'c2', 'c1'], 'newest first');
    const imageId = (await ok(['inspect', '--format', '{{.Image}}', 'c1'])).trim();
    const cases: Array<[string[], string[]]> = [
      [['name=c1'], ['c1']],
      [['name=^c[12]$'], ['c2', 'c1']],
      [['name=nomatch'], []],
      [[`id=${ids.c2.slice(0, 6)}`], ['c2']],
      [[`id=${ids.c2}`], ['c2']],
      [['status=running'], ['c3']],
      [['status=created'], ['c1']],
      [['status=exited'], ['c2']],
      [['status=created', 'status=exited'], ['c2', 'c1']],
      [['exited=3'], ['c2']],
      [['exited=0'], []],
      [[`ancestor=${IMG}`], ['c3', 'c2', 'c1']],
      [[`ancestor=${imageId.slice(0, 12)}`], ['c3', 'c2', 'c1']],
      [['ancestor=other/image'], []],
      [['label=tier'], ['c2', 'c1']],
      [['label=tier=web'], ['c2']],
      [['label=tier=web', 'label=x'], ['c2']],
      [['label=tier=db', 'label=x'], []],
      [['before=c3'], ['c2', 'c1']],
      [['before=c2'], ['c1']],
      [['since=c1'], ['c3', 'c2']],
      [[`since=${ids.c2.slice(0, 12)}`], ['c3']],
      [['volume=psvol'], ['c1']],
      [['volume=/data'], ['c1']],
      [['name=c', 'status=exited'], ['c2']],
    ];
    for (const [filters, want] of cases) {
      const got = await names('-a', ...filters.flatMap((f) => ['--filter', f]));
      assert.deepEqual(got, want, filters.join(' '));
    }
    // status= and exited= imply -a, as in podman.
    assert.deepEqual(await names('--filter', 'status=exited'), ['c2']);
    for (const bad of ['status=bogus', 'nokey=1', 'noequals', 'before=nosuch']) {
      const r = await s.run(['ps', '-a', '--filter', bad]);
      assert.equal(r.code, 125, bad);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  test('-q, --no-trunc, -n and -l', async () => {
    assert.equal(await ok(['ps', '-q']), `${ids.c3.slice(0, 12)}\n`);
    assert.equal(await ok(['ps', '-q', '--no-trunc']), `${ids.c3}\n`);
    assert.equal(await ok(['ps', '-a', '-q']), [ids.c3, ids.c2, ids.c1].map((i) => i.slice(0, 12) + '\n').join(''));
    assert.deepEqual(await names('-n', '2'), ['c3', 'c2']);
    assert.deepEqual(await names('--last', '1'), ['c3']);
    assert.deepEqual(await names('-l'), ['c3']);
    assert.deepEqual(await names('-l', '--filter', 'status=created'), ['c1'], '-l applies after the filters');
    const trunc = await ok(['ps', '-a', '--filter', 'name=c2', '--format', '{{.ID}} {{.Command}}']);
    assert.equal(trunc, `${ids.c2.slice(0, 12)} sh -c exit 3\n`);
    const long = await ok(['ps', '-a', '--no-trunc', '--filter', 'name=c2', '--format', '{{.ID}}']);
    assert.equal(long, `${ids.c2}\n`);
  });

  test('--format json has podman fields; Go templates and table headers', async () => {
    const all = JSON.parse(await ok(['ps', '-a', '--format', 'json']));
    assert.equal(all.length, 3);
    const c2 = all.find((c: {Names: string[]}) => c.Names[0] === 'c2');
    assert.equal(c2.Id, ids.c2);
    assert.deepEqual(c2.Names, ['c2']);
    assert.equal(c2.Image, IMG);
    assert.match(c2.ImageID, /^[0-9a-f]{64}$/);
    assert.deepEqual(c2.Command, ['sh', '-c', 'exit 3']);
    assert.equal(c2.State, 'exited');
    assert.match(c2.Status, /^Exited \(3\) /);
    assert.equal(c2.ExitCode, 3);
    assert.equal(c2.Exited, true);
    assert.equal(c2.Pid, 0);
    assert.deepEqual(c2.Labels, {...c2.Labels, tier: 'web', x: ''});
    assert.equal(typeof c2.Created, 'number');
    assert.ok(c2.ExitedAt >= c2.StartedAt && c2.StartedAt >= c2.Created, JSON.stringify(c2));
    assert.equal(c2.AutoRemove, false);
    const c3 = all.find((c: {Names: string[]}) => c.Names[0] === 'c3');
    assert.equal(c3.State, 'running');
    assert.ok(c3.Pid > 0);
    assert.equal(c3.Exited, false);
    const c1 = all.find((c: {Names: string[]}) => c.Names[0] === 'c1');
    assert.deepEqual(c1.Mounts, ['/data']);
    assert.equal(c1.State, 'created');
    assert.deepEqual(JSON.parse(await ok(['ps', '--filter', 'name=nomatch', '--format', 'json'])), []);

    const table = (await ok(['ps', '-a', '--format', 'table {{.ID}}\t{{.Names}}\t{{.Status}}'])).split('\n');
    assert.match(table[0], /^CONTAINER ID\s+NAMES\s+STATUS\s*$/);
    assert.match(table[1], new RegExp(`^${ids.c3.slice(0, 12)}\\s+c3\\s+Up (Less than a second|\\d+ \\w+) ago`), 'podman 4.3 says "Up 2 seconds ago"');
    assert.match(table[2], /\s+c2\s+Exited \(3\) /);
    assert.match(table[3], /\s+c1\s+Created\s*$/);
    const plain = await ok(['ps', '-a', '--format', '{{.Names}}:{{.State}}:{{.Image}}']);
    assert.equal(plain, `c3:running:${IMG}\nc2:exited:${IMG}\nc1:created:${IMG}\n`);
    const defaultTable = (await ok(['ps'])).split('\n');
    assert.match(defaultTable[0], /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\s*$/);
    assert.equal((await ok(['ps', '--noheading'])).split('\n').filter(Boolean).length, 1);
    assert.equal((await s.run(['ps', '--format', '{{.Nope'])).code, 125);
  });
});

describe('logs', () => {
  test('--tail, -t, --since and --until', async () => {
    const r = await s.run(['run', '--name', 'lg', IMG, 'sh', '-c', 'echo one; echo two; sleep 1.2; echo three; echo err >&2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await ok(['logs', 'lg']), 'one\ntwo\nthree\n');
    assert.equal((await s.run(['logs', 'lg'])).stderr, 'err\n');
    const tail = await s.run(['logs', '--tail', '2', 'lg']);
    assert.equal(tail.stdout, 'three\n');
    assert.equal(tail.stderr, 'err\n');
    assert.equal(await ok(['logs', '--tail', '0', 'lg']), '');
    const stamped = (await ok(['logs', '-t', 'lg'])).trim().split('\n');
    assert.equal(stamped.length, 3);
    const times = stamped.map((l) => {
      const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (\S+)$/.exec(l);
      assert.ok(m, l);
      return {t: Date.parse(m[1]), text: m[2]};
    });
    assert.deepEqual(times.map((x) => x.text), ['one', 'two', 'three']);
    assert.ok(times[2].t - times[1].t >= 1000, 'the sleep is between two and three');
    const mid = new Date(times[1].t + 500).toISOString();
    assert.equal(await ok(['logs', '--since', mid, 'lg']), 'three\n');
    assert.equal(await ok(['logs', '--until', mid, 'lg']), 'one\ntwo\n');
    assert.equal((await s.run(['logs', '--until', mid, 'lg'])).stderr, '', 'stderr line is after mid');
    assert.equal(await ok(['logs', '--since', String(Math.floor(times[0].t / 1000) - 5), 'lg']), 'one\ntwo\nthree\n', 'unix seconds');
    assert.equal(await ok(['logs', '--since', '10m', 'lg']), 'one\ntwo\nthree\n', 'a duration');
    assert.equal((await s.run(['logs', '--since', 'yesterday-ish', 'lg'])).code, 125);
    assert.equal((await s.run(['logs', 'nosuch'])).code, 125);
    await ok(['rm', 'lg']);
  });

  test('-f follows a running container until it exits', async () => {
    const dir = fs.mkdtempSync(path.join(s.dir, 'follow-'));
    const id = (await ok(['run', '-d', '-v', `${dir}:/w`, IMG, 'sh', '-c', 'echo first; while [ ! -f /w/go ]; do sleep 0.05; done; echo second; exit 2'])).trim();
    const f = background(['logs', '-f', id]);
    await waitFor(async () => f.stdout() === 'first\n', 'the first line to be followed');
    fs.writeFileSync(path.join(dir, 'go'), '');
    const r = await f.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'first\nsecond\n');
    assert.equal(await ok(['wait', id]), '2\n');
    const again = await s.run(['logs', '-f', id]);
    assert.equal(again.stdout, 'first\nsecond\n', '-f on an exited container prints and returns');
    await ok(['rm', id]);
  });

  test('several containers at once are prefixed; -n prefixes names', async () => {
    const a = (await ok(['run', '--name', 'la', IMG, 'echo', 'from-a'])).trim();
    assert.equal(a, 'from-a');
    await ok(['run', '--name', 'lb', IMG, 'echo', 'from-b']);
    const both = (await ok(['logs', 'la', 'lb'])).trim().split('\n').sort();
    assert.equal(both.length, 2);
    assert.ok(both.some((l) => /^[0-9a-f]{12} from-a$/.test(l)), both.join('|'));
    assert.equal(await ok(['logs', '-n', 'la']), 'la from-a\n');
    await ok(['rm', 'la', 'lb']);
  });
});

describe('wait, start -a, restart, rename, prune', () => {
  test('wait --condition', async () => {
    const id = (await ok(['create', IMG, 'sh', '-c', 'sleep 0.3; exit 5'])).trim();
    assert.equal((await s.run(['wait', '--condition', 'created', id])).code, 0);
    const running = s.run(['wait', '--condition', 'running', id]);
    await ok(['start', id]);
    assert.equal((await running).code, 0);
    assert.equal(await ok(['wait', '--condition', 'exited', id]), '5\n');
    assert.equal(await ok(['wait', id]), '5\n', 'stopped (the default) on an exited container returns at once');
    assert.equal((await s.run(['wait', '--condition', 'bogus', id])).code, 125);
    const missing = await s.run(['wait', 'nosuch']);
    assert.equal(missing.code, 125);
    assert.equal(await ok(['wait', '--ignore', 'nosuch']), '-1\n');
    await ok(['rm', id]);
  });

  test('start -a streams output and returns the exit code', async () => {
    await ok(['create', '--name', 'sa', IMG, 'sh', '-c', 'echo out; echo err >&2; exit 6']);
    const r = await s.run(['start', '-a', 'sa']);
    assert.equal(r.code, 6);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const again = await s.run(['start', '-a', 'sa']);
    assert.equal(again.code, 6, 'an exited container can be started attached again');
    assert.equal(again.stdout, 'out\n');
    assert.equal(await ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'sa']), 'exited 6\n');
    await ok(['create', '--name', 'sb', IMG, 'true']);
    const two = await s.run(['start', '-a', 'sa', 'sb']);
    assert.equal(two.code, 125);
    assert.equal(await ok(['start', 'sb']), 'sb\n');
    await ok(['rm', 'sa', 'sb']);
    assert.equal(mounts(), 0);
  });

  test('restart stops and starts again (running or exited)', async () => {
    await ok(['run', '-d', '--name', 'rs', IMG, 'sh', '-c', 'trap "exit 0" TERM; echo boot; while true; do sleep 0.1; done']);
    await waitFor(async () => (await ok(['logs', 'rs'])) === 'boot\n', 'the first boot');
    const pid1 = Number(await ok(['inspect', '--format', '{{.State.Pid}}', 'rs']));
    assert.equal(await ok(['restart', 'rs']), 'rs\n');
    const [pid2, status] = (await ok(['inspect', '--format', '{{.State.Pid}} {{.State.Status}}', 'rs'])).trim().split(' ');
    assert.equal(status, 'running');
    assert.notEqual(Number(pid2), pid1);
    await waitFor(async () => (await ok(['logs', 'rs'])) === 'boot\nboot\n', 'the second boot');
    await ok(['stop', 'rs']);
    assert.equal(await ok(['restart', 'rs']), 'rs\n');
    assert.equal(await ok(['inspect', '--format', '{{.State.Status}}', 'rs']), 'running\n');
    assert.equal((await s.run(['restart', 'nosuch'])).code, 125);
    await ok(['rm', '-f', 'rs']);
  });

  test('rename, and a name clash or bad name fails', async () => {
    const id = (await ok(['run', '-d', '--name', 'old', IMG, 'sleep', '100'])).trim();
    await ok(['create', '--name', 'taken', IMG, 'true']);
    await ok(['rename', 'old', 'new']);
    assert.equal((await s.run(['container', 'exists', 'old'])).code, 1);
    assert.equal(await ok(['inspect', '--format', '{{.Id}} {{.Name}}', 'new']), `${id} new\n`);
    assert.deepEqual(await names('--filter', 'name=new'), ['new'], 'a running container can be renamed');
    const clash = await s.run(['rename', 'new', 'taken']);
    assert.equal(clash.code, 125);
    assert.match(clash.stderr, /already in use/);
    const bad = await s.run(['rename', 'new', 'bad name']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /names must match/);
    assert.notEqual((await s.run(['rename', 'nosuch', 'x'])).code, 0);
    await ok(['rename', id.slice(0, 12), 'byid']);
    await ok(['stop', '-t', '0', 'byid']);
    const again = await ok(['create', '--name', 'new', IMG, 'true']);
    assert.match(again, /^[0-9a-f]{64}\n$/, 'the old name is free');
    await ok(['rm', 'byid', 'taken', 'new']);
  });

  test('container prune removes every non-running container and prints their IDs', async () => {
    const created = (await ok(['create', IMG, 'true'])).trim();
    const exited = (await ok(['run', '-d', IMG, 'true'])).trim();
    await ok(['wait', exited]);
    const running = (await ok(['run', '-d', IMG, 'sleep', '100'])).trim();
    const r = await s.run(['container', 'prune', '-f']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), [created, exited].sort());
    assert.equal(await ok(['ps', '-a', '-q', '--no-trunc']), `${running}\n`);
    const no = await s.run(['container', 'prune'], {input: 'n\n'});
    assert.equal(no.code, 0);
    assert.equal(no.stdout, '');
    await ok(['rm', '-f', running]);
    assert.equal(mounts(), 0);
  });
});

describe('images in use', () => {
  test('rmi of an image a container uses fails with 2 unless -f, which removes the container too', async () => {
    const id = (await ok(['create', '--name', 'user', IMG, 'true'])).trim();
    const rmi = await s.run(['rmi', IMG]);
    assert.equal(rmi.code, 2, rmi.stderr);
    assert.match(rmi.stderr, /in use by a container/);
    const imageId = (await ok(['inspect', '--format', '{{.Image}}', id])).trim();
    assert.equal((await s.run(['rmi', imageId.slice(0, 12)])).code, 2, 'by ID too');
    assert.equal((await s.run(['image', 'exists', IMG])).code, 0);
    const running = (await ok(['run', '-d', IMG, 'sleep', '100'])).trim();
    await ok(['tag', IMG, 'localhost/second:name']);
    const untag = await s.run(['rmi', '-f', 'localhost/second:name']);
    assert.equal(untag.code, 0, untag.stderr);
    assert.equal((await s.run(['container', 'exists', id])).code, 0, 'only untagged: the containers stay');
    const force = await s.run(['rmi', '-f', IMG]);
    assert.equal(force.code, 0, force.stderr);
    assert.equal((await s.run(['container', 'exists', id])).code, 1, 'the container went with the image');
    assert.equal((await s.run(['container', 'exists', running])).code, 1, 'a running one too');
    assert.equal(mounts(), 0);
    assert.equal((await s.run(['image', 'exists', IMG])).code, 1);
    await ok(['pull', '-q', '--tls-verify=false', IMG]);
  });
});
