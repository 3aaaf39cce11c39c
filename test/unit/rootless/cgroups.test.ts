/**
 * Rootless cgroup v2 delegation: detection and the limits decision, on a
 * fake cgroup tree in a temp directory (this host is cgroup v1/hybrid, so
 * the real path cannot run here). Writability is what the kernel decides
 * by ownership; the test gives it as the set of directories the user owns.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {applicableLimits, findDelegation, unifiedPath} from '../../../src/lib/rootless/cgroups';
import {tempDir} from '../../helpers/tmp';

const USER = '/user.slice/user-1000.slice';
const SERVICE = `${USER}/user@1000.service`;
const SCOPE = `${SERVICE}/app.slice/run-r1.scope`;

function fakeTree(controllers: string): string {
  const root = tempDir('skiff-cgroup-');
  for (const d of [SCOPE, `${USER}/session-3.scope`]) fs.mkdirSync(path.join(root, d), {recursive: true});
  fs.writeFileSync(path.join(root, SERVICE, 'cgroup.controllers'), controllers);
  return root;
}

/** The user owns user@1000.service and everything below it (systemd's Delegate=yes). */
const owned = (root: string) => (dir: string) => dir === path.join(root, SERVICE) || dir.startsWith(path.join(root, SERVICE) + '/');

test('unifiedPath reads the v2 line of /proc/PID/cgroup (v1 lines ignored)', () => {
  assert.equal(unifiedPath(`12:pids:/user.slice\n1:name=systemd:/x\n0::${SCOPE}\n`), SCOPE);
  assert.equal(unifiedPath('12:pids:/user.slice\n'), undefined);
  assert.equal(unifiedPath('0::\n'), undefined);
});

test('delegation root: the topmost user-writable cgroup above skiff\'s own, with its controllers', () => {
  const root = fakeTree('cpuset cpu io memory pids\n');
  assert.deepEqual(findDelegation(root, SCOPE, owned(root)), {path: SERVICE, controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids']});
});

test('no delegation: an ssh session scope (not the user\'s), skiff directly in the root, nothing writable', () => {
  const root = fakeTree('memory pids\n');
  assert.equal(findDelegation(root, `${USER}/session-3.scope`, owned(root)), undefined, 'the session scope belongs to root');
  assert.equal(findDelegation(root, SERVICE, owned(root)), undefined, 'processes in the delegation root itself: no children with controllers');
  assert.equal(findDelegation(root, SCOPE, () => false), undefined);
  assert.equal(findDelegation(root, '/', owned(root)), undefined);
});

test('limits: those whose controller is delegated apply; the others are named; pids default off without pids', () => {
  const r = {memory: 64 << 20, cpus: 1.5, pidsLimit: 50, cpusetCpus: '0'};
  assert.deepEqual(applicableLimits(r, ['cpuset', 'cpu', 'io', 'memory', 'pids']), {apply: r, missing: []});
  assert.deepEqual(applicableLimits(r, ['memory']), {apply: {memory: 64 << 20, pidsLimit: 0}, missing: ['cpu', 'cpuset', 'pids']});
  assert.deepEqual(applicableLimits({}, ['memory', 'pids']), {apply: {}, missing: []}, 'the default pids limit stays when pids is delegated');
  assert.deepEqual(applicableLimits({}, ['memory']), {apply: {pidsLimit: 0}, missing: []});
});
