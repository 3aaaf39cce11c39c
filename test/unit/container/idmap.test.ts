import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {allocateAuto, autoSize, configuresNetnsAfterCreate, explicitMappings, hostId, makeSearchable, parseIdMap} from '../../../src/lib/container/idmap';
import {subordinateRanges} from '../../../src/lib/rootless/userns';
import {SkiffError} from '../../../src/lib/util/errors';
import {tempDir} from '../../helpers/tmp';

const bad = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof SkiffError && e.kind === 'invalid-input' && re.test(e.message));

test('--uidmap/--gidmap values: parsed, checked for overlap, gid map defaults to the uid map', () => {
  assert.deepEqual(parseIdMap('0:100000:65536', '--uidmap'), {containerID: 0, hostID: 100000, size: 65536});
  bad(() => parseIdMap('0:1', '--uidmap'), /use CONTAINER_ID:HOST_ID:SIZE/);
  bad(() => parseIdMap('0:1:0', '--uidmap'), /empty or too large/);
  bad(() => parseIdMap('0:4294967290:10', '--uidmap'), /empty or too large/);
  assert.deepEqual(explicitMappings([], []), undefined);
  const m = explicitMappings(['0:1000:10', '10:5000:5'], []);
  assert.deepEqual(m?.gid, m?.uid);
  bad(() => explicitMappings(['0:1000:10', '5:2000:10'], []), /overlap/);
  bad(() => explicitMappings(['0:1000:10', '20:1005:10'], []), /overlap/);
  bad(() => explicitMappings([], ['0:1000:10']), /--gidmap needs --uidmap/);
});

test('--userns=auto: first fit around the ranges other containers use; size option', () => {
  const pool = [{start: 100000, size: 5000}];
  assert.deepEqual(allocateAuto(pool, [], 1024, 'x'), [{containerID: 0, hostID: 100000, size: 1024}]);
  assert.deepEqual(allocateAuto(pool, [{start: 100000, size: 1024}], 1024, 'x'), [{containerID: 0, hostID: 101024, size: 1024}]);
  assert.deepEqual(allocateAuto(pool, [{start: 101024, size: 100}, {start: 100000, size: 1024}], 1000, 'x'), [{containerID: 0, hostID: 101124, size: 1000}]);
  assert.deepEqual(allocateAuto(pool, [{start: 100500, size: 10}], 400, 'x'), [{containerID: 0, hostID: 100000, size: 400}], 'a hole before a used range');
  bad(() => allocateAuto(pool, [{start: 100000, size: 4500}], 1024, 'the pool'), /no free range of 1024 ids left in the pool/);
  assert.deepEqual(allocateAuto([{start: 1, size: 10}, {start: 100, size: 2000}], [], 1024, 'x'), [{containerID: 0, hostID: 100, size: 1024}], 'a second pool range');
  assert.equal(autoSize('auto'), 1024);
  assert.equal(autoSize('auto:size=2048'), 2048);
  bad(() => autoSize('auto:size=0'), /size=N/);
  bad(() => autoSize('auto:uidmapping=0:1:1'), /size=N/);
});

test('subordinateRanges by name only (the containers entries --userns=auto allocates from)', () => {
  const f = path.join(tempDir('skiff-idmap-'), 'subuid');
  fs.writeFileSync(f, 'alice:100000:65536\ncontainers:2000000:1000000\n#x\ncontainers:5000000:10\nbad:line\n');
  assert.deepEqual(subordinateRanges(f, 'containers'), [{start: 2000000, count: 1000000}, {start: 5000000, count: 10}]);
  assert.deepEqual(subordinateRanges(f, 'nobody'), []);
  assert.deepEqual(subordinateRanges('/nonexistent', 'containers'), []);
});

test('the runtime makes the netns of a container with its own user namespace on a network skiff configures', () => {
  const maps = {uid: [{containerID: 0, hostID: 1, size: 10}], gid: [{containerID: 0, hostID: 1, size: 10}]};
  for (const mode of ['bridge', 'slirp4netns', 'pasta']) {
    assert.equal(configuresNetnsAfterCreate({userns: 'keep-id', network: {mode}}), true, mode);
    assert.equal(configuresNetnsAfterCreate({userns: 'nomap', network: {mode}}), true, mode);
    assert.equal(configuresNetnsAfterCreate({userns: 'auto', idMappings: maps, network: {mode}}), true, mode);
    assert.equal(configuresNetnsAfterCreate({userns: '', network: {mode}}), false, mode);
  }
  for (const mode of ['none', 'host', 'container', 'ns']) assert.equal(configuresNetnsAfterCreate({userns: 'keep-id', network: {mode}}), false, mode);
});

test('hostId: container id through a map, 65534 when unmapped', () => {
  const m = [{containerID: 0, hostID: 1, size: 1000}, {containerID: 1000, hostID: 0, size: 1}];
  assert.equal(hostId(m, 0), 1);
  assert.equal(hostId(m, 999), 1000);
  assert.equal(hostId(m, 1000), 0);
  assert.equal(hostId(m, 1001), 65534);
});

test('makeSearchable adds x for all on each directory up to /, nothing else', () => {
  const dir = tempDir('skiff-searchable-');
  const a = path.join(dir, 'a');
  const b = path.join(a, 'b');
  fs.mkdirSync(b, {recursive: true});
  fs.chmodSync(dir, 0o700);
  fs.chmodSync(a, 0o750);
  fs.chmodSync(b, 0o700);
  makeSearchable(b);
  assert.equal(fs.statSync(b).mode & 0o777, 0o711);
  assert.equal(fs.statSync(a).mode & 0o777, 0o751);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o711);
});
