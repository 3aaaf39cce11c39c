/**
 * create/run options on real conmon + runc + overlayfs, checked from inside
 * the container (/proc, cgroup files, mounts) and through inspect: --init,
 * pid/cid files, --replace and names, tmpfs and shm, sysctls, devices,
 * privileges and capabilities, resources, ulimits, mounts and volumes-from,
 * env/label files, labels and annotations, stop signal and timeout, log
 * driver and path, users and groups, hostname, hosts, DNS and networks.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync, spawn} from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {SKIFF_BIN, type RunResult, type Store} from '../helpers/skiff';
import type {BuiltImage} from '../helpers/images';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';
import {crunRefusal} from '../../src/lib/runtime/host';
import {notifySocket} from '../helpers/sd-notify';
import {ensureJournald} from '../helpers/journald';

let fx: BusyboxStore;
let busybox: BuiltImage;
let s: Store;
let IMG: string;

before(async () => {
  fx = await busyboxStore();
  ({busybox, store: s, image: IMG} = fx);
});

after(async () => {
  await fx?.close();
});

const mounts = () => fx.mounts();

/** `run --rm [opts] IMG sh -c script`, asserting success. */
async function sh(opts: string[], script: string): Promise<string> {
  const r = await s.run(['run', '--rm', ...opts, IMG, 'sh', '-c', script]);
  assert.equal(r.code, 0, `${opts.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The line of /proc/mounts inside the container for a mount point. */
const mountLine = (out: string, dest: string) => out.split('\n').find((l) => l.split(' ')[1] === dest);

const inspect = async (ref: string) => {
  const r = await s.run(['inspect', ref]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout)[0];
};

const waitFor = async (cond: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
};

/** skiff in a given working directory (relative -v sources resolve against it). */
function runIn(cwd: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(SKIFF_BIN, ['--root', s.root, '--runroot', s.runroot, ...args], {cwd, env: s.env, stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({code: code ?? -1, stdout, stderr}));
  });
}

describe('process options', () => {
  test('--init runs catatonit as pid 1, and signals reach the child', async () => {
    const ps = await sh(['--init'], 'cat /proc/1/cmdline | tr "\\0" " "; echo; ps -o pid,comm');
    const [cmdline, ...rows] = ps.trim().split('\n');
    assert.match(cmdline, /^\/run\/podman-init -- sh -c /, 'pid 1 is the init');
    assert.match(rows.join('\n'), /^\s*1\s+podman-init$/m);
    assert.doesNotMatch(rows.join('\n'), /^\s*1\s+sh$/m);
    const id = (await s.run(['run', '-d', '--init', IMG, 'sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.1; done'])).stdout.trim();
    await waitFor(async () => (await s.run(['logs', id])).stdout.includes('ready'), 'the trap to be set');
    assert.equal((await s.run(['inspect', '--format', '{{.HostConfig.Init}}', id])).stdout, 'true\n');
    assert.equal((await s.run(['kill', '-s', 'TERM', id])).code, 0);
    assert.equal((await s.run(['wait', id])).stdout, '7\n', 'catatonit forwarded TERM and exited with the child');
    assert.equal((await s.run(['logs', id])).stdout, 'ready\ngot-term\n');
    assert.equal((await s.run(['rm', id])).code, 0);
  });

  test('--pidfile, --conmon-pidfile and --cidfile hold the right pids and ID; the cidfile goes with the container and is never reused', async () => {
    const dir = fs.mkdtempSync(path.join(s.dir, 'pids-'));
    const [pidFile, conmonPidFile, cidFile] = ['ctr.pid', 'conmon.pid', 'ctr.cid'].map((f) => path.join(dir, f));
    const d = await s.run(['run', '-d', '--pidfile', pidFile, '--conmon-pidfile', conmonPidFile, '--cidfile', cidFile, IMG, 'sleep', '100']);
    assert.equal(d.code, 0, d.stderr);
    const id = d.stdout.trim();
    const st = await inspect(id);
    assert.equal(fs.readFileSync(cidFile, 'utf8').trim(), id);
    assert.equal(Number(fs.readFileSync(pidFile, 'utf8')), st.State.Pid);
    assert.equal(Number(fs.readFileSync(conmonPidFile, 'utf8')), st.State.ConmonPid);
    assert.ok(st.State.Pid > 0 && st.State.ConmonPid > 0 && st.State.Pid !== st.State.ConmonPid);
    assert.match(fs.readFileSync(`/proc/${st.State.Pid}/cmdline`, 'utf8'), /^sleep\x00100/);
    assert.match(fs.readFileSync(`/proc/${st.State.ConmonPid}/comm`, 'utf8'), /conmon/);
    assert.equal(st.PidFile, pidFile);
    assert.equal(st.ConmonPidFile, conmonPidFile);
    assert.equal(st.HostConfig.ContainerIDFile, cidFile);

    const before = (await s.run(['ps', '-a', '-q', '--no-trunc'])).stdout;
    const again = await s.run(['create', '--cidfile', cidFile, IMG, 'true']);
    assert.equal(again.code, 125);
    assert.match(again.stderr, /container id file exists/);
    assert.equal((await s.run(['ps', '-a', '-q', '--no-trunc'])).stdout, before, 'no record for the refused create');
    assert.equal(fs.readFileSync(cidFile, 'utf8').trim(), id, 'the existing cidfile is untouched');

    assert.equal((await s.run(['rm', '-f', id])).code, 0);
    assert.equal(fs.existsSync(cidFile), false, 'cidfile removed with the container');
    const rm = await s.run(['run', '--rm', '--cidfile', cidFile, IMG, 'true']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(fs.existsSync(cidFile), false, 'cidfile removed by --rm');
  });

  test('--replace swaps a same-named container; names are validated', async () => {
    const first = await s.run(['create', '--name', 'rp', IMG, 'echo', 'old']);
    assert.equal(first.code, 0, first.stderr);
    const clash = await s.run(['create', '--name', 'rp', IMG, 'echo', 'new']);
    assert.equal(clash.code, 125);
    assert.match(clash.stderr, /already in use/);
    const second = await s.run(['run', '-d', '--replace', '--name', 'rp', IMG, 'sleep', '100']);
    assert.equal(second.code, 0, second.stderr);
    const third = await s.run(['run', '--replace', '--name', 'rp', IMG, 'echo', 'newest']);
    assert.equal(third.code, 0, third.stderr);
    assert.equal(third.stdout, 'newest\n');
    const ids = (await s.run(['ps', '-a', '--no-trunc', '--filter', 'name=^rp$', '--format', '{{.ID}}'])).stdout.trim().split('\n');
    assert.equal(ids.length, 1);
    assert.notEqual(ids[0], first.stdout.trim());
    assert.notEqual(ids[0], second.stdout.trim());
    assert.equal((await s.run(['container', 'exists', first.stdout.trim()])).code, 1);
    assert.equal((await s.run(['rm', 'rp'])).code, 0);

    for (const bad of ['-lead', 'has space', 'a/b', '_under', 'ünï']) {
      const r = await s.run(['create', `--name=${bad}`, IMG, 'true']);
      assert.equal(r.code, 125, bad);
      // oclif refuses a value starting with "-" before skiff sees it (podman's pflag passes it on).
      if (!bad.startsWith('-')) assert.match(r.stderr, /names must match/, bad);
    }
    const ok = await s.run(['create', '--name', 'Ok.name-1_x', IMG, 'true']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await s.run(['rm', 'Ok.name-1_x'])).code, 0);
  });

  test('-u uid:gid numbers and --group-add', async () => {
    const ids = await sh(['-u', '1234:5678', '--group-add', '42', '--group-add', 'app'], 'echo $(id -u) $(id -g); grep ^Groups: /proc/self/status');
    assert.match(ids, /^1234 5678\nGroups:\s+42 1000\s*$/);
    assert.equal(await sh(['-u', '0:1000'], 'echo $(id -u) $(id -g)'), '0 1000\n');
    const noGroup = await s.run(['run', '--rm', '--group-add', 'nogroupnamed', IMG, 'true']);
    assert.equal(noGroup.code, 125);
    assert.match(noGroup.stderr, /nogroupnamed/);
  });

  test('--env-file and -e override it; --label-file and -l; --annotation reaches the OCI spec', async (t) => {
    const dir = fs.mkdtempSync(path.join(s.dir, 'files-'));
    fs.writeFileSync(path.join(dir, 'env'), '# comment\nFOO=file\n  BAR=two words\nFROMHOST\n\nEMPTY=\n');
    fs.writeFileSync(path.join(dir, 'labels'), 'a=1\n# no\nb=two words\n');
    const out = await s.run(['run', '--rm', '--env-file', path.join(dir, 'env'), '-e', 'FOO=flag', IMG, 'sh', '-c', 'echo "$FOO|$BAR|$FROMHOST|${EMPTY-unset}"'], {env: {FROMHOST: 'hv'}});
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, 'flag|two words|hv|\n');
    if (path.basename(SKIFF_BIN) === 'skiff-bin') {
      // Node 20's single-executable runtime reads --env-file from the whole argv
      // itself, before skiff runs, and exits 9 when the file is missing.
      t.diagnostic('known gap: the single binary (Node 20 SEA) handles a missing --env-file itself (exit 9); checked with bin/skiff');
    } else {
      const missing = await s.run(['run', '--rm', '--env-file', path.join(dir, 'nope'), IMG, 'true']);
      assert.equal(missing.code, 125);
      assert.match(missing.stderr, /no such file/);
    }

    const c = await s.run(['run', '-d', '--name', 'lab', '--label-file', path.join(dir, 'labels'), '-l', 'a=override', '-l', 'flag', '--annotation', 'com.example.k=v1', IMG, 'sleep', '100']);
    assert.equal(c.code, 0, c.stderr);
    const st = await inspect('lab');
    assert.equal(st.Config.Labels.a, 'override');
    assert.equal(st.Config.Labels.b, 'two words');
    assert.equal(st.Config.Labels.flag, '');
    assert.equal(st.Config.Labels['org.skiff.test'], 'busybox', 'image labels kept');
    assert.equal(st.Config.Annotations['com.example.k'], 'v1');
    const spec = JSON.parse(fs.readFileSync(st.OCIConfigPath, 'utf8'));
    assert.equal(spec.annotations['com.example.k'], 'v1');
    for (const [f, want] of [['label=a=override', 'lab'], ['label=flag', 'lab'], ['label=b=two words', 'lab'], ['label=a=1', ''], ['label=nokey', '']]) {
      assert.equal((await s.run(['ps', '-a', '--filter', f, '--format', '{{.Names}}'])).stdout.trim(), want, f);
    }
    assert.equal((await s.run(['rm', '-f', 'lab'])).code, 0);
  });

  test('--sdnotify under a Type=notify unit: conmon is MAINPID; container relays READY from inside, conmon says it at once, ignore says nothing', async (t) => {
    const ns = await notifySocket();
    t.after(() => ns.close());
    const env = {NOTIFY_SOCKET: ns.path};
    // container (the default): the container sees conmon's relay socket; what it sends there reaches systemd.
    const id = (await s.run(['run', '-d', IMG, 'sh', '-c', 'echo "$NOTIFY_SOCKET"; test -S "$NOTIFY_SOCKET" && echo socket; sleep 30'], {env})).stdout.trim();
    const conmonPid = (await inspect(id)).State.ConmonPid;
    assert.ok(conmonPid > 0);
    await ns.waitFor((m) => m === `MAINPID=${conmonPid}`);
    assert.ok(!ns.messages.some((m) => m.includes('READY=1')), 'READY is the container\'s to send');
    await waitFor(async () => /socket/.test((await s.run(['logs', id])).stdout), 'the container to report its socket');
    assert.equal((await s.run(['logs', id])).stdout, '/run/notify/notify.sock\nsocket\n');
    // Send as the container would, through the same socket (bind-mounted from the bundle).
    const relay = `${s.runroot}/containers/${id}/notify`;
    execFileSync('python3', ['-c', `import os, socket\nfd = os.open(${JSON.stringify(relay)}, os.O_PATH)\nsocket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", "/proc/self/fd/%d/notify.sock" % fd)`]);
    await ns.waitFor((m) => m === 'READY=1');
    assert.equal((await s.run(['rm', '-f', '-t', '0', id])).code, 0);

    // conmon: MAINPID and READY together, once the container runs; nothing inside the container.
    ns.messages.length = 0;
    const id2 = (await s.run(['run', '-d', '--sdnotify', 'conmon', IMG, 'sh', '-c', 'echo "[$NOTIFY_SOCKET]"; sleep 30'], {env})).stdout.trim();
    const pid2 = (await inspect(id2)).State.ConmonPid;
    await ns.waitFor((m) => m === `MAINPID=${pid2}\nREADY=1`);
    await waitFor(async () => (await s.run(['logs', id2])).stdout !== '', 'output');
    assert.equal((await s.run(['logs', id2])).stdout, '[]\n');
    assert.equal((await s.run(['rm', '-f', '-t', '0', id2])).code, 0);

    // ignore: nothing is sent.
    ns.messages.length = 0;
    const r = await s.run(['run', '--rm', '--sdnotify', 'ignore', IMG, 'sh', '-c', 'echo "[$NOTIFY_SOCKET]"'], {env});
    assert.equal(r.stdout, '[]\n');
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(ns.messages, []);
  });

  test('--stop-signal and --stop-timeout are in inspect and used by stop', async () => {
    const d = await s.run(['run', '-d', '--name', 'sig', '--stop-signal', 'USR1', '--stop-timeout', '5', IMG, 'sh', '-c', 'trap "echo usr1; exit 4" USR1; trap "" TERM; echo ready; while true; do sleep 0.1; done']);
    assert.equal(d.code, 0, d.stderr);
    await waitFor(async () => (await s.run(['logs', 'sig'])).stdout.includes('ready'), 'the trap to be set');
    const st = await inspect('sig');
    assert.equal(st.Config.StopSignal, 'SIGUSR1');
    assert.equal(st.Config.StopTimeout, 5);
    assert.equal((await s.run(['stop', 'sig'])).code, 0);
    assert.equal((await s.run(['inspect', '--format', '{{.State.ExitCode}}', 'sig'])).stdout, '4\n', 'stop sent USR1, not TERM');
    assert.equal((await s.run(['logs', 'sig'])).stdout, 'ready\nusr1\n');
    assert.equal((await s.run(['rm', 'sig'])).code, 0);

    // A container that ignores its stop signal is killed after its own --stop-timeout.
    const t = await s.run(['run', '-d', '--name', 'deaf', '--stop-timeout', '1', IMG, 'sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.1; done']);
    assert.equal(t.code, 0, t.stderr);
    await waitFor(async () => (await s.run(['logs', 'deaf'])).stdout.includes('ready'), 'the trap to be set');
    const stop = await s.run(['stop', 'deaf']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stderr, /in 1 seconds, resorting to SIGKILL/);
    assert.equal((await s.run(['inspect', '--format', '{{.State.ExitCode}}', 'deaf'])).stdout, '137\n');
    assert.equal((await s.run(['rm', 'deaf'])).code, 0);
    const bad = await s.run(['create', '--stop-signal', 'NOPE', IMG, 'true']);
    assert.equal(bad.code, 125);
  });

  test('--log-driver none: output still reaches a foreground run, logs says there are none; --log-opt path=', async () => {
    const r = await s.run(['run', '--name', 'nolog', '--log-driver', 'none', IMG, 'echo', 'hi']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    const logs = await s.run(['logs', 'nolog']);
    assert.equal(logs.code, 125);
    assert.match(logs.stderr, /using the 'none' log driver, cannot read logs/);
    assert.equal((await s.run(['inspect', '--format', '{{.HostConfig.LogConfig.Type}}', 'nolog'])).stdout, 'none\n');
    assert.equal((await s.run(['rm', 'nolog'])).code, 0);

    const logPath = path.join(fs.mkdtempSync(path.join(s.dir, 'log-')), 'my.log');
    const p = await s.run(['run', '--name', 'plog', '--log-opt', `path=${logPath}`, IMG, 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(p.code, 0, p.stderr);
    const lines = fs.readFileSync(logPath, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines.find((l) => l.includes(' stdout '))!, /^\S+ stdout F out$/);
    assert.match(lines.find((l) => l.includes(' stderr '))!, /^\S+ stderr F err$/);
    const lg = await s.run(['logs', 'plog']);
    assert.equal(lg.stdout, 'out\n');
    assert.equal(lg.stderr, 'err\n');
    assert.equal((await s.run(['inspect', '--format', '{{.HostConfig.LogConfig.Path}}', 'plog'])).stdout, `${logPath}\n`);
    assert.equal((await s.run(['rm', 'plog'])).code, 0);
    const rel = await s.run(['create', '--log-opt', 'path=rel.log', IMG, 'true']);
    assert.equal(rel.code, 125);
  });

  test('--log-driver journald: logs reads the journal (streams, --tail, -t, -f until exit)', async (t) => {
    const j = await ensureJournald();
    if (typeof j === 'string') return t.skip(j);
    t.after(() => j.stop());
    const r = await s.run(['run', '--name', 'jlog', '--log-driver', 'journald', IMG, 'sh', '-c', 'echo out1; echo err1 >&2; echo out2; printf last']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'out1\nout2\nlast');
    const all = async () => {
      const lg = await s.run(['logs', 'jlog']);
      assert.equal(lg.code, 0, lg.stderr);
      return lg;
    };
    let seen = '';
    await waitFor(async () => (seen = (await all()).stdout) === 'out1\nout2\nlast\n', 'journald to hold every line').catch((err) => {
      throw new Error(`${err.message}; logs said ${JSON.stringify(seen)}; journalctl: ${JSON.stringify(execFileSync('journalctl', ['--no-pager', '-o', 'cat', '-n', '20']).toString())}`);
    });
    assert.equal((await all()).stderr, 'err1\n');
    assert.equal((await s.run(['logs', '--tail', '1', 'jlog'])).stdout, 'last\n');
    assert.match((await s.run(['logs', '-t', 'jlog'])).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z out1$/m);
    assert.equal((await s.run(['inspect', '--format', '{{.HostConfig.LogConfig.Type}}', 'jlog'])).stdout, 'journald\n');
    assert.equal((await s.run(['rm', 'jlog'])).code, 0);

    const id = (await s.run(['run', '-d', '--log-driver', 'journald', IMG, 'sh', '-c', 'echo a; sleep 1; echo b; sleep 1; echo c'])).stdout.trim();
    const f = await s.run(['logs', '-f', id]);
    assert.equal(f.code, 0, f.stderr);
    assert.equal(f.stdout, 'a\nb\nc\n', 'follows until the container exits, nothing lost or repeated');
    assert.equal((await s.run(['rm', id])).code, 0);
  });
});

describe('mounts', () => {
  test('--tmpfs and --mount type=tmpfs are mounted with their options; --shm-size sizes /dev/shm', async () => {
    const out = await sh(['--tmpfs', '/scratch:size=1m,mode=1770', '--mount', 'type=tmpfs,destination=/t2,tmpfs-size=2m,tmpfs-mode=700', '--tmpfs', '/ex:exec'], 'cat /proc/mounts; stat -c "%a" /scratch /t2');
    const scratch = mountLine(out, '/scratch');
    assert.ok(scratch, out);
    assert.match(scratch, /^tmpfs \/scratch tmpfs /);
    for (const o of ['rw', 'nosuid', 'nodev', 'noexec', 'size=1024k', 'mode=1770']) assert.ok(scratch.split(' ')[3].split(',').includes(o), `${o} in ${scratch}`);
    const t2 = mountLine(out, '/t2');
    assert.ok(t2 && t2.includes('size=2048k') && t2.includes('mode=700'), t2);
    assert.ok(!mountLine(out, '/ex')!.split(' ')[3].split(',').includes('noexec'), 'exec honoured');
    assert.match(out, /^1770\n700\n$/m);
    // tmpcopyup: a tmpfs over an image directory starts with its content.
    assert.match(await sh(['--tmpfs', '/etc'], 'cat /etc/passwd; grep " /etc " /proc/mounts'), /^root:.*\n[\s\S]*tmpfs \/etc tmpfs/);

    const shm = mountLine(await sh(['--shm-size', '32m'], 'cat /proc/mounts'), '/dev/shm');
    assert.ok(shm?.includes('size=32768k'), shm);
    const shmDefault = mountLine(await sh([], 'cat /proc/mounts'), '/dev/shm');
    assert.ok(shmDefault?.includes('size=65536k'), shmDefault);
    assert.equal((await s.run(['run', '--rm', '--shm-size', 'big', IMG, 'true'])).code, 125);
    assert.equal((await s.run(['run', '--rm', '--tmpfs', '/x:bogus', IMG, 'true'])).code, 125);
    assert.equal(mounts(), 0);
  });

  test('--read-only-tmpfs=false leaves /tmp read-only', async () => {
    assert.equal(await sh(['--read-only', '--read-only-tmpfs=false'], 'touch /tmp/x 2>/dev/null && echo wrote || echo ro; grep -c " /tmp " /proc/mounts || true'), 'ro\n0\n');
    const rw = await sh(['--read-only'], 'grep -E " /(tmp|run|var/tmp) " /proc/mounts | cut -d" " -f2 | sort');
    assert.equal(rw, '/run\n/tmp\n/var/tmp\n');
  });

  test('--mount type=bind,ro and -v :ro are read-only; -v relative and bad paths fail at create', async () => {
    const bind = fs.mkdtempSync(path.join(s.dir, 'bind-'));
    fs.writeFileSync(path.join(bind, 'f'), 'hostdata\n');
    for (const opts of [['--mount', `type=bind,source=${bind},target=/m,ro`], ['--mount', `type=bind,src=${bind},dst=/m,readonly=true`], ['-v', `${bind}:/m:ro`]]) {
      assert.equal(await sh(opts, 'cat /m/f; touch /m/g 2>/dev/null && echo wrote || echo ro'), 'hostdata\nro\n', opts.join(' '));
    }
    assert.equal(fs.existsSync(path.join(bind, 'g')), false);
    assert.equal(await sh(['--mount', `type=bind,source=${bind},target=/m`], 'echo new > /m/g; cat /m/g'), 'new\n');
    assert.equal(fs.readFileSync(path.join(bind, 'g'), 'utf8'), 'new\n');

    // ./relative host paths resolve against the working directory.
    const rel = await runIn(path.dirname(bind), ['run', '--rm', '-v', `./${path.basename(bind)}:/m:ro`, IMG, 'cat', '/m/f']);
    assert.equal(rel.code, 0, rel.stderr);
    assert.equal(rel.stdout, 'hostdata\n');

    const before = (await s.run(['ps', '-a', '-q'])).stdout;
    const cases: Array<[string[], RegExp]> = [
      [['-v', `${bind}:m`], /must be an absolute path/],
      [['-v', `rel/dir:/m`], /use absolute path/],
      [['-v', `${bind}/missing:/m`], /no such file or directory/],
      [['-v', `${bind}:/m:rx`], /invalid option type "rx"/],
      [['-v', `${bind}:/m:ro,rw`], /can only specify 1 'rw' or 'ro' option/],
      [['--mount', `type=bind,target=/m`], /host directory cannot be empty/],
      [['--mount', `type=bind,source=${bind}`], /must set volume destination/],
      [['-v', `${bind}:/m`, '--tmpfs', '/m'], /duplicate mount destination/],
    ];
    for (const [opts, msg] of cases) {
      const r = await s.run(['create', ...opts, IMG, 'true']);
      assert.equal(r.code, 125, `${opts.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg, opts.join(' '));
    }
    assert.equal((await s.run(['ps', '-a', '-q'])).stdout, before, 'nothing created');
  });

  test('--volumes-from shares volumes and binds, read-only with :ro', async () => {
    const bind = fs.mkdtempSync(path.join(s.dir, 'vf-'));
    fs.writeFileSync(path.join(bind, 'f'), 'hostdata\n');
    const src = await s.run(['create', '--name', 'vsrc', '-v', 'vfvol:/data', '-v', `${bind}:/b`, '--tmpfs', '/scratch', IMG, 'true']);
    assert.equal(src.code, 0, src.stderr);
    assert.equal(await sh(['--volumes-from', 'vsrc'], 'echo shared > /data/x; cat /data/x /b/f; grep -c " /scratch " /proc/mounts || true'), 'shared\nhostdata\n0\n');
    assert.equal(await sh(['--volumes-from', 'vsrc:ro'], 'cat /data/x; echo no > /data/y 2>/dev/null && echo wrote || echo ro'), 'shared\nro\n');
    const id = (await s.run(['create', '--volumes-from', 'vsrc', IMG, 'true'])).stdout.trim();
    const st = await inspect(id);
    assert.deepEqual(st.Mounts.map((m: {Destination: string}) => m.Destination).sort(), ['/b', '/data']);
    assert.equal((await s.run(['create', '--volumes-from', 'nosuch', IMG, 'true'])).code, 125);
    assert.equal((await s.run(['rm', id, 'vsrc'])).code, 0);
    assert.equal((await s.run(['volume', 'rm', 'vfvol'])).code, 0);
  });
});

describe('security', () => {
  const capEff = (status: string) => BigInt('0x' + /^CapEff:\s*([0-9a-f]+)$/m.exec(status)![1]);
  const field = (status: string, name: string) => new RegExp(`^${name}:\\s*(\\S+)$`, 'm').exec(status)?.[1];

  test('--privileged sees host devices and gets every capability, without seccomp', async () => {
    const hostDev = fs
      .readdirSync('/dev', {withFileTypes: true})
      .find((e) => e.isCharacterDevice() && !['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'console'].includes(e.name))?.name;
    assert.ok(hostDev, 'the host has a character device beyond the default set');
    const priv = await sh(['--privileged'], `cat /proc/self/status; test -c /dev/${hostDev} && echo has-dev`);
    const plain = await sh([], `cat /proc/self/status; test -c /dev/${hostDev} && echo has-dev || echo no-dev`);
    assert.match(priv, /^has-dev$/m);
    assert.match(plain, /^no-dev$/m);
    const hostBnd = BigInt('0x' + field(fs.readFileSync('/proc/self/status', 'utf8'), 'CapBnd'));
    assert.equal(capEff(priv), hostBnd, 'privileged: all the capabilities the host has');
    assert.notEqual(capEff(plain), hostBnd);
    assert.equal(field(priv, 'Seccomp'), '0');
    assert.equal(field(plain, 'Seccomp'), '2');
    assert.equal((await inspect((await s.run(['create', '--privileged', IMG, 'true'])).stdout.trim())).HostConfig.Privileged, true);
    await s.run(['container', 'prune', '-f']);
  });

  test('--security-opt no-new-privileges and seccomp=unconfined; --cap-add', async () => {
    const plain = await sh([], 'cat /proc/self/status');
    assert.equal(field(plain, 'NoNewPrivs'), '0');
    const nnp = await sh(['--security-opt', 'no-new-privileges'], 'cat /proc/self/status');
    assert.equal(field(nnp, 'NoNewPrivs'), '1');
    assert.equal(field(nnp, 'Seccomp'), '2');
    const unconfined = await sh(['--security-opt', 'seccomp=unconfined'], 'cat /proc/self/status');
    assert.equal(field(unconfined, 'Seccomp'), '0');
    const bad = await s.run(['run', '--rm', '--security-opt', 'bogus=1', IMG, 'true']);
    assert.equal(bad.code, 125);

    const NET_ADMIN = 1n << 12n;
    const SYS_TIME = 1n << 25n;
    assert.equal(capEff(plain) & (NET_ADMIN | SYS_TIME), 0n, 'not in the default set');
    const added = await sh(['--cap-add', 'NET_ADMIN', '--cap-add', 'cap_sys_time'], 'cat /proc/self/status');
    assert.equal(capEff(added) & (NET_ADMIN | SYS_TIME), NET_ADMIN | SYS_TIME);
    assert.equal(capEff(added) & ~(NET_ADMIN | SYS_TIME), capEff(plain), 'nothing else changed');
    const none = await sh(['--cap-drop', 'ALL'], 'cat /proc/self/status');
    assert.equal(capEff(none), 0n);
    assert.equal((await s.run(['run', '--rm', '--cap-add', 'NOT_A_CAP', IMG, 'true'])).code, 125);
  });

  test('--sysctl: namespaced keys are set; net.* with --network host is refused at create', async () => {
    assert.equal(await sh(['--sysctl', 'kernel.msgmax=8192', '--sysctl', 'net.ipv4.ip_forward=1'], 'cat /proc/sys/kernel/msgmax /proc/sys/net/ipv4/ip_forward'), '8192\n1\n');
    const before = (await s.run(['ps', '-a', '-q'])).stdout;
    const host = await s.run(['create', '--sysctl', 'net.ipv4.ip_forward=1', '--network', 'host', IMG, 'true']);
    assert.equal(host.code, 125);
    assert.match(host.stderr, /can't be set since Network Namespace set to host/);
    const notNs = await s.run(['create', '--sysctl', 'kernel.hostname=x', IMG, 'true']);
    assert.equal(notNs.code, 125);
    assert.match(notNs.stderr, /not allowed/);
    assert.equal((await s.run(['ps', '-a', '-q'])).stdout, before);
    assert.equal(await sh(['--sysctl', 'kernel.msgmax=4096', '--network', 'host'], 'cat /proc/sys/kernel/msgmax'), '4096\n', 'ipc is still private');
  });

  test('--device HOST:CONTAINER adds the node', async () => {
    const out = await sh(['--device', '/dev/null:/dev/mynull'], 'stat -c "%F %t %T" /dev/mynull; echo hi > /dev/mynull && echo wrote');
    assert.equal(out, 'character special file 1 3\nwrote\n');
    assert.equal((await s.run(['run', '--rm', '--device', '/etc/passwd', IMG, 'true'])).code, 125);
    assert.equal((await s.run(['run', '--rm', '--device', '/dev/nonexistent-dev', IMG, 'true'])).code, 125);
  });
});

describe('resources', () => {
  const cg = (v1: string, v2: string) => `cat /sys/fs/cgroup/${v1} 2>/dev/null || cat /sys/fs/cgroup/${v2}`;

  test('--pids-limit, --cpus and --cpu-shares reach the cgroup', async () => {
    assert.equal(await sh(['--pids-limit', '100'], cg('pids/pids.max', 'pids.max')), '100\n');
    assert.equal(await sh([], cg('pids/pids.max', 'pids.max')), '2048\n', "podman's default pids limit");
    const cpu = await sh(['--cpus', '1.5', '--cpu-shares', '512'], 'if [ -f /sys/fs/cgroup/cpu/cpu.shares ]; then cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.shares; else cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight; fi');
    if (fs.existsSync('/sys/fs/cgroup/cpu/cpu.shares')) assert.equal(cpu, '150000\n100000\n512\n');
    else assert.equal(cpu, '150000 100000\n20\n');
    const st = await inspect((await s.run(['create', '--cpus', '1.5', '--cpu-shares', '512', '--pids-limit', '100', '-m', '32m', IMG, 'true'])).stdout.trim());
    assert.equal(st.HostConfig.NanoCpus, 1.5e9);
    assert.equal(st.HostConfig.CpuShares, 512);
    assert.equal(st.HostConfig.PidsLimit, 100);
    assert.equal(st.HostConfig.Memory, 32 * 1024 * 1024);
    await s.run(['rm', st.Id]);
    assert.equal((await s.run(['run', '--rm', '--cpus', 'lots', IMG, 'true'])).code, 125);
  });

  test('--ulimit nofile=100:200; the default never exceeds the host hard limit', async () => {
    assert.equal(await sh(['--ulimit', 'nofile=100:200'], 'ulimit -n; ulimit -Hn'), '100\n200\n');
    const hostHard = Number(/^Max open files\s+\S+\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))![1]);
    const [soft, hard] = (await sh([], 'ulimit -n; ulimit -Hn')).trim().split('\n').map(Number);
    assert.ok(hard <= hostHard && soft <= hard, `${soft}:${hard} within ${hostHard}`);
    assert.equal((await s.run(['run', '--rm', '--ulimit', 'nofile=200:100', IMG, 'true'])).code, 125);
  });

  test('--runtime crun runs where crun can; where it refuses the cgroup layout, one line says why and nothing is left', async () => {
    // Debian 12 on this host kind: crun refuses the hybrid layout while hugetlb sits on the cgroup2 mount.
    const refusal = crunRefusal();
    const before = (await s.run(['ps', '-a', '-q'])).stdout;
    const r = await s.run(['run', '--rm', '--runtime', 'crun', IMG, 'echo', 'ok']);
    if (refusal) {
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, /crun refuses this host's hybrid cgroup layout because its cgroup2 mount \/sys\/fs\/cgroup\/unified has controllers \(.+\).*: use --runtime runc$/m);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    } else {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'ok\n');
    }
    assert.equal((await s.run(['ps', '-a', '-q'])).stdout, before);
    assert.equal(mounts(), 0);
  });

  test('where crun refuses (a controller on the hybrid cgroup2 mount, faked here): create and run --rm fail with one line and leave nothing', {skip: fs.existsSync('/sys/fs/cgroup/unified/cgroup.controllers') ? false : 'no hybrid cgroup layout on this host'}, async () => {
    const fake = path.join(s.dir, 'cgroup.controllers');
    fs.writeFileSync(fake, 'hugetlb\n');
    // A private mount namespace in which crun's file lists a controller, as on a fresh Debian 12 VM of this kind.
    const inNs = (args: string[]) => new Promise<{code: number | null; stderr: string}>((resolve) => {
      const c = spawn('unshare', ['-m', 'sh', '-c', 'mount --bind "$0" /sys/fs/cgroup/unified/cgroup.controllers && exec "$@"', fake, SKIFF_BIN, '--root', s.root, '--runroot', s.runroot, ...args], {env: s.env, stdio: ['ignore', 'ignore', 'pipe']});
      let stderr = '';
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.on('close', (code) => resolve({code, stderr}));
    });
    const before = (await s.run(['ps', '-a', '-q'])).stdout;
    for (const args of [['create', '--runtime', 'crun', IMG, 'true'], ['run', '--rm', '--runtime', 'crun', IMG, 'true']]) {
      const r = await inNs(args);
      assert.equal(r.code, 125, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /^Error: crun refuses this host's hybrid cgroup layout because its cgroup2 mount \/sys\/fs\/cgroup\/unified has controllers \(hugetlb\); .*: use --runtime runc\n$/);
    }
    assert.equal((await s.run(['ps', '-a', '-q'])).stdout, before);
    assert.equal(mounts(), 0);
  });

  test('--cgroups=disabled needs crun: with runc a clear error at create and no record', async () => {
    const before = (await s.run(['ps', '-a', '-q'])).stdout;
    const r = await s.run(['create', '--runtime', 'runc', '--cgroups', 'disabled', IMG, 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /requested OCI runtime runc is not compatible with NoCgroups/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal((await s.run(['ps', '-a', '-q'])).stdout, before);
  });
});

describe('identity and network', () => {
  test('--hostname and --name in /etc/hostname and /etc/hosts', async () => {
    const out = await sh(['--hostname', 'myhost', '--name', 'hn'], 'hostname; cat /etc/hostname; cat /etc/hosts');
    const [h1, h2, ...hosts] = out.split('\n');
    assert.equal(h1, 'myhost');
    assert.equal(h2, 'myhost');
    assert.ok(hosts.some((l) => /^127\.0\.0\.1\s/.test(l) && /\blocalhost\b/.test(l)), out);
    assert.ok(hosts.some((l) => /\bmyhost\b/.test(l) && /\bhn\b/.test(l)), out);
    const id = (await s.run(['create', IMG, 'hostname'])).stdout.trim();
    const st = await inspect(id);
    assert.equal(st.Config.Hostname, id.slice(0, 12), 'default hostname: the short ID');
    const run = await s.run(['start', '-a', id]);
    assert.equal(run.stdout, `${id.slice(0, 12)}\n`);
    await s.run(['rm', id]);
  });

  test('--network host sees the host interfaces and hostname; --network none only lo', async () => {
    // veths and test bridges come and go with other tests: compare the rest.
    const ifaces = (text: string) => text.split('\n').slice(2).map((l) => l.trim().split(':')[0]).filter((n) => n && !/^(veth|skt|skc)/.test(n)).sort();
    const hostIfaces = ifaces(fs.readFileSync('/proc/net/dev', 'utf8'));
    assert.deepEqual(ifaces(await sh(['--network', 'host'], 'cat /proc/net/dev')), hostIfaces);
    assert.deepEqual(ifaces(await sh(['--network', 'none'], 'cat /proc/net/dev')), ['lo']);
    assert.deepEqual(ifaces(await sh([], 'cat /proc/net/dev')), ['eth0', 'lo'], 'the default network is the bridge');
    assert.equal(await sh(['--network', 'host'], 'hostname'), `${os.hostname()}\n`);
    assert.equal((await inspect((await s.run(['create', '--network', 'host', IMG, 'true'])).stdout.trim())).HostConfig.NetworkMode, 'host');
    await s.run(['container', 'prune', '-f']);
  });

  test('--dns, --dns-search, --dns-option and --add-host', async () => {
    const out = await sh(['--add-host', 'db:10.1.2.3', '--add-host', 'v6.local:fe80::1', '--dns', '9.9.9.9', '--dns', '1.1.1.1', '--dns-search', 'example.com', '--dns-option', 'ndots:2'], 'cat /etc/hosts; echo ==; cat /etc/resolv.conf');
    const [hosts, resolv] = out.split('==\n');
    assert.match(hosts, /^10\.1\.2\.3\s+db$/m);
    assert.match(hosts, /^fe80::1\s+v6\.local$/m);
    const lines = resolv.trim().split('\n');
    assert.deepEqual(lines.filter((l) => l.startsWith('nameserver')), ['nameserver 9.9.9.9', 'nameserver 1.1.1.1']);
    assert.ok(lines.includes('search example.com'), resolv);
    assert.ok(lines.includes('options ndots:2'), resolv);
    assert.equal((await s.run(['run', '--rm', '--add-host', 'nocolon', IMG, 'true'])).code, 125);
    assert.equal((await s.run(['run', '--rm', '--dns', 'not-an-ip', IMG, 'true'])).code, 125);
  });
});

describe('inspect', () => {
  test('State, Config.Env/Cmd/Entrypoint/Labels, HostConfig.Memory and Mounts', async () => {
    const bind = fs.mkdtempSync(path.join(s.dir, 'ins-'));
    const c = await s.run(['create', '--name', 'ins', '-m', '32m', '-e', 'X=1', '-l', 'k=v', '--entrypoint', '["/bin/sh","-c"]', '-v', 'insvol:/iv', '-v', `${bind}:/b:ro`, '--tmpfs', '/t', IMG, 'echo hi; exit 3']);
    assert.equal(c.code, 0, c.stderr);
    let st = await inspect('ins');
    assert.equal(st.Id, c.stdout.trim());
    assert.equal(st.Name, 'ins');
    assert.equal(st.State.Status, 'created');
    assert.equal(st.State.Running, false);
    assert.equal(st.State.Pid, 0);
    assert.equal(st.Path, '/bin/sh');
    assert.deepEqual(st.Args, ['-c', 'echo hi; exit 3']);
    assert.deepEqual(st.Config.Cmd, ['echo hi; exit 3']);
    assert.ok([['/bin/sh', '-c'], '/bin/sh -c'].some((e) => JSON.stringify(e) === JSON.stringify(st.Config.Entrypoint)), JSON.stringify(st.Config.Entrypoint));
    assert.ok(st.Config.Env.includes('X=1'));
    assert.ok(st.Config.Env.some((e: string) => e.startsWith('PATH=')), 'image env kept');
    assert.equal(st.Config.Labels.k, 'v');
    assert.equal(st.HostConfig.Memory, 32 * 1024 * 1024);
    assert.equal(st.ImageName, IMG);
    assert.match(st.Image, /^[0-9a-f]{64}$/);
    const byDest = Object.fromEntries(st.Mounts.map((m: {Destination: string}) => [m.Destination, m]));
    assert.equal(byDest['/iv'].Type, 'volume');
    assert.equal(byDest['/iv'].Name, 'insvol');
    assert.equal(byDest['/iv'].RW, true);
    assert.ok(fs.existsSync(byDest['/iv'].Source), 'volume Source is its directory');
    assert.equal(byDest['/b'].Type, 'bind');
    assert.equal(byDest['/b'].Source, bind);
    assert.equal(byDest['/b'].RW, false);
    assert.equal(st.HostConfig.Tmpfs['/t'], '');

    const run = await s.run(['start', '-a', 'ins']);
    assert.equal(run.code, 3);
    assert.equal(run.stdout, 'hi\n');
    st = await inspect('ins');
    assert.equal(st.State.Status, 'exited');
    assert.equal(st.State.ExitCode, 3);
    assert.ok(Date.parse(st.State.FinishedAt) >= Date.parse(st.State.StartedAt));
    assert.ok(Date.parse(st.State.StartedAt) >= Date.parse(st.Created));
    assert.equal((await s.run(['inspect', '--format', '{{.State.Status}} {{.Config.Labels.k}} {{.HostConfig.Memory}}', 'ins'])).stdout, 'exited v 33554432\n');
    assert.equal((await s.run(['rm', 'ins'])).code, 0);
    assert.equal((await s.run(['volume', 'rm', 'insvol'])).code, 0);
    assert.equal(mounts(), 0);
  });
});

describe('volume options and log size', () => {
  test('--log-opt max-size caps the k8s-file log', async () => {
    const r = await s.run(['run', '--name', 'capped', '--log-opt', 'max-size=1k', IMG, 'sh', '-c', 'for i in $(seq 1 200); do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done']);
    assert.equal(r.code, 0, r.stderr);
    const file = (await s.run(['inspect', '--format', '{{.HostConfig.LogConfig.Path}}', 'capped'])).stdout.trim();
    const size = fs.statSync(file).size;
    await s.run(['rm', 'capped']);
    assert.ok(size <= 2048, `log is ${size} bytes with max-size=1k`);
  });

  test('-v SRC:DST:U chowns the source to the container user', async () => {
    const dir = fs.mkdtempSync(path.join(s.dir, 'chown-'));
    fs.writeFileSync(path.join(dir, 'f'), 'x');
    const out = await s.run(['run', '--rm', '-u', '1000:1000', '-v', `${dir}:/m:U`, IMG, 'stat', '-c', '%u:%g', '/m', '/m/f']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, '1000:1000\n1000:1000\n');
    assert.equal(fs.statSync(dir).uid, 1000, 'the host directory itself changed owner, as podman does');
  });

  test('-v SRC:DST:O is an overlay: writes never reach the host directory', async () => {
    const dir = fs.mkdtempSync(path.join(s.dir, 'ovl-'));
    fs.writeFileSync(path.join(dir, 'f'), 'lower\n');
    const out = await s.run(['run', '--rm', '-v', `${dir}:/m:O`, IMG, 'sh', '-c', 'cat /m/f; echo upper > /m/new; cat /m/new']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, 'lower\nupper\n');
    assert.deepEqual(fs.readdirSync(dir), ['f']);
    assert.equal(mounts(), 0);
  });
});
