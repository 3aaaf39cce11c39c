/**
 * The runtime operator commands on real conmon + runc: pause/unpause (the
 * cgroup freezer), top (psgo descriptors from /proc, and ps(1) in the
 * container), stats, update (runc update, kept across a restart), init,
 * port, and the event log (`events` following the log while other commands
 * run, filters, --since/--until, formats).
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

const ok = async (args: string[]) => {
  const r = await s.run(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const fmt = async (ctr: string, f: string) => (await ok(['inspect', ctr, '--format', f])).trim();
const state = (ctr: string) => fmt(ctr, '{{.State.Status}}');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitFor = async (cond: () => boolean | Promise<boolean>, what: string) => {
  for (let i = 0; i < 300; i++) {
    if (await cond()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
};

/** skiff running in the background with its output captured. */
function background(args: string[]) {
  const child = spawn(SKIFF_BIN, ['--root', s.root, '--runroot', s.runroot, ...args], {env: s.env, stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const done = new Promise<RunResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({code: code ?? (signal === 'SIGKILL' ? 137 : -1), stdout, stderr});
    });
  });
  return {child, done, stdout: () => stdout};
}

/** The container's directory for a cgroup controller (v1, hybrid) or its unified directory (v2). */
function cgroupDir(pid: number, controller: string): {dir: string; v2: boolean} {
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v1 = lines.find((l) => l.split(':')[1].split(',').includes(controller));
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' '));
  if (v1) {
    const m = mounts.find((p) => p[p.indexOf('-') + 1] === 'cgroup' && (p[p.indexOf('-') + 3] ?? '').split(',').includes(controller))!;
    return {dir: path.join(m[4], v1.split(':')[2]), v2: false};
  }
  const m = mounts.find((p) => p[p.indexOf('-') + 1] === 'cgroup2')!;
  return {dir: path.join(m[4], lines.find((l) => l.startsWith('0::'))!.slice(3)), v2: true};
}

const pidOf = async (ctr: string) => Number(await fmt(ctr, '{{.State.Pid}}'));

