/**
 * Containers on real conmon + runc + overlayfs: run/create/start/stop/kill/
 * rm/ps/logs/inspect/wait, exit codes, options, and nothing left behind.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {Store} from '../helpers/skiff';
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

describe('run', () => {
  test('foreground run streams stdout and stderr and returns the exit code', async () => {
    const r = await s.run(['run', '--rm', IMG, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  test('the container starts with no signal ignored or blocked (what skiff ignores itself, e.g. SIGPIPE, is not inherited)', async () => {
    // conmon is started by the addon (vfork + execve), not child_process: it must reset what Node set.
    const r = await s.run(['run', '--rm', IMG, 'grep', '-E', '^Sig(Ign|Blk):', '/proc/self/status']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n');
  });

  test("conmon gets podman's environment (PATH, HOME, locale, skiff's own SKIFF_* settings), not the rest of the caller's", async () => {
    for (const own of [undefined, 'glibc.malloc.check=0']) {
      // The first round has no locale: conmon gets C.UTF-8 (the C locale costs it ~0.4 MB of RSS).
      const extra = {LANG: own === undefined ? '' : 'C.UTF-8', SOME_CALLER_VAR: 'x', SKIFF_LOG_LEVEL: 'warn', ...(own === undefined ? {} : {GLIBC_TUNABLES: own})};
      const r = await s.run(['run', '-d', IMG, 'sleep', '60'], {env: extra});
      assert.equal(r.code, 0, r.stderr);
      const id = r.stdout.trim();
      try {
        const pid = Number((await s.run(['inspect', '--format', '{{.State.ConmonPid}}', id])).stdout.trim());
        assert.ok(pid > 0);
        const environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').filter(Boolean);
        const names = environ.map((e) => e.slice(0, e.indexOf('=')));
        for (const n of ['GLIBC_TUNABLES', 'SKIFF_UNSET_GLIBC_TUNABLES', 'SOME_CALLER_VAR']) assert.ok(!names.includes(n), `${n} reached conmon: ${names.join(' ')}`);
        assert.ok(names.every((n) => ['PATH', 'HOME', 'XDG_RUNTIME_DIR', 'TMPDIR', 'CONTAINERS_CONF', 'LANG'].includes(n) || /^(SKIFF|_OCI|LC)_/.test(n)), names.join(' '));
        assert.ok(environ.includes('SKIFF_LOG_LEVEL=warn'), "skiff's settings reach the exit command");
        assert.ok(environ.includes('LANG=C.UTF-8'), environ.join(' '));
        assert.ok(names.includes('PATH'));
      } finally {
        assert.equal((await s.run(['rm', '-f', id])).code, 0);
      }
    }
  });

  test('-i feeds stdin and closes it at EOF', async () => {
    const r = await s.run(['run', '--rm', '-i', IMG, 'cat'], {input: 'hi\nthere\n'});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\nthere\n');
  });

  test('command not found is 127, not executable is 126, unknown image is 125; --rm leaves nothing', async () => {
    const nf = await s.run(['run', '--rm', IMG, 'nope']);
    assert.equal(nf.code, 127, nf.stderr);
    assert.match(nf.stderr, /not found/);
    const ne = await s.run(['run', '--rm', IMG, '/etc/passwd']);
    assert.equal(ne.code, 126, ne.stderr);
    const ni = await s.run(['run', '--rm', '--pull=never', 'nothere/image', 'true']);
    assert.equal(ni.code, 125);
    assert.match(ni.stderr, /image not known/);
    assert.equal((await s.run(['ps', '-a', '-q', '--filter', `ancestor=${IMG}`, '--filter', 'exited=127'])).stdout, '');
    assert.equal(mounts(), 0);
  });

  test('env, workdir, user, entrypoint and command follow docker semantics', async () => {
    const env = await s.run(['run', '--rm', '-e', 'A=1', '-e', 'HOSTVAR', '-w', '/tmp', '-u', 'app', IMG, 'sh', '-c', 'echo $A $HOSTVAR $(pwd) $(id -u):$(id -g) $HOME'], {env: {HOSTVAR: 'fromhost'}});
    assert.equal(env.code, 0, env.stderr);
    assert.equal(env.stdout, '1 fromhost /tmp 1000:1000 /home/app\n');
    const ep = await s.run(['run', '--rm', '--entrypoint', 'echo', IMG, 'a', 'b']);
    assert.equal(ep.stdout, 'a b\n');
    const epJson = await s.run(['run', '--rm', '--entrypoint', '["sh","-c"]', IMG, 'echo json']);
    assert.equal(epJson.stdout, 'json\n');
    const noUser = await s.run(['run', '--rm', '-u', 'nobodyhere', IMG, 'true']);
    assert.equal(noUser.code, 125);
    assert.match(noUser.stderr, /nobodyhere/);
    const hostname = await s.run(['run', '--rm', '--hostname', 'box', IMG, 'hostname']);
    assert.equal(hostname.stdout, 'box\n');
  });

  test('bad flag values fail with 125 and leave no record', async () => {
    const before = (await s.run(['ps', '-a', '-q'])).stdout;
    for (const args of [['--memory', 'lots'], ['-v', 'a:b:c:d'], ['--restart', 'sometimes'], ['--ulimit', 'nofile=x'], ['--network', 'bridge-nope'], ['--name', 'bad name!']]) {
      const r = await s.run(['run', '--rm', ...args, IMG, 'true']);
      assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.equal((await s.run(['ps', '-a', '-q'])).stdout, before);
  });

  test('a dropped capability is really missing; the memory limit reaches the cgroup', async () => {
    const caps = await s.run(['run', '--rm', '--cap-drop', 'CHOWN', IMG, 'sh', '-c', 'grep CapEff /proc/self/status']);
    const eff = BigInt('0x' + caps.stdout.trim().split(/\s+/)[1]);
    assert.equal(eff & 1n, 0n, 'CAP_CHOWN (bit 0) dropped');
    assert.notEqual(eff & (1n << 5n), 0n, 'CAP_KILL kept');
    const mem = await s.run(['run', '--rm', '-m', '64m', IMG, 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max']);
    assert.equal(mem.code, 0, mem.stderr);
    assert.equal(mem.stdout.trim(), String(64 * 1024 * 1024));
    const ro = await s.run(['run', '--rm', '--read-only', IMG, 'sh', '-c', 'touch /x 2>/dev/null && echo wrote || echo ro; touch /tmp/y && echo tmp-ok']);
    assert.equal(ro.stdout, 'ro\ntmp-ok\n');
  });
});

describe('lifecycle', () => {
  test('run -d, ps, logs, stop, start, wait, inspect, rm', async () => {
    const d = await s.run(['run', '-d', '--name', 'svc', IMG, 'sh', '-c', 'trap "exit 0" TERM; echo started; while true; do sleep 0.1; done']);
    assert.equal(d.code, 0, d.stderr);
    const id = d.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ps = await s.run(['ps', '--format', '{{.Names}} {{.State}}']);
    assert.match(ps.stdout, /^svc running$/m);
    const dup = await s.run(['run', '-d', '--name', 'svc', IMG, 'true']);
    assert.equal(dup.code, 125);
    assert.match(dup.stderr, /already in use/);
    let logs = '';
    for (const end = Date.now() + 10_000; logs === '' && Date.now() < end; await new Promise((r) => setTimeout(r, 50))) logs = (await s.run(['logs', 'svc'])).stdout;
    assert.equal(logs, 'started\n');
    const rmRunning = await s.run(['rm', 'svc']);
    assert.equal(rmRunning.code, 2, rmRunning.stderr);
    const stop = await s.run(['stop', 'svc']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, 'svc\n');
    const st = JSON.parse((await s.run(['inspect', 'svc'])).stdout)[0];
    assert.equal(st.State.Status, 'exited');
    assert.equal(st.State.ExitCode, 0);
    assert.equal(st.Id, id);
    assert.equal(st.Name, 'svc');
    assert.equal(mounts(), 0, 'rootfs unmounted after stop');
    assert.equal((await s.run(['start', 'svc'])).code, 0);
    assert.equal((await s.run(['inspect', '--format', '{{.State.Running}}', 'svc'])).stdout, 'true\n');
    assert.equal((await s.run(['kill', '-s', 'TERM', 'svc'])).code, 0);
    const w = await s.run(['wait', 'svc']);
    assert.equal(w.stdout, '0\n');
    assert.equal((await s.run(['logs', '--tail', '1', 'svc'])).stdout, 'started\n');
    const rm = await s.run(['rm', 'svc']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await s.run(['container', 'exists', 'svc'])).code, 1);
    assert.equal((await s.run(['rm', 'svc'])).code, 1, 'missing container: exit 1');
    assert.equal(mounts(), 0);
  });

  test('stop escalates to SIGKILL after --time; kill -9 of the exit is recorded', async () => {
    const d = await s.run(['run', '-d', IMG, 'sleep', '100']);
    const id = d.stdout.trim();
    const t0 = Date.now();
    const stop = await s.run(['stop', '-t', '1', id]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal((await s.run(['inspect', '--format', '{{.State.ExitCode}}', id])).stdout, '137\n');
    await s.run(['rm', id]);
  });

  test('named volumes keep data across containers; anonymous volumes go with rm -v', async () => {
    const w = await s.run(['run', '--rm', '-v', 'data:/data', IMG, 'sh', '-c', 'echo kept > /data/f']);
    assert.equal(w.code, 0, w.stderr);
    const r = await s.run(['run', '--rm', '-v', 'data:/data:ro', IMG, 'cat', '/data/f']);
    assert.equal(r.stdout, 'kept\n');
    const copy = await s.run(['run', '--rm', '-v', 'etcvol:/etc', IMG, 'cat', '/etc/group']);
    assert.match(copy.stdout, /^root:/m, 'image content copied up into a new volume');
    const bind = fs.mkdtempSync(path.join(s.dir, 'bind-'));
    fs.writeFileSync(path.join(bind, 'host.txt'), 'from host');
    const b = await s.run(['run', '--rm', '-v', `${bind}:/mnt`, IMG, 'cat', '/mnt/host.txt']);
    assert.equal(b.stdout, 'from host');
    const vols = await s.run(['volume', 'ls', '-q']);
    assert.match(vols.stdout, /^data$/m);
    assert.equal((await s.run(['volume', 'rm', 'data'])).code, 0);
  });

  test('--rm removes the container with its anonymous volumes, in the foreground and with -d', async () => {
    const before = (await s.run(['volume', 'ls', '-q'])).stdout;
    const fg = await s.run(['run', '--rm', '-v', '/scratch', IMG, 'sh', '-c', 'echo x > /scratch/f; exit 3']);
    assert.equal(fg.code, 3, fg.stderr);
    const bg = await s.run(['run', '-d', '--rm', '-v', '/scratch', IMG, 'true']);
    assert.equal(bg.code, 0, bg.stderr);
    const id = bg.stdout.trim();
    for (const end = Date.now() + 10_000; Date.now() < end && (await s.run(['container', 'exists', id])).code === 0; ) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await s.run(['container', 'exists', id])).code, 1, 'conmon\'s cleanup removed the -d --rm container');
    assert.equal((await s.run(['volume', 'ls', '-q'])).stdout, before, 'no anonymous volume left');
    assert.deepEqual(fs.readdirSync(path.join(s.runroot, 'exits')), [], 'no exit file left');
  });

  test('a full ID is looked up before a name, a name before an ID prefix', async () => {
    const a = (await s.run(['create', '--name', 'resolve-a', IMG, 'true'])).stdout.trim();
    // A name that is another container's full ID: podman resolves the ID first.
    const b = (await s.run(['create', '--name', a, IMG, 'true'])).stdout.trim();
    assert.equal((await s.run(['inspect', '--format', '{{.Name}}', a])).stdout.trim(), 'resolve-a');
    // A name that is a prefix of another container's ID: the name wins.
    const c = (await s.run(['create', '--name', b.slice(0, 12), IMG, 'true'])).stdout.trim();
    assert.equal((await s.run(['inspect', '--format', '{{.Id}}', b.slice(0, 12)])).stdout.trim(), c);
    assert.equal((await s.run(['rm', a, b, c])).code, 0);
  });

  test('restart=on-failure restarts up to its limit', async () => {
    const d = await s.run(['run', '-d', '--restart', 'on-failure:2', IMG, 'sh', '-c', 'exit 1']);
    const id = d.stdout.trim();
    let count = -1;
    for (let i = 0; i < 100; i++) {
      const r = await s.run(['inspect', '--format', '{{.RestartCount}} {{.State.Status}}', id]);
      const [n, status] = r.stdout.trim().split(' ');
      count = Number(n);
      if (count === 2 && status === 'exited') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(count, 2);
    await s.run(['rm', '-f', id]);
  });

  test('20 parallel run --rm: no failures, no leftovers', async () => {
    const runs = await Promise.all(Array.from({length: 20}, (_, i) => s.run(['run', '--rm', IMG, 'echo', String(i)])));
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${i}\n`);
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await s.run(['ps', '-a', '-q'])).stdout, '');
    assert.equal(mounts(), 0);
  });
});
