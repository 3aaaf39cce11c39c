/**
 * The runtime drivers against the real thing: conmon 2.1 + runc, as root,
 * with the hand-written busybox bundle from test/helpers/bundle.ts. Each test
 * has its own temp root (runtime state dir, exit dir, log), and every
 * container is force-deleted and every conmon killed afterwards, pass or fail.
 */
import {test, describe, after} from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {spawn} from 'node:child_process';
import {Readable, Writable} from 'node:stream';
import {makeBundle, type BundleOptions} from '../helpers/bundle';
import {RuncRuntime} from '../../src/lib/runtime/oci-runtime';
import {startMonitor, type MonitorOptions, type MonitorStarted} from '../../src/lib/runtime/conmon';
import {openAttach, attach} from '../../src/lib/runtime/attach';
import {readExitFile, readOomFile, waitForExit} from '../../src/lib/runtime/exit-file';
import {readLogs} from '../../src/lib/runtime/logs';
import {resizeTerminal} from '../../src/lib/runtime/monitor/ctl';
import {isSkiffError} from '../../src/lib/util/errors';

const CONMON = '/usr/bin/conmon';
const RUNC = '/usr/sbin/runc';
const REPO = path.resolve(__dirname, '..', '..');
const skip =
  process.getuid?.() !== 0 ? 'needs root' : !fs.existsSync(CONMON) ? 'conmon not installed' : !fs.existsSync(RUNC) ? 'runc not installed' : !fs.existsSync('/bin/busybox') ? 'busybox-static not installed' : false;

/** Everything started, for the final sweep. */
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {
      // best effort
    }
  }
});

interface Env {
  root: string;
  runtime: RuncRuntime;
  exitDir: string;
  logPath: string;
  bundle: string;
  id: string;
}

let seq = 0;
function setup(bundleOpts: BundleOptions, opts: {parent?: string} = {}): Env {
  const root = opts.parent ?? fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-rt-'));
  const id = `skifftest${process.pid}x${++seq}`;
  const b = makeBundle({...bundleOpts, parent: root, name: 'bundle'});
  const env: Env = {
    root,
    runtime: new RuncRuntime({path: RUNC, stateDir: path.join(root, 'runtime')}),
    exitDir: path.join(root, 'exits'),
    logPath: path.join(root, 'ctr.log'),
    bundle: b.dir,
    id,
  };
  cleanups.push(async () => {
    const pid = readPid(path.join(b.dir, 'conmon.pid'));
    await env.runtime.delete(id, true).catch(() => {});
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(root, {recursive: true, force: true});
  });
  return env;
}

function monitorOpts(e: Env, more: Partial<MonitorOptions> = {}): MonitorOptions {
  return {conmonPath: CONMON, runtime: e.runtime, id: e.id, name: `name-${e.id}`, bundle: e.bundle, exitDir: e.exitDir, log: {driver: 'k8s-file', path: e.logPath}, ...more};
}

function readPid(file: string): number | undefined {
  try {
    return Number.parseInt(fs.readFileSync(file, 'utf8'), 10) || undefined;
  } catch {
    return undefined;
  }
}

/** Running and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Whether pid has a handler for signal sig (its bit in /proc/<pid>/status SigCgt). */
function catches(pid: number, sig: number): boolean {
  try {
    const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m !== null && (BigInt(`0x${m[1]}`) & (1n << BigInt(sig - 1))) !== 0n;
  } catch {
    return false;
  }
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A Writable that records every chunk with its stream name, in arrival order. */
function recorder(name: string, into: Array<[string, string]>): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      into.push([name, chunk.toString()]);
      cb();
    },
  });
}

function joined(rec: Array<[string, string]>, name: string): string {
  return rec
    .filter(([n]) => n === name)
    .map(([, d]) => d)
    .join('');
}

/** create → attach → start → wait: the foreground `run` path. */
async function runAttached(e: Env, streams: {stdin?: Readable} = {}, more: Partial<MonitorOptions> = {}) {
  const rec: Array<[string, string]> = [];
  const m = await startMonitor(monitorOpts(e, {stdin: Boolean(streams.stdin), ...more}));
  const session = openAttach(m.attachSocket, {stdin: streams.stdin, stdout: recorder('stdout', rec), stderr: recorder('stderr', rec)});
  await e.runtime.start(e.id);
  const r = await session.done;
  const code = await waitForExit(e.exitDir, e.id, {timeoutMs: 10_000});
  return {m, rec, detached: r.detached, code};
}

