import {test} from 'node:test';
import assert from 'node:assert/strict';
import {cgroupMode, crunRefusal} from '../../../src/lib/runtime/host';

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
