import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {convertSeccompProfile, type SeccompProfile} from '../../../src/lib/runtime/spec/seccomp';
import {loadSeccompProfile, SECCOMP_DEFAULT_PATH} from '../../../src/lib/runtime/spec/seccomp-load';
import {DEFAULT_CAPABILITIES} from '../../../src/lib/runtime/spec/capabilities';
import {isSkiffError} from '../../../src/lib/util/errors';

const profile: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  defaultErrno: 'ENOSYS',
  archMap: [
    {architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32']},
    {architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM']},
  ],
  syscalls: [
    {names: ['read', 'write'], action: 'SCMP_ACT_ALLOW'},
    {name: 'personality', action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 8, op: 'SCMP_CMP_EQ'}]},
    {names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: {arches: ['amd64', 'x32']}},
    {names: ['s390_only'], action: 'SCMP_ACT_ALLOW', includes: {arches: ['s390x']}},
    {names: ['not_on_arm'], action: 'SCMP_ACT_ALLOW', excludes: {arches: ['arm64']}},
    {names: ['chroot'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_CHROOT']}},
    {names: ['chroot'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: {caps: ['CAP_SYS_CHROOT']}},
    {names: ['new_call'], action: 'SCMP_ACT_ALLOW', includes: {minKernel: '5.8'}},
    {names: ['named_errno'], action: 'SCMP_ACT_ERRNO', errno: 'EPERM', errnoRet: 22},
  ],
};

const names = (s: ReturnType<typeof convertSeccompProfile>) => s!.syscalls.map((c) => c.names.join(',') + ':' + c.action + (c.errnoRet !== undefined ? ':' + c.errnoRet : ''));

test('architectures come from the archMap entry for the native arch', () => {
  assert.deepEqual(convertSeccompProfile(profile, {arch: 'amd64', capabilities: []})!.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.deepEqual(convertSeccompProfile(profile, {arch: 'arm64', capabilities: []})!.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.equal(convertSeccompProfile(profile, {arch: 'riscv64', capabilities: []})!.architectures, undefined);
});

test('x32: false drops SCMP_ARCH_X32 from the archMap entry and from an explicit list; true or absent keeps it', () => {
  const listed: SeccompProfile = {...profile, archMap: undefined, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']};
  for (const p of [profile, listed]) {
    const arches = (x32?: boolean) => convertSeccompProfile(p, {arch: 'amd64', capabilities: [], x32})!.architectures;
    assert.deepEqual(arches(false), ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    assert.deepEqual(arches(true), ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.deepEqual(arches(undefined), ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    // Only the architectures change: the rules are the same.
    assert.deepEqual(convertSeccompProfile(p, {arch: 'amd64', capabilities: [], x32: false})!.syscalls, convertSeccompProfile(p, {arch: 'amd64', capabilities: []})!.syscalls);
  }
  // Nothing else is dropped, and a list of X32 alone leaves the native architecture (libseccomp's default).
  assert.deepEqual(convertSeccompProfile(profile, {arch: 'arm64', capabilities: [], x32: false})!.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.equal(convertSeccompProfile({...profile, archMap: undefined, architectures: ['SCMP_ARCH_X32']}, {arch: 'amd64', capabilities: [], x32: false})!.architectures, undefined);
});

test('the errno name wins over the number (containers/common getErrno)', () => {
  const s = convertSeccompProfile(profile, {arch: 'amd64', capabilities: []})!;
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.defaultErrnoRet, 38);
  assert.ok(names(s).includes('named_errno:SCMP_ACT_ERRNO:1'));
});

test('includes/excludes by arch, caps and minKernel', () => {
  const table: Array<[string, string[], string | undefined, string[]]> = [
    ['amd64', [], undefined, ['read,write:SCMP_ACT_ALLOW', 'personality:SCMP_ACT_ALLOW', 'arch_prctl:SCMP_ACT_ALLOW', 'not_on_arm:SCMP_ACT_ALLOW', 'chroot:SCMP_ACT_ERRNO:1', 'new_call:SCMP_ACT_ALLOW', 'named_errno:SCMP_ACT_ERRNO:1']],
    ['arm64', ['CAP_SYS_CHROOT'], '5.4.0', ['read,write:SCMP_ACT_ALLOW', 'personality:SCMP_ACT_ALLOW', 'chroot:SCMP_ACT_ALLOW', 'named_errno:SCMP_ACT_ERRNO:1']],
    ['s390x', [...DEFAULT_CAPABILITIES], '6.1.0-18-amd64', ['read,write:SCMP_ACT_ALLOW', 'personality:SCMP_ACT_ALLOW', 's390_only:SCMP_ACT_ALLOW', 'not_on_arm:SCMP_ACT_ALLOW', 'chroot:SCMP_ACT_ALLOW', 'new_call:SCMP_ACT_ALLOW', 'named_errno:SCMP_ACT_ERRNO:1']],
  ];
  for (const [arch, caps, kernel, want] of table) assert.deepEqual(names(convertSeccompProfile(profile, {arch, capabilities: caps, kernel})), want, arch);
  const p = convertSeccompProfile(profile, {arch: 'amd64', capabilities: []})!.syscalls.find((c) => c.names[0] === 'personality')!;
  assert.deepEqual(p.args, [{index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ'}]);
});

test('malformed profiles are rejected with a clear error', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{...profile, architectures: ['SCMP_ARCH_X86_64']}, /'architectures' and 'archMap'/],
    [{defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{name: 'a', names: ['b'], action: 'SCMP_ACT_ALLOW'}]}, /both 'name' and 'names'/],
    [{defaultAction: 'SCMP_ACT_ERRNO', defaultErrno: 'EWHAT', syscalls: []}, /unknown errno EWHAT/],
    [[], /not a JSON object/],
  ];
  for (const [p, re] of bad) assert.throws(() => convertSeccompProfile(p as SeccompProfile, {arch: 'amd64', capabilities: []}), (e: unknown) => isSkiffError(e, 'invalid-input') && re.test(e.message));
  assert.equal(convertSeccompProfile({defaultAction: '', syscalls: []}, {arch: 'amd64', capabilities: []}), undefined);
});

test("podman's installed profile converts, and its capability rules follow the bounding set", {skip: !fs.existsSync(SECCOMP_DEFAULT_PATH)}, () => {
  const p = loadSeccompProfile('default');
  const dflt = convertSeccompProfile(p, {arch: 'amd64', capabilities: DEFAULT_CAPABILITIES})!;
  const admin = convertSeccompProfile(p, {arch: 'amd64', capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']})!;
  const rule = (s: typeof dflt, n: string) => s.syscalls.filter((c) => c.names.includes(n)).map((c) => c.action);
  assert.deepEqual(rule(dflt, 'bpf'), ['SCMP_ACT_ERRNO']);
  assert.deepEqual(rule(admin, 'bpf'), ['SCMP_ACT_ALLOW']);
  assert.ok(rule(dflt, 'read').includes('SCMP_ACT_ALLOW'));
  assert.ok(dflt.architectures?.includes('SCMP_ARCH_X86_64'));
});

test('loadSeccompProfile: missing default says where a profile is expected; bad JSON is named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-seccomp-'));
  try {
    assert.throws(
      () => loadSeccompProfile('default', [path.join(dir, 'a.json'), path.join(dir, 'b.json')]),
      (e: unknown) => isSkiffError(e, 'not-found') && e.message.includes(path.join(dir, 'a.json')) && e.message.includes('seccomp=unconfined'),
    );
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{nope');
    assert.throws(() => loadSeccompProfile(bad), (e: unknown) => isSkiffError(e, 'invalid-input') && e.message.startsWith(`decoding seccomp profile failed: ${bad}`));
    assert.throws(() => loadSeccompProfile(path.join(dir, 'none.json')), (e: unknown) => isSkiffError(e, 'not-found'));
    const good = path.join(dir, 'b.json');
    fs.writeFileSync(good, JSON.stringify(profile));
    assert.equal(loadSeccompProfile('default', [path.join(dir, 'a.json'), good]).defaultAction, 'SCMP_ACT_ERRNO');
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
