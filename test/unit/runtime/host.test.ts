import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {cgroupMode, crunRefusal, findBinary} from '../../../src/lib/runtime/host';

const line = (target: string, fstype: string) => `30 25 0:26 / ${target} rw,nosuid - ${fstype} ${fstype} rw`;

test('cgroupMode: cgroup2 at /sys/fs/cgroup is v2; v1 controllers plus a cgroup2 mount elsewhere is hybrid; else v1', () => {
  assert.equal(cgroupMode(line('/sys/fs/cgroup', 'cgroup2')), 'v2');
  assert.equal(cgroupMode([line('/sys/fs/cgroup/cpu', 'cgroup'), line('/sys/fs/cgroup/unified', 'cgroup2')].join('\n')), 'hybrid');
  assert.equal(cgroupMode(line('/sys/fs/cgroup/cpu', 'cgroup')), 'v1');
});

test('crun is refused on a hybrid layout only while its cgroup2 mount has controllers, and the reason names them and the fix', () => {
  const why = crunRefusal('hybrid', 'hugetlb\n');
  assert.ok(why);
  assert.match(why, /cgroup2 mount \/sys\/fs\/cgroup\/unified has controllers \(hugetlb\)/);
  assert.match(why, /mount -t cgroup -o hugetlb cgroup \/sys\/fs\/cgroup\/hugetlb/);
  assert.doesNotMatch(why, /\n/);
  assert.match(crunRefusal('hybrid', 'hugetlb misc\n') ?? '', /\(hugetlb, misc\)/);
  // What crun itself checks: an empty cgroup.controllers (no controller left on the v2 side) is fine.
  assert.equal(crunRefusal('hybrid', ''), undefined);
  assert.equal(crunRefusal('hybrid', '\n'), undefined);
  assert.equal(crunRefusal('v1', 'hugetlb'), undefined);
  assert.equal(crunRefusal('v2', 'cpu memory pids'), undefined);
});

test('findBinary: first executable regular file along PATH; remembers a hit only while it is still there', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-findbin-'));
  try {
    const [a, b] = ['a', 'b'].map((d) => path.join(dir, d));
    for (const d of [a, b]) fs.mkdirSync(d);
    const env = {PATH: `${path.join(dir, 'missing')}:${a}:${b}`};
    const name = `skiff-test-tool-${process.pid}`;
    assert.equal(findBinary(name, env), undefined);
    fs.writeFileSync(path.join(b, name), '#!/bin/sh\n', {mode: 0o755});
    fs.mkdirSync(path.join(a, name)); // a directory of that name is skipped
    assert.equal(findBinary(name, env), path.join(b, name));
    assert.equal(findBinary(name, env), path.join(b, name));
    // Not executable any more: the remembered hit is dropped and the search goes on.
    fs.chmodSync(path.join(b, name), 0o644);
    assert.equal(findBinary(name, env), undefined);
    fs.rmSync(path.join(b, name));
    assert.equal(findBinary(name, env), undefined);
    fs.rmdirSync(path.join(a, name));
    fs.writeFileSync(path.join(a, name), '#!/bin/sh\n', {mode: 0o755});
    assert.equal(findBinary(name, env), path.join(a, name));
    // An explicit path is checked as given.
    assert.equal(findBinary(path.join(a, name), env), path.join(a, name));
    assert.equal(findBinary(path.join(b, name), env), undefined);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
