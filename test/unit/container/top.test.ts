import {test} from 'node:test';
import assert from 'node:assert/strict';
import {DEFAULT_DESCRIPTORS, goDuration, psgoDescriptors, topTable} from '../../../src/lib/container/top';

test('descriptors: psgo names and AIX codes, comma or space separated; anything else is for ps(1)', () => {
  assert.deepEqual(psgoDescriptors([]), DEFAULT_DESCRIPTORS);
  assert.deepEqual(psgoDescriptors(['pid,comm']), ['pid', 'comm']);
  assert.deepEqual(psgoDescriptors(['pid', 'user', 'args']), ['pid', 'user', 'args']);
  assert.deepEqual(psgoDescriptors(['%p %u %C']), ['pid', 'user', 'pcpu']);
  assert.equal(psgoDescriptors(['-eo', 'pid,comm']), undefined);
  assert.equal(psgoDescriptors(['pid,rss']), undefined);
});

test("Go's Duration.String()", () => {
  assert.equal(goDuration(0), '0s');
  assert.equal(goDuration(1500), '1.5µs');
  assert.equal(goDuration(20_000_000), '20ms');
  assert.equal(goDuration(12_010_000_000), '12.01s');
  assert.equal(goDuration(3_723_500_000_000), '1h2m3.5s');
  assert.equal(goDuration(60_000_000_000), '1m0s');
});

test('this process as a "container": pid, user from the given passwd, comm, args', () => {
  const t = topTable(['hpid', 'user', 'comm', 'args', 'state'], {
    pids: [process.pid],
    readFile: (p) => (p === '/etc/passwd' ? `someone:x:${process.getuid!()}:0::/:/bin/sh\n` : undefined),
  });
  assert.deepEqual(t[0], ['HPID', 'USER', 'COMMAND', 'COMMAND', 'STATE']);
  assert.equal(t.length, 2);
  assert.equal(t[1][0], String(process.pid));
  assert.equal(t[1][1], 'someone');
  assert.equal(t[1][2], 'node');
  assert.match(t[1][3], /node/);
  assert.match(t[1][4], /^[RS]$/);
});
