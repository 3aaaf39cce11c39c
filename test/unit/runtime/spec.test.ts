import {test, after} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {spawnSync} from 'node:child_process';
import type {ContainerConfig} from '../../../src/lib/container/types';
import type {ImageConfig} from '../../../src/lib/image/manifest';
import {buildSpec, type SpecInput} from '../../../src/lib/runtime/spec/build';
import {DEFAULT_CAPABILITIES, capabilitiesFromMask} from '../../../src/lib/runtime/spec/capabilities';
import {hostCapabilities, hostRlimits, parseProcLimits, splitDev, statDevice, listHostDevices} from '../../../src/lib/runtime/spec/host';
import {sortMounts, resolveMountRequest} from '../../../src/lib/runtime/spec/mounts';
import {serializeSpec, type OciSpec} from '../../../src/lib/runtime/spec/oci-types';
import {convertSeccompProfile, goArch} from '../../../src/lib/runtime/spec/seccomp';
import {loadSeccompProfile, SECCOMP_DEFAULT_PATH} from '../../../src/lib/runtime/spec/seccomp-load';
import {cgroupMode} from '../../../src/lib/runtime/host';
import {isSkiffError} from '../../../src/lib/util/errors';

function config(over: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    id: 'c0ffee', name: 'test', created: '2024-01-01T00:00:00Z', image: 'abc', imageName: 'busybox',
    args: ['/bin/true'], entrypoint: null, cmd: null, env: [], workingDir: '', user: '', groupAdd: [], hostname: 'c0ffee',
    labels: {}, annotations: {}, tty: false, interactive: false, mounts: [], readOnly: false, readOnlyTmpfs: true, shmSize: 0,
    capAdd: [], capDrop: [], privileged: false, seccomp: 'default', noNewPrivileges: false, sysctls: {}, devices: [],
    resources: {}, ulimits: [], cgroups: 'enabled', network: {mode: 'none'}, dns: [], dnsSearch: [], dnsOptions: [], addHosts: [],
    autoRemove: false, init: false, stopSignal: 'SIGTERM', stopTimeout: 10, restart: {name: 'no'}, logDriver: 'k8s-file', logOpts: {},
    sdnotify: 'ignore', runtime: 'runc', storageDriver: 'overlay',
    ...over,
  };
}

const IMAGE: ImageConfig = {architecture: 'amd64', os: 'linux', config: {Env: ['PATH=/bin:/usr/bin', 'IMG=1'], WorkingDir: '/work'}, rootfs: {type: 'layers', diff_ids: []}};
const HOST_LIMITS = {nofile: {soft: 1024, hard: 20000}, nproc: {soft: 500, hard: 1000}, core: {soft: 0, hard: Infinity}};

function input(over: Partial<SpecInput> = {}, cfg: Partial<ContainerConfig> = {}): SpecInput {
  return {
    config: config(cfg), image: IMAGE, rootfs: '/rootfs', user: {uid: 0, gid: 0, additionalGids: [], home: '/root'},
    files: {hosts: '/b/hosts', hostname: '/b/hostname', resolvConf: '/b/resolv.conf'}, mounts: [], devices: [],
    hostRlimits: HOST_LIMITS, cgroupMode: 'v1', cgroupsPath: '/skiff/c0ffee',
    seccomp: {defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW'}]},
    ...over,
  };
}

const dests = (s: OciSpec) => s.mounts.map((m) => m.destination);

test('process: args, cwd, env merge with podman defaults, HOSTNAME, HOME, TERM only with a tty', () => {
  const s = buildSpec(input({}, {env: ['IMG=2', 'USER=x']}));
  assert.deepEqual(s.process.args, ['/bin/true']);
  assert.equal(s.process.cwd, '/work');
  assert.deepEqual(s.process.env, ['PATH=/bin:/usr/bin', 'container=podman', 'IMG=2', 'USER=x', 'HOSTNAME=c0ffee', 'HOME=/root']);
  const t = buildSpec(input({image: {...IMAGE, config: {}}}, {tty: true, workingDir: '/x', env: ['HOME=/h']}));
  assert.deepEqual(t.process.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'container=podman', 'TERM=xterm', 'HOME=/h', 'HOSTNAME=c0ffee']);
  assert.equal(t.process.terminal, true);
  assert.equal(t.process.cwd, '/x');
  assert.equal(buildSpec(input({image: {...IMAGE, config: {}}})).process.cwd, '/');
  assert.equal(s.process.user.umask, 0o022);
  assert.equal(s.hostname, 'c0ffee');
});

