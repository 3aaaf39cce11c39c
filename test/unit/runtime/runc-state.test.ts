import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {initAlive, readRuncState} from '../../../src/lib/runtime/oci-runtime';

function ownStart(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
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
