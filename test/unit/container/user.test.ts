import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {parseGroup, parsePasswd, readRootfsFile, resolveUser, rootfsReader, type RootfsReader} from '../../../src/lib/container/user';
import {isSkiffError} from '../../../src/lib/util/errors';

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# comment
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:1001::/home/bob:/bin/sh
broken:line
nohome:x:1002:1002:::/bin/sh
`;
const GROUP = `root:x:0:
wheel:x:10:alice,bob
audio:x:29:alice
alice:x:1000:
bob:x:1001:
staff:x:50:
`;

const reader = (files: Record<string, string>): RootfsReader => (p) => files[p];
const etc = reader({'/etc/passwd': PASSWD, '/etc/group': GROUP});

test('parsers skip comments and broken lines', () => {
  assert.equal(parsePasswd(PASSWD).length, 5);
  assert.deepEqual(parseGroup(GROUP)[1], {name: 'wheel', gid: 10, members: ['alice', 'bob']});
});

test('resolveUser: GetExecUser rules', () => {
  const cases: Array<[string, string[], {uid: number; gid: number; additionalGids: number[]; home: string}]> = [
    ['', [], {uid: 0, gid: 0, additionalGids: [], home: '/root'}],
    ['root', [], {uid: 0, gid: 0, additionalGids: [], home: '/root'}],
    ['alice', [], {uid: 1000, gid: 1000, additionalGids: [10, 29], home: '/home/alice'}],
    ['1000', [], {uid: 1000, gid: 1000, additionalGids: [10, 29], home: '/home/alice'}],
    ['alice:staff', [], {uid: 1000, gid: 50, additionalGids: [], home: '/home/alice'}],
    ['alice:4242', [], {uid: 1000, gid: 4242, additionalGids: [], home: '/home/alice'}],
    ['4242', [], {uid: 4242, gid: 0, additionalGids: [], home: '/'}],
    ['4242:4343', [], {uid: 4242, gid: 4343, additionalGids: [], home: '/'}],
    ['nohome', [], {uid: 1002, gid: 1002, additionalGids: [], home: '/'}],
    ['bob', ['audio', '777', 'wheel'], {uid: 1001, gid: 1001, additionalGids: [10, 29, 777], home: '/home/bob'}],
  ];
  for (const [spec, add, want] of cases) assert.deepEqual(resolveUser(spec, add, etc), want, spec);
});

test('resolveUser: unknown names fail with podman wording', () => {
  const bad: Array<[string, string[], string]> = [
    ['nope', [], 'unable to find user nope: no matching entries in passwd file'],
    ['alice:nogroup', [], 'unable to find group nogroup: no matching entries in group file'],
    ['alice', ['nogroup'], 'unable to find group nogroup: no matching entries in group file'],
    ['alice', ['keep-groups'], '--group-add keep-groups is not supported: it needs crun, and skiff runs containers with runc'],
    ['99999999999', [], 'uid 99999999999 is out of range'],
  ];
  for (const [spec, add, msg] of bad) assert.throws(() => resolveUser(spec, add, etc), (e: unknown) => isSkiffError(e, 'invalid-input') && e.message === msg, spec);
  // no passwd file at all: numbers still work, names do not
  assert.deepEqual(resolveUser('123:45', [], reader({})), {uid: 123, gid: 45, additionalGids: [], home: '/'});
  assert.throws(() => resolveUser('alice', [], reader({})), /unable to find user alice/);
});

test('readRootfsFile never leaves the rootfs (symlinked /etc, symlinked passwd, ..)', () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-user-'));
  try {
    const outside = path.join(top, 'host-secret');
    fs.writeFileSync(outside, 'hostroot:x:0:0::/:/bin/sh\n');
    const root = path.join(top, 'rootfs');
    fs.mkdirSync(path.join(root, 'real'), {recursive: true});
    fs.writeFileSync(path.join(root, 'real', 'passwd'), 'inside:x:5:5::/in:/bin/sh\n');
    fs.writeFileSync(path.join(root, 'host-secret'), 'decoy:x:6:6::/decoy:/bin/sh\n');
    // /etc -> /real (absolute: must restart at the rootfs, not the host root)
    fs.symlinkSync('/real', path.join(root, 'etc'));
    assert.equal(readRootfsFile(root, '/etc/passwd'), 'inside:x:5:5::/in:/bin/sh\n');
    // a passwd that points above the root resolves to the rootfs's own file of that name
    fs.symlinkSync('../../../../host-secret', path.join(root, 'real', 'group'));
    assert.equal(readRootfsFile(root, '/etc/group'), 'decoy:x:6:6::/decoy:/bin/sh\n');
    fs.symlinkSync(outside, path.join(root, 'real', 'shadow'));
    assert.equal(readRootfsFile(root, '/etc/shadow'), undefined, 'absolute host path does not exist inside the rootfs');
    fs.symlinkSync('loop', path.join(root, 'real', 'loop'));
    assert.throws(() => readRootfsFile(root, '/etc/loop'), (e: unknown) => isSkiffError(e, 'storage') && /too many levels/.test(e.message));
    assert.equal(readRootfsFile(root, '/etc/missing'), undefined);
    assert.equal(readRootfsFile(root, '/nodir/passwd'), undefined);
    assert.deepEqual(resolveUser('inside', [], rootfsReader(root)), {uid: 5, gid: 5, additionalGids: [], home: '/in'});
  } finally {
    fs.rmSync(top, {recursive: true, force: true});
  }
});