test('capabilities: defaults, add/drop, ALL, privileged, non-root, host bounding set', () => {
  const caps = (cfg: Partial<ContainerConfig>, uid = 0, host?: string[]) => buildSpec(input({user: {uid, gid: 0, additionalGids: [], home: '/'}, hostCapabilities: host}, cfg)).process.capabilities;
  const d = caps({});
  assert.deepEqual([...d.bounding].sort(), [...DEFAULT_CAPABILITIES].sort());
  assert.deepEqual(d.effective, d.bounding);
  assert.deepEqual(d.permitted, d.bounding);
  assert.deepEqual(d.inheritable, []);
  assert.deepEqual(d.ambient, []);
  const a = caps({capAdd: ['CAP_NET_ADMIN'], capDrop: ['CAP_CHOWN']});
  assert.ok(a.bounding.includes('CAP_NET_ADMIN') && !a.bounding.includes('CAP_CHOWN'));
  assert.deepEqual(caps({capDrop: ['ALL'], capAdd: ['CAP_KILL']}).bounding, ['CAP_KILL']);
  assert.equal(caps({capAdd: ['ALL'], capDrop: ['CAP_SYS_ADMIN']}).bounding.length, 40);
  assert.equal(caps({privileged: true}).bounding.length, 41);
  assert.ok(!caps({privileged: true}, 0, ['CAP_CHOWN', 'CAP_KILL']).bounding.includes('CAP_SYS_ADMIN'), 'never more than the engine holds');
  const u = caps({capAdd: ['CAP_NET_BIND_SERVICE']}, 1000);
  assert.deepEqual([...u.bounding].sort(), [...DEFAULT_CAPABILITIES].sort());
  assert.deepEqual(u.effective, ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(u.ambient, ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(u.inheritable, ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(caps({}, 1000).effective, []);
  assert.deepEqual(capabilitiesFromMask('a0'), ['CAP_KILL', 'CAP_SETUID']);
});

test('rlimits: podman defaults for nofile/nproc, clamped to the host hard limit, soft ≤ hard, -1 = host max', () => {
  const r = (ulimits: ContainerConfig['ulimits']) => Object.fromEntries(buildSpec(input({}, {ulimits})).process.rlimits.map((l) => [l.type, [l.soft, l.hard]]));
  assert.deepEqual(r([]), {RLIMIT_NOFILE: [20000, 20000], RLIMIT_NPROC: [1000, 1000]});
  assert.deepEqual(r([{name: 'nofile', soft: 100, hard: 200}]), {RLIMIT_NOFILE: [100, 200], RLIMIT_NPROC: [1000, 1000]});
  assert.deepEqual(r([{name: 'nofile', soft: 15000, hard: 50000}]).RLIMIT_NOFILE, [15000, 20000]);
  assert.deepEqual(r([{name: 'nofile', soft: 30000, hard: 50000}]).RLIMIT_NOFILE, [20000, 20000]);
  assert.deepEqual(r([{name: 'nproc', soft: -1, hard: -1}]).RLIMIT_NPROC, [1000, 1000]);
  assert.deepEqual(r([{name: 'core', soft: 0, hard: -1}]).RLIMIT_CORE, [0, Infinity]);
  const text = serializeSpec(buildSpec(input({}, {ulimits: [{name: 'core', soft: -1, hard: -1}]})));
  assert.match(text, /"hard":18446744073709551615/);
  assert.equal(JSON.parse(text).process.rlimits.length, 3);
});

test('mounts: defaults, shm size, etc files, user mounts supersede and sort parents first', () => {
  const s = buildSpec(input({mounts: [
    {type: 'bind', source: '/h/sub', destination: '/data/sub', options: ['ro', 'z']},
    {type: 'bind', source: '/h', destination: '/data', options: ['rshared']},
    {type: 'tmpfs', destination: '/dev/shm', options: ['size=1000']},
    {type: 'tmpfs', destination: '/scratch', options: ['exec', 'notmpcopyup']},
  ]}, {shmSize: 128 * 1024 * 1024}));
  assert.deepEqual(dests(s), ['/proc', '/dev', '/sys', '/data', '/scratch', '/dev/pts', '/dev/mqueue', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/data/sub', '/dev/shm', '/sys/fs/cgroup']);
  const by = (d: string) => s.mounts.find((m) => m.destination === d)!;
  assert.deepEqual(by('/data/sub').options, ['ro', 'rprivate', 'rbind']);
  assert.deepEqual(by('/data').options, ['rw', 'rshared', 'rbind']);
  assert.deepEqual(by('/dev/shm').options, ['rw', 'size=1000', 'nosuid', 'nodev', 'noexec', 'rprivate', 'tmpcopyup']);
  assert.deepEqual(by('/scratch').options, ['rw', 'exec', 'nosuid', 'nodev', 'rprivate']);
  assert.equal(by('/etc/hosts').source, '/b/hosts');
  assert.ok(by('/sys').options!.includes('ro'));
  assert.ok(by('/sys/fs/cgroup').options!.includes('ro'));
  assert.ok(buildSpec(input()).mounts.find((m) => m.destination === '/dev/shm')!.options!.includes(`size=${64 * 1024 * 1024}`));
  assert.ok(buildSpec(input({}, {shmSize: 128 * 1024 * 1024})).mounts.find((m) => m.destination === '/dev/shm')!.options!.includes(`size=${128 * 1024 * 1024}`));
  const p = buildSpec(input({}, {privileged: true}));
  assert.ok(p.mounts.find((m) => m.destination === '/sys')!.options!.includes('rw'));
  assert.ok(p.mounts.find((m) => m.destination === '/sys/fs/cgroup')!.options!.includes('rw'));
  assert.deepEqual(sortMounts([{destination: '/a/b/c', type: 'x', source: 'x'}, {destination: '/a/', type: 'x', source: 'x'}, {destination: '/a/b', type: 'x', source: 'x'}]).map((m) => m.destination), ['/a/', '/a/b', '/a/b/c']);
  assert.deepEqual(resolveMountRequest({type: 'volume', name: 'v', destination: '/d', options: ['ro']}, '/vols/v/_data'), {type: 'bind', source: '/vols/v/_data', destination: '/d', options: ['ro']});
});

test('--read-only: read-only root with writable tmpfs on /tmp, /var/tmp, /run unless read-only-tmpfs is off', () => {
  const s = buildSpec(input({}, {readOnly: true}));
  assert.equal(s.root.readonly, true);
  for (const d of ['/tmp', '/var/tmp', '/run']) assert.equal(s.mounts.find((m) => m.destination === d)?.type, 'tmpfs', d);
  const n = buildSpec(input({}, {readOnly: true, readOnlyTmpfs: false}));
  assert.ok(!dests(n).includes('/tmp'));
  assert.ok(!dests(buildSpec(input())).includes('/tmp'));
});

test('linux: namespaces, masked/readonly paths, resources, devices, sysctl, seccomp, cgroups', () => {
  const s = buildSpec(input());
  assert.deepEqual(s.linux.namespaces.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'network']);
  assert.deepEqual(buildSpec(input({cgroupMode: 'v2'})).linux.namespaces.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'network', 'cgroup']);
  assert.deepEqual(buildSpec(input({}, {network: {mode: 'host'}})).linux.namespaces.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount']);
  assert.ok(s.linux.maskedPaths.includes('/proc/kcore') && s.linux.readonlyPaths.includes('/proc/sys'));
  assert.equal(s.linux.cgroupsPath, '/skiff/c0ffee');
  assert.deepEqual(s.linux.resources!.devices[0], {allow: false, access: 'rwm'});
  assert.ok(s.linux.resources!.devices.some((d) => d.allow && d.major === 1 && d.minor === 3));
  assert.deepEqual(s.linux.resources!.pids, {limit: 2048});
  assert.equal(s.linux.resources!.memory, undefined);
  assert.ok(s.linux.seccomp);
  const r = buildSpec(input({}, {resources: {memory: 64 << 20, memoryReservation: 32 << 20, cpus: 1.5, cpuShares: 512, cpusetCpus: '0', pidsLimit: -1, blkioWeight: 300}})).linux.resources!;
  assert.deepEqual(r.memory, {limit: 64 << 20, swap: 128 << 20, reservation: 32 << 20});
  assert.deepEqual(r.cpu, {period: 100000, quota: 150000, shares: 512, cpus: '0'});
  assert.equal(r.pids, undefined);
  assert.deepEqual(r.blockIO, {weight: 300});
  assert.deepEqual(buildSpec(input({}, {resources: {memory: 64 << 20, memorySwap: -1}})).linux.resources!.memory, {limit: 64 << 20, swap: -1});
  const dev = buildSpec(input({devices: [{containerPath: '/dev/xnull', permissions: 'rw', node: {type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0}}]}));
  assert.deepEqual(dev.linux.devices, [{path: '/dev/xnull', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0}]);
  assert.deepEqual(dev.linux.resources!.devices.at(-1), {allow: true, type: 'c', major: 1, minor: 3, access: 'rw'});
  const p = buildSpec(input({hostDevices: [{path: '/dev/sda', type: 'b', major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6}]}, {privileged: true}));
  assert.deepEqual(p.linux.resources!.devices, [{allow: true, access: 'rwm'}]);
  assert.deepEqual(p.linux.devices.map((d) => d.path), ['/dev/sda']);
  assert.deepEqual(p.linux.maskedPaths, []);
  assert.equal(p.linux.seccomp, undefined, '--privileged drops the default profile');
  assert.ok(buildSpec(input({}, {privileged: true, seccomp: '/my/profile.json'})).linux.seccomp, 'but keeps one the user named');
  assert.equal(buildSpec(input({}, {seccomp: 'unconfined'})).linux.seccomp, undefined);
  assert.deepEqual(buildSpec(input({}, {sysctls: {'net.ipv4.ip_forward': '1'}})).linux.sysctl, {'net.ipv4.ip_forward': '1'});
  assert.throws(() => buildSpec(input({}, {network: {mode: 'host'}, sysctls: {'net.ipv4.ip_forward': '1'}})), (e: unknown) => isSkiffError(e, 'invalid-input') && /Network Namespace set to host/.test(e.message));
  const nc = buildSpec(input({}, {cgroups: 'disabled'}));
  assert.equal(nc.linux.cgroupsPath, undefined);
  assert.equal(nc.linux.resources, undefined);
  assert.deepEqual(buildSpec(input({}, {privileged: true, autoRemove: true, annotations: {a: 'b'}})).annotations, {a: 'b', 'io.podman.annotations.autoremove': 'TRUE', 'io.podman.annotations.privileged': 'TRUE'});
  assert.equal(buildSpec(input({oomScoreAdj: 100})).process.oomScoreAdj, 100);
  assert.equal(buildSpec(input()).process.oomScoreAdj, undefined);
});

test('host readers: /proc limits text, device numbers', () => {
  const l = parseProcLimits('Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 20000                files\nMax core file size        0                    unlimited            bytes\n');
  assert.deepEqual(l, {nofile: {soft: 1024, hard: 20000}, core: {soft: 0, hard: Infinity}});
  assert.ok(hostRlimits().nofile.hard > 0);
  assert.deepEqual(splitDev(0x103), {major: 1, minor: 3});
  assert.deepEqual(splitDev(0x8810), {major: 136, minor: 16});
  assert.deepEqual(statDevice('/dev/null'), {type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0});
  assert.throws(() => statDevice('/etc/hostname'), (e: unknown) => isSkiffError(e, 'invalid-input') && /not a valid device/.test(e.message));
  assert.ok(hostCapabilities().includes('CAP_CHOWN'));
  assert.ok(listHostDevices().some((d) => d.path === '/dev/null'));
});

// ---------------------------------------------------------------------------
// Real runc: every generated spec must run, and the settings must take effect.

const RUNC = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc'].find((p) => fs.existsSync(p));
const canRun = !!RUNC && process.getuid?.() === 0 && fs.existsSync('/bin/busybox');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-spec-'));
const runcRoot = path.join(work, 'runc-state');
after(() => {
  fs.rmSync(work, {recursive: true, force: true});
  // runc delete removes each container's cgroup; the shared parent is ours to remove (empty cgroup dirs rmdir cleanly).
  for (const base of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified', ...(fs.existsSync('/sys/fs/cgroup') ? fs.readdirSync('/sys/fs/cgroup').map((d) => path.join('/sys/fs/cgroup', d)) : [])]) {
    try {
      fs.rmdirSync(path.join(base, 'skiff-spec-test'));
    } catch {
      /* absent or not ours */
    }
  }
});

let counter = 0;
function makeBundle(): {dir: string; rootfs: string} {
  const dir = path.join(work, `b${++counter}`);
  const rootfs = path.join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'sys', 'etc', 'tmp', 'root', 'work']) fs.mkdirSync(path.join(rootfs, d), {recursive: true});
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'true', 'cat', 'grep', 'swapoff', 'id', 'touch', 'echo']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  fs.writeFileSync(path.join(dir, 'hosts'), '127.0.0.1 localhost\n');
  fs.writeFileSync(path.join(dir, 'hostname'), 'c0ffee\n');
  fs.writeFileSync(path.join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
  return {dir, rootfs};
}

const HOST_MODE = cgroupMode();
const SECCOMP = fs.existsSync(SECCOMP_DEFAULT_PATH) ? loadSeccompProfile('default') : undefined;

/** Builds the spec for cfg, runs it with runc and returns the result; the container is always deleted. */
function run(cfg: Partial<ContainerConfig>, extra: (b: {dir: string; rootfs: string}) => Partial<SpecInput> = () => ({})): {status: number | null; stdout: string; stderr: string; spec: OciSpec} {
  const b = makeBundle();
  const id = `skiff-spec-${process.pid}-${counter}`;
  const c = config({id, hostname: 'c0ffee', ...cfg});
  const hostCaps = hostCapabilities();
  const caps = c.privileged ? hostCaps : buildSpec(input({hostCapabilities: hostCaps}, c)).process.capabilities.bounding;
  const base: SpecInput = {
    ...input({}, c),
    config: c,
    rootfs: b.rootfs,
    image: {...IMAGE, config: {Env: ['PATH=/bin'], WorkingDir: '/work'}},
    files: {hosts: path.join(b.dir, 'hosts'), hostname: path.join(b.dir, 'hostname'), resolvConf: path.join(b.dir, 'resolv.conf')},
    hostRlimits: hostRlimits(),
    hostCapabilities: hostCaps,
    cgroupMode: HOST_MODE,
    cgroupsPath: `/skiff-spec-test/${id}`,
    seccomp: SECCOMP && convertSeccompProfile(SECCOMP, {arch: goArch(), capabilities: caps, kernel: os.release()}),
    ...(c.privileged ? {hostDevices: listHostDevices()} : {}),
    ...extra(b),
  };
  const spec = buildSpec(base);
  fs.writeFileSync(path.join(b.dir, 'config.json'), serializeSpec(spec));
  try {
    const r = spawnSync(RUNC!, ['--root', runcRoot, 'run', '--bundle', b.dir, id], {encoding: 'utf8', timeout: 30000, stdio: ['ignore', 'pipe', 'pipe']});
    return {status: r.status, stdout: r.stdout, stderr: r.stderr, spec};
  } finally {
    spawnSync(RUNC!, ['--root', runcRoot, 'delete', '-f', id], {stdio: 'ignore'});
  }
}

const sh = (script: string) => ({args: ['/bin/sh', '-c', script]});

test('runc runs the spec of every option combination', {skip: !canRun && 'needs root, runc and /bin/busybox'}, () => {
  const combos: Array<[string, Partial<ContainerConfig>, ((b: {dir: string; rootfs: string}) => Partial<SpecInput>)?]> = [
    ['defaults', {}],
    ['privileged', {privileged: true}],
    ['read-only with tmpfs', {readOnly: true, ...sh('touch /tmp/x /run/x /var/tmp/x')}],
    ['non-root user with cap-add', {capAdd: ['CAP_NET_BIND_SERVICE']}, () => ({user: {uid: 1000, gid: 1000, additionalGids: [10, 20], home: '/'}})],
    ['resources', {resources: {memory: 64 << 20, memorySwap: 128 << 20, memoryReservation: 32 << 20, cpus: 0.5, cpuShares: 512, pidsLimit: 100, blkioWeight: 500}}],
    ['drop ALL', {capDrop: ['ALL']}],
    ['add ALL', {capAdd: ['ALL']}],
    ['no-new-privileges, unconfined seccomp, host network, sysctl', {noNewPrivileges: true, seccomp: 'unconfined', network: {mode: 'host'}}],
    ['sysctl in private netns', {sysctls: {'net.ipv4.ip_unprivileged_port_start': '80'}}],
    ['ulimits', {ulimits: [{name: 'nofile', soft: 512, hard: 1024}, {name: 'core', soft: -1, hard: -1}]}],
    ['mounts', {...sh('cat /data/f && touch /scratch/x && cat /vol/g')}, (b) => {
      fs.mkdirSync(path.join(b.dir, 'h'));
      fs.writeFileSync(path.join(b.dir, 'h', 'f'), 'f');
      fs.mkdirSync(path.join(b.dir, 'v'));
      fs.writeFileSync(path.join(b.dir, 'v', 'g'), 'g');
      return {mounts: [
        {type: 'bind', source: path.join(b.dir, 'h'), destination: '/data', options: ['ro']},
        {type: 'tmpfs', destination: '/scratch', options: ['size=1m']},
        resolveMountRequest({type: 'volume', name: 'v', destination: '/vol', options: []}, path.join(b.dir, 'v')),
      ]};
    }],
    ['device', {...sh('echo hi > /dev/mynull')}, () => ({devices: [{containerPath: '/dev/mynull', permissions: 'rw', node: statDevice('/dev/null')}]})],
    ['shm size and oom score', {shmSize: 16 << 20}, () => ({oomScoreAdj: 500})],
  ];
  for (const [name, cfg, extra] of combos) {
    const r = run({args: ['/bin/true'], ...cfg}, extra);
    assert.equal(r.status, 0, `${name}: runc exited ${r.status}: ${r.stderr.trim()} ${r.stdout.trim()}`);
  }
});

test('a dropped capability is missing inside (CapEff)', {skip: !canRun && 'needs root, runc and /bin/busybox'}, () => {
  const eff = (cfg: Partial<ContainerConfig>) => {
    const r = run({...sh('grep CapEff /proc/self/status'), ...cfg});
    assert.equal(r.status, 0, r.stderr);
    return capabilitiesFromMask(r.stdout.split(':')[1]);
  };
  const dflt = eff({});
  assert.deepEqual([...dflt].sort(), [...DEFAULT_CAPABILITIES].sort());
  const dropped = eff({capDrop: ['CAP_CHOWN']});
  assert.ok(!dropped.includes('CAP_CHOWN'));
  assert.ok(dropped.includes('CAP_KILL'));
  assert.deepEqual(eff({capDrop: ['ALL']}), []);
});

test('the memory limit reaches the cgroup', {skip: (!canRun || HOST_MODE === 'v2') && 'needs root, runc, busybox and cgroup v1 memory'}, () => {
  const r = run({...sh('cat /sys/fs/cgroup/memory/memory.limit_in_bytes'), resources: {memory: 64 << 20}});
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), String(64 << 20));
});