describe('pause and unpause', () => {
  test('freeze, state in ps and inspect, podman exit codes, and thaw', async () => {
    await ok(['run', '-d', '--name', 'p1', IMG, 'sleep', '1000']);
    assert.equal((await ok(['pause', 'p1'])).trim(), 'p1');
    assert.equal(await state('p1'), 'paused');
    assert.equal(await fmt('p1', '{{.State.Paused}}'), 'true');
    assert.match(await ok(['ps', '--format', '{{.Names}} {{.Status}}']), /^p1 Paused$/m);
    const pid = await pidOf('p1');
    const fr = cgroupDir(pid, 'freezer');
    const frozen = fr.v2 ? fs.readFileSync(path.join(fr.dir, 'cgroup.freeze'), 'utf8').trim() === '1' : fs.readFileSync(path.join(fr.dir, 'freezer.state'), 'utf8').trim() === 'FROZEN';
    assert.ok(frozen, 'the cgroup freezer holds the container');
    assert.match(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), /State:\s+[DST]/);

    const again = await s.run(['pause', 'p1']);
    assert.equal(again.code, 125);
    assert.match(again.stderr, /is not running, can't pause: container state improper/);
    const missing = await s.run(['pause', 'nope']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /no container with name or ID "nope" found: no such container/);

    assert.equal((await ok(['unpause', 'p1'])).trim(), 'p1');
    assert.equal(await state('p1'), 'running');
    const un = await s.run(['unpause', 'p1']);
    assert.equal(un.code, 125);
    assert.match(un.stderr, /is not paused, can't unpause/);
  });

  test('--all, then stop, kill and rm -f of paused containers', async () => {
    await ok(['run', '-d', '--name', 'p2', IMG, 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'p3', IMG, 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'p4', IMG, 'sleep', '1000']);
    await ok(['pause', '--all']);
    for (const c of ['p2', 'p3', 'p4']) assert.equal(await state(c), 'paused');
    await ok(['stop', '-t', '1', 'p2']);
    assert.equal(await state('p2'), 'exited');
    await ok(['kill', 'p3']);
    await waitFor(async () => (await state('p3')) === 'exited', 'p3 to die after kill');
    await ok(['rm', '-f', 'p4']);
    assert.equal((await s.run(['inspect', 'p4'])).code, 125);
    const rmPaused = await s.run(['rm', 'p1']);
    assert.notEqual(rmPaused.code, 0, 'a running container needs rm -f');
    assert.equal(await state('p1'), 'paused', 'pause --all took p1 too');
    await ok(['unpause', '--all']);
    assert.equal(await state('p1'), 'running');
    await ok(['rm', '-f', 'p1', 'p2', 'p3']);
  });
});

describe('top', () => {
  test('default columns, psgo descriptors with the container user, and ps(1) options', async () => {
    await ok(['run', '-d', '--name', 't1', '--user', 'app', IMG, 'sh', '-c', 'sleep 1000 & exec sleep 999']);
    await waitFor(async () => (await s.run(['top', 't1', 'pid,comm'])).stdout.includes('sleep'), 'processes');
    await waitFor(async () => (await s.run(['top', 't1', 'args'])).stdout.split('\n').filter((l) => l.startsWith('sleep')).length === 2, 'both sleeps');
    const def = (await ok(['top', 't1'])).split('\n').filter(Boolean);
    assert.match(def[0], /^USER\s+PID\s+PPID\s+%CPU\s+ELAPSED\s+TTY\s+TIME\s+COMMAND$/);
    assert.equal(def.length, 3);
    const init = def.find((l) => /sleep 999$/.test(l))!;
    assert.match(init, /^app\s+1\s+0\s+\d+\.\d{3}\s+\S+\s+\?\s+\S+\s+sleep 999$/);

    const d = (await ok(['top', 't1', 'pid,user,group,comm,hpid'])).split('\n').filter(Boolean);
    assert.match(d[0], /^PID\s+USER\s+GROUP\s+COMMAND\s+HPID$/);
    const hostPid = await pidOf('t1');
    assert.ok(d.some((l) => new RegExp(`^1\\s+app\\s+app\\s+sleep\\s+${hostPid}$`).test(l)), d.join('\n'));
    const aix = (await ok(['top', 't1', '%p', '%U'])).split('\n').filter(Boolean);
    assert.match(aix[0], /^PID\s+RUSER$/);

    const ps = await ok(['top', 't1', '-o', 'pid,comm']);
    assert.match(ps, /PID\s+COMMAND/);
    assert.match(ps, /^\s*1 sleep$/m);
    const bad = await s.run(['top', 't1', '-o', 'nosuchfield']);
    assert.equal(bad.code, 125);
    await ok(['stop', '-t', '0', 't1']);
    const stopped = await s.run(['top', 't1']);
    assert.equal(stopped.code, 125);
    assert.match(stopped.stderr, /top can only be used on running containers/);
    await ok(['rm', 't1']);
  });
});

describe('stats', () => {
  test('--no-stream: JSON and templates with plausible values; a stopped container is an error', async () => {
    await ok(['run', '-d', '--name', 's1', IMG, 'sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
    await waitFor(async () => (await ok(['stats', '--no-stream', '--format', '{{.PIDs}}', 's1'])).trim() === '3', 'three processes');
    const j = JSON.parse(await ok(['stats', '--no-stream', '--format', 'json', 's1'])) as Array<Record<string, string>>;
    assert.equal(j.length, 1);
    assert.deepEqual(Object.keys(j[0]), ['id', 'name', 'cpu_time', 'cpu_percent', 'avg_cpu', 'mem_usage', 'mem_percent', 'net_io', 'block_io', 'pids']);
    assert.equal(j[0].name, 's1');
    assert.equal(j[0].pids, '3');
    const [usage, limit] = j[0].mem_usage.split(' / ');
    const bytes = (v: string) => {
      const m = /^([\d.]+)(B|kB|MB|GB|TB)$/.exec(v)!;
      return Number(m[1]) * {B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12}[m[2]]!;
    };
    assert.ok(bytes(usage) > 0, `memory usage ${usage}`);
    assert.ok(bytes(limit) >= bytes(usage));
    assert.match(j[0].cpu_percent, /^\d+\.\d\d%$/);

    const table = (await ok(['stats', '--no-stream'])).split('\n').filter(Boolean);
    assert.match(table[0], /^ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET IO\s+BLOCK IO\s+PIDS\s+CPU TIME\s+AVG CPU %$/);
    assert.ok(table.some((l) => /\ss1\s/.test(l)));

    await ok(['update', '--memory', '64m', 's1']);
    assert.equal((await ok(['stats', '--no-stream', '--format', '{{.MemUsage}}', 's1'])).trim().split(' / ')[1], '67.11MB');

    await ok(['stop', '-t', '0', 's1']);
    const r = await s.run(['stats', '--no-stream', 's1']);
    assert.equal(r.code, 125);
    await ok(['rm', 's1']);
  });

  test('on a terminal the table is redrawn in place', {skip: !fs.existsSync('/usr/bin/script') && 'script(1) is not installed'}, async () => {
    await ok(['run', '-d', '--name', 's3', IMG, 'sleep', '1000']);
    const cmd = [SKIFF_BIN, '--root', s.root, '--runroot', s.runroot, 'stats', '--interval', '1', 's3'].join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {env: s.env, stdio: ['pipe', 'pipe', 'pipe']});
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    await waitFor(() => (out.match(/\x1b\[2J/g) ?? []).length >= 2, 'two redraws');
    child.kill('SIGTERM');
    await new Promise((r) => child.on('close', r));
    assert.match(out, /\x1b\[2J\x1b\[HID\s+NAME/);
    await ok(['rm', '-f', 's3']);
  });

  test('streaming without a terminal prints successive tables until interrupted', async () => {
    await ok(['run', '-d', '--name', 's2', IMG, 'sleep', '1000']);
    const bg = background(['stats', '--interval', '1', '--format', '{{.Name}} {{.PIDs}}']);
    await waitFor(() => bg.stdout().split('\n').filter((l) => l === 's2 1').length >= 2, 'two tables');
    bg.child.kill('SIGINT');
    const r = await bg.done;
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /\x1b\[/, 'no screen control codes off a terminal');
    await ok(['rm', '-f', 's2']);
  });
});

describe('update', () => {
  test('limits reach the cgroup at once and survive a restart', async () => {
    await ok(['run', '-d', '--name', 'u1', IMG, 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done']);
    const id = await fmt('u1', '{{.Id}}');
    assert.equal((await ok(['update', '--memory', '64m', '--pids-limit', '100', '--cpus', '0.5', 'u1'])).trim(), id);
    const check = async () => {
      const pid = await pidOf('u1');
      const mem = cgroupDir(pid, 'memory');
      const pids = cgroupDir(pid, 'pids');
      const cpu = cgroupDir(pid, 'cpu');
      assert.equal(fs.readFileSync(path.join(mem.dir, mem.v2 ? 'memory.max' : 'memory.limit_in_bytes'), 'utf8').trim(), '67108864');
      assert.equal(fs.readFileSync(path.join(pids.dir, 'pids.max'), 'utf8').trim(), '100');
      if (cpu.v2) assert.equal(fs.readFileSync(path.join(cpu.dir, 'cpu.max'), 'utf8').trim(), '50000 100000');
      else assert.equal(fs.readFileSync(path.join(cpu.dir, 'cpu.cfs_quota_us'), 'utf8').trim(), '50000');
    };
    await check();
    assert.equal(await fmt('u1', '{{.HostConfig.Memory}}'), '67108864');
    await ok(['update', '--cpu-quota', '20000', '--cpu-period', '50000', 'u1']);
    assert.equal(await fmt('u1', '{{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}} {{.HostConfig.NanoCpus}}'), '20000 50000 0');
    await ok(['update', '--cpus', '0.5', 'u1']);
    await ok(['restart', '-t', '5', 'u1']);
    await check();
    await ok(['update', '--pids-limit', '-1', 'u1']);
    const pids = cgroupDir(await pidOf('u1'), 'pids');
    assert.equal(fs.readFileSync(path.join(pids.dir, 'pids.max'), 'utf8').trim(), 'max');

    const bad = await s.run(['update', '--memory', '1k', 'u1']);
    assert.equal(bad.code, 125);
    const none = await s.run(['update', 'u1']);
    assert.equal(none.code, 125);
    const missing = await s.run(['update', '--memory', '64m', 'nope']);
    assert.equal(missing.code, 125);
    await ok(['rm', '-f', 'u1']);
    // A stopped container: recorded for its next start.
    await ok(['create', '--name', 'u2', IMG, 'sleep', '1000']);
    await ok(['update', '--memory', '32m', 'u2']);
    await ok(['start', 'u2']);
    const mem = cgroupDir(await pidOf('u2'), 'memory');
    assert.equal(fs.readFileSync(path.join(mem.dir, mem.v2 ? 'memory.max' : 'memory.limit_in_bytes'), 'utf8').trim(), String(32 * 1024 * 1024));
    await ok(['rm', '-f', 'u2']);
  });
});

describe('init and port', () => {
  test('init creates the container in the runtime without running it; start runs it', async () => {
    await ok(['create', '--name', 'i1', IMG, 'sh', '-c', 'echo started; sleep 1000']);
    assert.equal((await ok(['init', 'i1'])).trim(), 'i1');
    assert.equal(await state('i1'), 'initialized');
    const initPid = await pidOf('i1');
    assert.ok(initPid > 0, 'runc init waits in the container');
    assert.doesNotMatch(fs.readFileSync(`/proc/${initPid}/cmdline`, 'utf8'), /echo started/);
    assert.match(await ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}']), /^i1 Initialized$/m);
    assert.equal((await ok(['logs', 'i1'])).trim(), '', 'the process has not run');
    await ok(['init', 'i1']); // again: nothing to do
    await ok(['start', 'i1']);
    assert.equal(await state('i1'), 'running');
    await waitFor(async () => (await ok(['logs', 'i1'])).trim() === 'started', 'output');
    const r = await s.run(['init', 'i1']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /has already been created in runtime/);
    assert.equal((await ok(['port', 'i1'])).trim(), '');
    assert.equal((await s.run(['port', 'nope'])).code, 125);
    // rm of an initialized container needs no force and leaves no mount behind.
    await ok(['create', '--name', 'i2', IMG, 'true']);
    await ok(['init', 'i2']);
    await ok(['rm', 'i2']);
    const id1 = await fmt('i1', '{{.Id}}');
    await ok(['rm', '-f', 'i1']);
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(id1), 'no mount of i1 left');
  });
});

describe('events', () => {
  test('events follows the log while other commands run; filters and formats', async () => {
    // Names that are not hex: container= also matches ID prefixes (as podman), and "e1" is one.
    const bg = background(['events', '--filter', 'type=container', '--filter', 'container=evt1', '--format', '{{.Status}} {{.Name}}', '--since', '5m']);
    await sleep(500);
    await ok(['run', '--name', 'evt1', IMG, 'true']);
    await ok(['run', '-d', '--name', 'evt2', IMG, 'true']); // filtered out
    await ok(['pause', 'nope']).catch(() => undefined);
    await ok(['rename', 'evt1', 'evt1x']);
    await ok(['rm', 'evt1x']);
    await waitFor(() => bg.stdout().includes('died evt1'), 'the died event');
    await sleep(300); // time for a wrongly matched rename/remove of evt1x to show up
    bg.child.kill('SIGINT');
    const r = await bg.done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['create evt1', 'init evt1', 'start evt1', 'died evt1']);
    assert.equal((await ok(['events', '--stream=false', '--filter', 'container=evt1', '--format', '{{.Status}}'])).trim().split('\n').length, 4);
  });

  test('streaming without --since shows only new events', async () => {
    await ok(['volume', 'create', 'before-follow']);
    const bg = background(['events', '--filter', 'type=volume', '--format', '{{.Status}} {{.Name}}']);
    // No sleep-and-hope: create volumes until the follower (however slow to start) reports one.
    const made: string[] = [];
    for (let i = 0; i < 100 && !bg.stdout().includes('after-'); i++) {
      made.push(`after-${i}`);
      await ok(['volume', 'create', `after-${i}`]);
      await sleep(100);
    }
    await waitFor(() => bg.stdout().includes(`create ${made[made.length - 1]}`), 'the newest event');
    bg.child.kill('SIGTERM');
    const r = await bg.done;
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /before-follow/);
    assert.match(r.stdout, /^create after-\d+\n/);
    await ok(['volume', 'rm', 'before-follow', ...made]);
    // rename and remove carry the new name, which the container= filter did not ask for.
  });

  test('stored events: --stream=false, json, since/until, image and volume events, event=die', async () => {
    const t0 = new Date().toISOString();
    await sleep(20);
    await ok(['volume', 'create', 'ev1']);
    await ok(['tag', IMG, 'localhost/evtag:1']);
    await ok(['untag', IMG, 'localhost/evtag:1']);
    await ok(['volume', 'rm', 'ev1']);
    const code = await s.run(['run', '--name', 'e3', IMG, 'sh', '-c', 'exit 3']);
    assert.equal(code.code, 3);
    await sleep(20);
    const t1 = new Date().toISOString();
    await ok(['rm', 'e3']);

    const lines = (await ok(['events', '--stream=false', '--since', t0, '--until', t1, '--format', 'json'])).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((e) => `${e.Type} ${e.Status} ${e.Name}`),
      ['volume create ev1', 'image tag localhost/evtag:1', 'image untag localhost/evtag:1', 'volume remove ev1', 'container create e3', 'container init e3', 'container start e3', 'container died e3'],
    );
    const died = lines.find((e) => e.Status === 'died');
    assert.equal(died.ContainerExitCode, 3);
    assert.match(died.Time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(died.Image, IMG);

    const die = (await ok(['events', '--stream=false', '--since', t0, '--filter', 'event=die', '--format', '{{.Name}} {{.ContainerExitCode}}'])).trim();
    assert.equal(die, 'e3 3');
    const dieTime = (await ok(['events', '--stream=false', '--since', t0, '--filter', 'event=died', '--format', '{{.Time}}'])).trim();
    assert.match(dieTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \S+$/, 'a Go time.Time prints as time.String()');
    const vols = (await ok(['events', '--stream=false', '--since', t0, '--filter', 'volume=ev1', '--filter', 'event=remove'])).trim().split('\n');
    assert.equal(vols.length, 1);
    assert.match(vols[0], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \S+ volume remove ev1$/);
    const human = (await ok(['events', '--stream=false', '--since', t0, '--filter', 'event=start'])).trim();
    assert.match(human, /container start [0-9a-f]{64} \(image=.*, name=e3/);
    const trunc = (await ok(['events', '--stream=false', '--since', t0, '--filter', 'event=start', '--no-trunc=false'])).trim();
    assert.match(trunc, /container start [0-9a-f]{12} \(/);
    const none = await ok(['events', '--stream=false', '--since', '1s', '--until', '1s', '--filter', 'type=volume']);
    assert.equal(none, '');
    const pulls = (await ok(['events', '--stream=false', '--filter', 'type=image', '--filter', 'event=pull', '--format', '{{.Name}}'])).trim();
    assert.equal(pulls, IMG, 'the fixture\'s pull was recorded');
    const future = await s.run(['events', '--since', 'garbage']);
    assert.equal(future.code, 125);
    const badFilter = await s.run(['events', '--stream=false', '--filter', 'colour=red']);
    assert.equal(badFilter.code, 125);
    // --until in the past ends a streaming events at once.
    assert.equal((await s.run(['events', '--until', t1, '--filter', 'type=pod'])).code, 0);
  });
});