describe('conmon + runc drivers', {skip}, () => {
  test('stdout and stderr arrive through attach with their stream tags; the exit code is recorded', async () => {
    const e = setup({args: ['sh', '-c', 'echo out; echo err >&2; exit 3']});
    const {m, rec, detached, code} = await runAttached(e);
    assert.ok(m.pid > 0 && m.conmonPid > 0);
    assert.equal(detached, false);
    assert.equal(joined(rec, 'stdout'), 'out\n');
    assert.equal(joined(rec, 'stderr'), 'err\n');
    assert.equal(code, 3);
    assert.equal(readExitFile(e.exitDir, e.id), 3);
    const st = await e.runtime.state(e.id);
    assert.equal(st?.status, 'stopped');
    // The k8s-file log holds the same lines.
    const entries = [];
    for await (const x of readLogs(e.logPath)) entries.push({stream: x.stream, line: x.line});
    assert.deepEqual(entries, [
      {stream: 'stdout', line: 'out'},
      {stream: 'stderr', line: 'err'},
    ]);
    await e.runtime.delete(e.id);
    assert.equal(await e.runtime.state(e.id), undefined);
  });

  test('stdin is piped and its end reaches the container as EOF (cat exits)', async () => {
    const e = setup({args: ['cat']});
    const {rec, code} = await runAttached(e, {stdin: Readable.from([Buffer.from('hello\n'), Buffer.from('world\n')])});
    assert.equal(joined(rec, 'stdout'), 'hello\nworld\n');
    assert.equal(code, 0);
  });

  test('large stdin is split into packets conmon takes whole, large output arrives complete', async () => {
    const e = setup({args: ['sh', '-c', 'cat; echo done >&2']});
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = 97 + (i % 26);
    const {rec, code} = await runAttached(e, {stdin: Readable.from([data])});
    assert.equal(code, 0);
    const out = joined(rec, 'stdout');
    assert.equal(out.length, data.length);
    assert.equal(out, data.toString());
    assert.equal(joined(rec, 'stderr'), 'done\n');
    let logged = '';
    for await (const x of readLogs(e.logPath)) if (x.stream === 'stdout') logged += x.line;
    assert.equal(logged, data.toString(), 'partial log lines joined back into one');
  });

  test('a missing command fails create with command-not-found (127) and leaves nothing running', async () => {
    const e = setup({args: ['/no/such/command']});
    await assert.rejects(startMonitor(monitorOpts(e)), (err: unknown) => {
      assert.ok(isSkiffError(err, 'command-not-found'), String(err));
      assert.match((err as Error).message, /no such file or directory/);
      return true;
    });
    assert.equal(await e.runtime.state(e.id), undefined, 'runc state is gone');
    const conmon = readPid(path.join(e.bundle, 'conmon.pid'));
    assert.ok(conmon, 'conmon wrote its pid file');
    await until('conmon to exit', () => !alive(conmon));
    assert.equal(readExitFile(e.exitDir, e.id), undefined, 'no exit file for a container that never ran');
  });

  test('a command not on PATH is command-not-found; a non-executable one is cannot-invoke (126)', async () => {
    const a = setup({args: ['nosuchcmd']});
    await assert.rejects(startMonitor(monitorOpts(a)), (err: unknown) => isSkiffError(err, 'command-not-found') && /executable file not found/.test((err as Error).message));
    const b = setup({args: ['/etc/passwd']});
    await assert.rejects(startMonitor(monitorOpts(b)), (err: unknown) => isSkiffError(err, 'cannot-invoke') && /permission denied/.test((err as Error).message));
    assert.equal(await b.runtime.state(b.id), undefined);
  });

  test('other runtime failures are internal errors (125) carrying the runtime message, even "no such file"', async () => {
    // podman maps any "no such file or directory" to 127; only the command's own absence should be.
    const missing = path.join(os.tmpdir(), `skiff-no-such-dir-${process.pid}`);
    const e = setup({args: ['true'], mounts: [{destination: '/mnt', type: 'bind', source: missing, options: ['rbind']}]});
    await assert.rejects(startMonitor(monitorOpts(e)), (err: unknown) => {
      assert.ok(isSkiffError(err, 'internal'), String(err));
      assert.match((err as Error).message, new RegExp(`^runc: runc create failed: .*${missing}.*no such file or directory`));
      assert.ok(!(err as Error).message.includes('\n'), 'one line');
      return true;
    });
    assert.equal(await e.runtime.state(e.id), undefined);
    const f = setup({args: ['true'], cwd: '/etc/passwd/x'});
    await assert.rejects(startMonitor(monitorOpts(f)), (err: unknown) => isSkiffError(err, 'internal') && /mkdir \/etc\/passwd: not a directory/.test((err as Error).message));
  });

  test('conmon that cannot run, or that rejects its runtime, is an internal error naming the cause', async () => {
    const a = setup({args: ['true']});
    await assert.rejects(startMonitor(monitorOpts(a, {conmonPath: '/no/such/conmon'})), (err: unknown) => isSkiffError(err, 'internal') && /cannot run conmon \/no\/such\/conmon: ENOENT/.test((err as Error).message));
    const b = setup({args: ['true']});
    const bad = new RuncRuntime({path: '/no/such/runc', stateDir: path.join(b.root, 'runtime')});
    await assert.rejects(startMonitor(monitorOpts(b, {runtime: bad})), (err: unknown) => {
      assert.ok(isSkiffError(err, 'internal'), String(err));
      assert.match((err as Error).message, /^conmon failed to create container .*Runtime path \/no\/such\/runc is not valid/);
      return true;
    });
  });

  test('kill: SIGTERM reaches a handler; SIGKILL ends `sleep 100` (137); state follows', async () => {
    const a = setup({args: ['sh', '-c', 'trap "exit 42" TERM; sleep 100 & wait']});
    const ma = await startMonitor(monitorOpts(a));
    const sa = attach(ma.attachSocket, {});
    await a.runtime.start(a.id);
    const st = await a.runtime.state(a.id);
    assert.deepEqual(st, {status: 'running', pid: ma.pid});
    // SIGTERM to pid 1 without a handler is ignored: wait until sh has installed its trap (SigCgt bit 15).
    await until('sh to catch SIGTERM', () => catches(ma.pid, 15));
    await a.runtime.kill(a.id, 'TERM');
    assert.equal(await waitForExit(a.exitDir, a.id, {timeoutMs: 10_000}), 42);
    assert.deepEqual(await sa, {detached: false});

    const b = setup({args: ['sleep', '100']});
    const mb = await startMonitor(monitorOpts(b));
    await b.runtime.start(b.id);
    // pid 1 of a pid namespace ignores SIGTERM without a handler (sent at once: kill waits for runc's
    // init to exec sleep, or Go would take it and exit 2)...
    await b.runtime.kill(b.id, 'SIGTERM');
    assert.equal(await waitForExit(b.exitDir, b.id, {timeoutMs: 300}), undefined, `the container's output: ${fs.readFileSync(b.logPath, 'utf8')}`);
    assert.equal((await b.runtime.state(b.id))?.status, 'running');
    // ...but not SIGKILL.
    await b.runtime.kill(b.id, 9);
    assert.equal(await waitForExit(b.exitDir, b.id, {timeoutMs: 10_000}), 137);
    await until('conmon to exit', () => !alive(mb.conmonPid));
    await assert.rejects(b.runtime.kill(b.id, 'KILL'), (err: unknown) => isSkiffError(err, 'conflict') && /not running/.test((err as Error).message));
    await assert.rejects(b.runtime.kill(b.id, 'NOT A SIGNAL'), (err: unknown) => isSkiffError(err, 'invalid-input'));
    await b.runtime.delete(b.id);
    await assert.rejects(b.runtime.delete(b.id), (err: unknown) => isSkiffError(err, 'not-found'));
    await b.runtime.delete(b.id, true); // forced delete of nothing succeeds
  });

  test('an OOM kill is recorded: exit 137 and the oom file', async () => {
    const e = setup({args: ['sh', '-c', 'x=$(yes 0123456789abcdef | head -c 200000000); echo survived'], resources: {memory: {limit: 16 << 20, swap: 16 << 20}}});
    const persistDir = path.join(e.root, 'persist');
    const {rec, code} = await runAttached(e, {}, {persistDir});
    assert.equal(joined(rec, 'stdout'), '', 'the shell was killed');
    assert.equal(code, 137);
    await until('the oom file', () => readOomFile(persistDir));
    assert.ok(readOomFile(e.bundle), 'conmon also writes oom to its cwd, the bundle');
  });

  test('pause and resume', async () => {
    const e = setup({args: ['sleep', '100']});
    await startMonitor(monitorOpts(e));
    await e.runtime.start(e.id);
    await e.runtime.pause(e.id);
    assert.equal((await e.runtime.state(e.id))?.status, 'paused');
    await e.runtime.resume(e.id);
    assert.equal((await e.runtime.state(e.id))?.status, 'running');
    await e.runtime.kill(e.id, 'KILL');
    assert.equal(await waitForExit(e.exitDir, e.id, {timeoutMs: 10_000}), 137);
  });

  test('the exit command runs with its arguments after the container exits', async () => {
    const e = setup({args: ['true']});
    const marker = path.join(e.root, 'marker');
    const {code} = await runAttached(e, {}, {exitCommand: ['/bin/sh', '-c', `echo "$@" > ${marker}`, 'sh', 'container', 'cleanup', e.id]});
    assert.equal(code, 0);
    await until('the exit command', () => fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').endsWith('\n'));
    assert.equal(fs.readFileSync(marker, 'utf8'), `container cleanup ${e.id}\n`);
  });

  test('attach works when the socket path is longer than sockaddr_un (108 bytes)', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-rt-'));
    const parent = path.join(base, 'a'.repeat(60), 'b'.repeat(60));
    fs.mkdirSync(parent, {recursive: true});
    cleanups.push(() => fs.rmSync(base, {recursive: true, force: true})); // runs after the container's own cleanup
    const e = setup({args: ['sh', '-c', 'echo long path']}, {parent});
    const {m, rec, code} = await runAttached(e);
    assert.ok(Buffer.byteLength(m.attachSocket) > 108, m.attachSocket);
    assert.equal(joined(rec, 'stdout'), 'long path\n');
    assert.equal(code, 0);
  });

  test('detach keys on stdin end the session and leave the container running', async () => {
    const e = setup({args: ['sh', '-c', 'read x; echo got $x; sleep 100']});
    const m = await startMonitor(monitorOpts(e, {stdin: true, leaveStdinOpen: true}));
    const rec: Array<[string, string]> = [];
    const stdin = new Readable({read() {}});
    let onDetach = 0;
    const s = openAttach(m.attachSocket, {stdin, stdout: recorder('stdout', rec), detachKeys: Uint8Array.from([16, 17]), onDetach: () => onDetach++});
    await e.runtime.start(e.id);
    stdin.push('hi\n');
    await until('the echo', () => joined(rec, 'stdout') === 'got hi\n');
    stdin.push(Buffer.from([16]));
    stdin.push(Buffer.from([17]));
    assert.deepEqual(await s.done, {detached: true});
    assert.equal(onDetach, 1);
    assert.equal((await e.runtime.state(e.id))?.status, 'running');
    // A second client can attach to the still-running container.
    const again = openAttach(m.attachSocket, {});
    await e.runtime.kill(e.id, 'KILL');
    assert.deepEqual(await again.done, {detached: false});
  });

  test('a terminal container is resized through the ctl fifo', async () => {
    const e = setup({args: ['sh', '-c', 'sleep 0.5; stty size'], terminal: true});
    const rec: Array<[string, string]> = [];
    const m = await startMonitor(monitorOpts(e, {terminal: true}));
    const s = openAttach(m.attachSocket, {stdout: recorder('stdout', rec), stderr: recorder('stderr', rec)});
    await e.runtime.start(e.id);
    resizeTerminal(m.ctlPath, 41, 103);
    await s.done;
    assert.equal(joined(rec, 'stdout').trim(), '41 103');
    assert.equal(joined(rec, 'stderr'), '', 'a tty has one stream');
    assert.equal(await waitForExit(e.exitDir, e.id, {timeoutMs: 10_000}), 0);
  });

  test('conmon holds no descriptor of the process that started it', async () => {
    // A child process with an inherited, non-close-on-exec fd 30 (a file)
    // starts the monitor: that fd must not reach conmon (the addon's
    // close-on-exec sweep). Node leaves such inherited fds as they are.
    const e = setup({args: ['sleep', '100']});
    const code = `
      const {startMonitor} = require(${JSON.stringify(path.join(REPO, 'src/lib/runtime/conmon.ts'))});
      const {RuncRuntime} = require(${JSON.stringify(path.join(REPO, 'src/lib/runtime/oci-runtime.ts'))});
      const fs = require('node:fs');
      const opts = JSON.parse(process.argv[1]);
      opts.runtime = new RuncRuntime({path: opts.runtimePath, stateDir: opts.stateDir});
      startMonitor(opts).then((m) => {
        const mine = fs.readdirSync('/proc/self/fd').map((f) => { try { return fs.readlinkSync('/proc/self/fd/' + f); } catch { return ''; } });
        process.stdout.write(JSON.stringify({conmonPid: m.conmonPid, fd30: fs.readlinkSync('/proc/self/fd/30'), mine}));
      }, (err) => { process.stderr.write(String(err)); process.exit(1); });
    `;
    const args = {...monitorOpts(e), runtime: undefined, runtimePath: RUNC, stateDir: path.join(e.root, 'runtime')};
    const leakFile = path.join(e.root, 'inherited-file');
    const leakFd = fs.openSync(leakFile, 'w');
    const stdio: Array<'ignore' | 'pipe' | number> = Array(31).fill('ignore');
    stdio[1] = 'pipe';
    stdio[2] = 'pipe';
    stdio[30] = leakFd;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', code, JSON.stringify(args)], {cwd: REPO, stdio});
    fs.closeSync(leakFd);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const status = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(status, 0, err);
    const r = JSON.parse(out) as {conmonPid: number; fd30: string; mine: string[]};
    assert.equal(r.fd30, leakFile);
    const theirs = fs.readdirSync(`/proc/${r.conmonPid}/fd`).map((f) => {
      try {
        return fs.readlinkSync(`/proc/${r.conmonPid}/fd/${f}`);
      } catch {
        return ''; // closed meanwhile
      }
    });
    assert.ok(!theirs.includes(leakFile), `conmon inherited the starter's fd 30: ${theirs.join(' ')}`);
    const ours = fs.readdirSync('/proc/self/fd').map((f) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${f}`);
      } catch {
        return '';
      }
    });
    const shared = theirs.filter((l) => l !== '/dev/null' && !l.startsWith('anon_inode:') && (r.mine.includes(l) || ours.includes(l)));
    assert.deepEqual(shared, [], 'descriptors shared with the starter or the test process');
    for (const l of theirs) {
      assert.ok(l === '/dev/null' || /^(pipe|socket|anon_inode):/.test(l) || l.startsWith(e.root) || l.startsWith('/sys/fs/cgroup/'), `unexpected conmon fd: ${l}`);
    }
    await e.runtime.start(e.id);
    await e.runtime.kill(e.id, 'KILL');
    assert.equal(await waitForExit(e.exitDir, e.id, {timeoutMs: 10_000}), 137);
  });

  test('timings: conmon + runc create/start/exit for `true`', async () => {
    const e = setup({args: ['true']});
    const t0 = performance.now();
    const m: MonitorStarted = await startMonitor(monitorOpts(e));
    const t1 = performance.now();
    const s = openAttach(m.attachSocket, {});
    await e.runtime.start(e.id);
    const t2 = performance.now();
    await s.done;
    assert.equal(await waitForExit(e.exitDir, e.id, {timeoutMs: 10_000}), 0);
    const t3 = performance.now();
    await e.runtime.delete(e.id);
    const t4 = performance.now();
    const f = (x: number) => x.toFixed(1);
    console.log(`# create ${f(t1 - t0)} ms, start ${f(t2 - t1)} ms, exit seen ${f(t3 - t2)} ms, delete ${f(t4 - t3)} ms`);
  });
});