test('nofile is clamped to the host hard limit', {skip: !canRun && 'needs root, runc and /bin/busybox'}, () => {
  const hard = hostRlimits().nofile.hard;
  const r = run({...sh('grep "Max open files" /proc/self/limits')});
  assert.equal(r.status, 0, r.stderr);
  const [soft, h] = r.stdout.trim().split(/\s{2,}/).slice(1, 3).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  assert.equal(h, Math.min(hard, 1048576));
  assert.equal(soft, h);
  const asked = run({...sh('grep "Max open files" /proc/self/limits'), ulimits: [{name: 'nofile', soft: 100, hard: 200}]});
  assert.match(asked.stdout, /Max open files\s+100\s+200\s/);
});

test('the default seccomp profile blocks swapoff(2) with EPERM even with CAP_SYS_ADMIN', {skip: (!canRun || !SECCOMP) && 'needs root, runc, busybox and podman seccomp.json'}, () => {
  // With CAP_SYS_ADMIN the kernel would answer ENOENT for a missing file; the profile answers EPERM first.
  const confined = run({...sh('swapoff /nonexistent 2>&1; true'), capAdd: ['CAP_SYS_ADMIN']});
  assert.equal(confined.status, 0, confined.stderr);
  assert.match(confined.stdout, /Operation not permitted/);
  assert.ok(confined.spec.linux.seccomp!.syscalls.some((c) => c.names.includes('swapoff') && c.action === 'SCMP_ACT_ERRNO'));
  const unconfined = run({...sh('swapoff /nonexistent 2>&1; true'), capAdd: ['CAP_SYS_ADMIN'], seccomp: 'unconfined'});
  assert.match(unconfined.stdout, /No such file or directory/);
});
