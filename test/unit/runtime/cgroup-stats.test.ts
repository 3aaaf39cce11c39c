import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {cgroupDirs, cgroupPids, parseBlkioBytes, parseCgroupMounts, parseIoStat, parseLimit, parseNetDev, parseProcCgroup, readCgroupStats} from '../../../src/lib/runtime/cgroup-stats';

const FIX = path.join(__dirname, 'fixtures', 'cgroup');
const fx = (p: string) => fs.readFileSync(path.join(FIX, p), 'utf8');

test('v2: the unified mount at /sys/fs/cgroup and the 0:: line give one directory', () => {
  const m = parseCgroupMounts(fx('v2/mountinfo'));
  assert.equal(m.v2, '/sys/fs/cgroup');
  assert.equal(m.v1.size, 0);
  const d = cgroupDirs(fx('v2/proc-cgroup'), fx('v2/mountinfo'));
  assert.deepEqual(d, {version: 'v2', cpu: '/sys/fs/cgroup/machine.slice/skiff-0123abcd.scope', memory: '/sys/fs/cgroup/machine.slice/skiff-0123abcd.scope', io: '/sys/fs/cgroup/machine.slice/skiff-0123abcd.scope', pids: '/sys/fs/cgroup/machine.slice/skiff-0123abcd.scope', procs: '/sys/fs/cgroup/machine.slice/skiff-0123abcd.scope'});
});

test('v2: cpu.stat, memory.current minus inactive_file, max = host memory, io.stat summed over devices, pids', () => {
  const dir = path.join(FIX, 'v2', 'ctr');
  const s = readCgroupStats({version: 'v2', cpu: dir, memory: dir, io: dir, pids: dir, procs: dir}, 8e9);
  assert.deepEqual(s, {cpuNs: 1234567000, memUsage: 52428800 - 20971520, memLimit: 8e9, blockRead: 1048576 + 2097152, blockWrite: 4096 + 8192, pids: 3});
  assert.deepEqual(cgroupPids({version: 'v2', procs: dir}), [1234, 1240, 1241]);
});

test('v2: a memory.max below the host memory is the limit', () => {
  const tmp = fs.mkdtempSync('/tmp/skiff-cg-');
  try {
    for (const f of fs.readdirSync(path.join(FIX, 'v2', 'ctr'))) fs.copyFileSync(path.join(FIX, 'v2', 'ctr', f), path.join(tmp, f));
    fs.writeFileSync(path.join(tmp, 'memory.max'), '67108864\n');
    assert.equal(readCgroupStats({version: 'v2', memory: tmp}, 8e9).memLimit, 67108864);
  } finally {
    fs.rmSync(tmp, {recursive: true, force: true});
  }
});

test('hybrid (v1 controllers plus an empty cgroup2 mount): the v1 controllers are used', () => {
  const m = parseCgroupMounts(fx('v1/mountinfo'));
  assert.equal(m.v2, '/sys/fs/cgroup/unified');
  assert.equal(m.v1.get('memory'), '/sys/fs/cgroup/memory');
  assert.equal(m.v1.get('cpuacct'), '/sys/fs/cgroup/cpuacct');
  assert.equal(m.v1.has('name=systemd'), false);
  const d = cgroupDirs(fx('v1/proc-cgroup'), fx('v1/mountinfo'));
  assert.equal(d.version, 'v1');
  assert.equal(d.memory, '/sys/fs/cgroup/memory/skiff/18b0f481');
  assert.equal(d.cpu, '/sys/fs/cgroup/cpuacct/skiff/18b0f481');
  assert.equal(d.io, '/sys/fs/cgroup/blkio/skiff/18b0f481');
  assert.equal(d.procs, '/sys/fs/cgroup/pids/skiff/18b0f481');
});

test('v1: cpuacct.usage, usage_in_bytes minus total_inactive_file, the unlimited number, blkio Read/Write', () => {
  const v1 = path.join(FIX, 'v1');
  const s = readCgroupStats({version: 'v1', cpu: path.join(v1, 'cpuacct'), memory: path.join(v1, 'memory'), io: path.join(v1, 'blkio'), pids: path.join(v1, 'pids')}, 8e9);
  assert.deepEqual(s, {cpuNs: 30256795, memUsage: 339968 - 69632, memLimit: 8e9, blockRead: 4096, blockWrite: 12288, pids: 1});
});

test('parsers: /proc/<pid>/cgroup, limits, io.stat, blkio, net/dev', () => {
  const p = parseProcCgroup('4:memory:/a\n2:cpu,cpuacct:/b\n0::/c\n');
  assert.equal(p.get('memory'), '/a');
  assert.equal(p.get('cpuacct'), '/b');
  assert.equal(p.get('cpu'), '/b');
  assert.equal(p.get(''), '/c');
  assert.equal(parseLimit('max\n'), undefined);
  assert.equal(parseLimit('9223372036854771712'), undefined);
  assert.equal(parseLimit('1048576\n'), 1048576);
  assert.deepEqual(parseIoStat(''), {read: 0, write: 0});
  assert.deepEqual(parseBlkioBytes('Total 0\n'), {read: 0, write: 0});
  assert.deepEqual(parseNetDev(fx('netdev')), {rx: 12345, tx: 6789, interfaces: 1});
});
