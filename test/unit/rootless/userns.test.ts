import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {mappingArgs, subordinateRanges, readIdMap} from '../../../src/lib/rootless/userns';
import {keepIdMapping, parseUserns, splitAtExtents} from '../../../src/lib/rootless/keep-id';

describe('rootless user namespace helpers', () => {
  it('reads subordinate ranges by name or uid, in file order', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-subuid-'));
    try {
      const f = path.join(dir, 'subuid');
      fs.writeFileSync(f, 'alice:100000:65536\nbob:165536:65536\n1001:300000:1000\nalice:400000:10\nbad:x:1\n\n');
      assert.deepEqual(subordinateRanges(f, 'alice', 1001), [{start: 100000, count: 65536}, {start: 300000, count: 1000}, {start: 400000, count: 10}]);
      assert.deepEqual(subordinateRanges(f, 'carol', 2000), []);
      assert.deepEqual(subordinateRanges(path.join(dir, 'missing'), 'alice', 1), []);
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });

  it('maps the user to 0 and each range after it', () => {
    assert.deepEqual(mappingArgs(1001, []), ['0', '1001', '1']);
    assert.deepEqual(mappingArgs(1001, [{start: 100000, count: 65536}, {start: 200000, count: 10}]), ['0', '1001', '1', '1', '100000', '65536', '65537', '200000', '10']);
  });

  it('parses id maps', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-map-'));
    try {
      fs.writeFileSync(path.join(dir, 'm'), '         0       1001          1\n         1     100000      65536\n');
      assert.deepEqual(readIdMap(path.join(dir, 'm')), [{inner: 0, outer: 1001, count: 1}, {inner: 1, outer: 100000, count: 65536}]);
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });

  it('keep-id: the user is itself inside, the rest shifted around it, split at the parent extents', () => {
    assert.deepEqual(keepIdMapping(1001, 65537), [
      {containerID: 0, hostID: 1, size: 1001},
      {containerID: 1001, hostID: 0, size: 1},
      {containerID: 1002, hostID: 1002, size: 64535},
    ]);
    assert.deepEqual(keepIdMapping(1001, 1), [{containerID: 1001, hostID: 0, size: 1}]);
    assert.deepEqual(keepIdMapping(70000, 65537), [{containerID: 0, hostID: 1, size: 65536}, {containerID: 70000, hostID: 0, size: 1}]);
    const parent = [{inner: 0, count: 1}, {inner: 1, count: 65536}, {inner: 65537, count: 65536}];
    assert.deepEqual(splitAtExtents(keepIdMapping(1001, 131073), parent), [
      {containerID: 0, hostID: 1, size: 1001},
      {containerID: 1001, hostID: 0, size: 1},
      {containerID: 1002, hostID: 1002, size: 64535},
      {containerID: 65537, hostID: 65537, size: 65536},
    ]);
  });

  it('--userns values', () => {
    assert.equal(parseUserns(undefined), '');
    assert.equal(parseUserns('host'), '');
    assert.throws(() => parseUserns('bogus'), /invalid --userns "bogus"/);
    assert.throws(() => parseUserns('ns:/proc/1/ns/user'), /is not supported/);
    if (process.getuid?.() === 0) {
      assert.throws(() => parseUserns('keep-id'), /keep-id is only supported in rootless mode/);
      assert.throws(() => parseUserns('nomap'), /nomap is only supported in rootless mode/);
      assert.equal(parseUserns('auto'), 'auto');
      assert.equal(parseUserns('auto:size=10'), 'auto');
    }
  });
});
