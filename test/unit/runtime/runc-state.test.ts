import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {spawn} from 'node:child_process';
import {initAlive, readRuncState, RuncRuntime} from '../../../src/lib/runtime/oci-runtime';

function ownStart(): number {
  return startOf('self');
}

function startOf(pid: number | 'self'): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

test('initAlive: the same pid and start time; a reused pid (other start) or a gone pid is not alive', () => {
  assert.equal(initAlive({pid: process.pid, start: ownStart()}), true);
  assert.equal(initAlive({pid: process.pid, start: ownStart() + 1}), false);
  assert.equal(initAlive({pid: 0x3fffffff, start: 1}), false);
});

test('readRuncState: what runc writes, and nothing on malformed or missing files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-runc-state-'));
  try {
    const id = 'c1';
    fs.mkdirSync(path.join(dir, id));
    const write = (v: unknown) => fs.writeFileSync(path.join(dir, id, 'state.json'), typeof v === 'string' ? v : JSON.stringify(v));
    assert.equal(readRuncState(dir, 'nope'), undefined);
    write({
      id,
      init_process_pid: 42,
      init_process_start: 1234,
      cgroup_paths: {'': '/sys/fs/cgroup/unified/skiff/c1', memory: '/sys/fs/cgroup/memory/skiff/c1'},
      config: {namespaces: [{type: 'NEWNS', path: ''}, {type: 'NEWPID', path: ''}]},
    });
    assert.deepEqual(readRuncState(dir, id), {pid: 42, start: 1234, cgroupPaths: ['/sys/fs/cgroup/unified/skiff/c1', '/sys/fs/cgroup/memory/skiff/c1'], privatePid: true});
    write({init_process_pid: 42, init_process_start: 1234, config: {namespaces: [{type: 'NEWPID', path: '/proc/1/ns/pid'}]}});
    assert.equal(readRuncState(dir, id)?.privatePid, false, 'a joined pid namespace is not private');
    write({init_process_pid: 42, init_process_start: 1234});
    assert.equal(readRuncState(dir, id)?.privatePid, false);
    write('{"init_process_pid": 4');
    assert.equal(readRuncState(dir, id), undefined);
    write({init_process_pid: '42', init_process_start: 1});
    assert.equal(readRuncState(dir, id), undefined);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

/**
 * A stand-in for runc's init between its exec fifo and its exec: it names
 * itself as runc's init does, answers SIGTERM with exit 2 as Go does, and
 * after 300 ms execs `sleep`, which SIGTERM ends. Returns how it ended.
 */
async function signalStandIn(fifo: boolean): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-runc-exec-'));
  const id = 'c1';
  fs.mkdirSync(path.join(dir, id));
  if (fifo) fs.writeFileSync(path.join(dir, id, 'exec.fifo'), '');
  const child = spawn('sh', ['-c', 'printf "runc:[2:INIT]" > /proc/$$/comm; trap "exit 2" TERM; echo named; sleep 0.3; exec sleep 100'], {stdio: ['ignore', 'pipe', 'inherit']});
  try {
    const ended = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
    await new Promise((resolve) => child.stdout.once('data', resolve));
    assert.equal(fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8'), 'runc:[2:INIT]\n');
    fs.writeFileSync(path.join(dir, id, 'state.json'), JSON.stringify({init_process_pid: child.pid, init_process_start: startOf(child.pid!)}));
    await new RuncRuntime({path: '/usr/sbin/runc', stateDir: dir}).kill(id, 'TERM');
    return await ended;
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

test("kill waits for runc's init to exec the process: the signal is the process's, not Go's (exit 2)", async () => {
  assert.equal(await signalStandIn(false), 'SIGTERM');
});

test('kill of a created container (its exec fifo still there) does not wait for an exec', async () => {
  assert.equal(await signalStandIn(true), 'exit 2');
});
