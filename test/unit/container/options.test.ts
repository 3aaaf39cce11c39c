import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../../../src/lib/container/options';
import {isSkiffError} from '../../../src/lib/util/errors';

/** Asserts fn throws an invalid-input SkiffError whose message matches. */
function rejects(fn: () => unknown, msg: RegExp | string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSkiffError(err, 'invalid-input'), `expected invalid-input, got ${String(err)}`);
    if (typeof msg === 'string') assert.equal(err.message, msg);
    else assert.match(err.message, msg);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
}

test('parseSize: docker units, case-insensitive, fractions', () => {
  const cases: Array<[string, number]> = [
    ['0', 0], ['512', 512], ['512b', 512], ['1k', 1024], ['1K', 1024], ['1kb', 1024], ['1KiB', 1024], ['512m', 512 * 1024 ** 2],
    ['1.5g', 1.5 * 1024 ** 3], ['2G', 2 * 1024 ** 3], ['1t', 1024 ** 4], ['64 m', 64 * 1024 ** 2], ['.5k', 512],
  ];
  for (const [spec, want] of cases) assert.equal(o.parseSize(spec), want, spec);
  for (const bad of ['', 'm', '-1', '1x', '1mbb', '1kib2', '1mi', 'abc', '1.2.3m']) rejects(() => o.parseSize(bad, '--shm-size'), /^invalid value for --shm-size: invalid size: /);
});

test('parseUlimit: go-units rules and podman wording', () => {
  assert.deepEqual(o.parseUlimit('nofile=1024:2048'), {name: 'nofile', soft: 1024, hard: 2048});
  assert.deepEqual(o.parseUlimit('nofile=1024'), {name: 'nofile', soft: 1024, hard: 1024});
  assert.deepEqual(o.parseUlimit('nproc=-1'), {name: 'nproc', soft: -1, hard: -1});
  assert.deepEqual(o.parseUlimit('core=0:-1'), {name: 'core', soft: 0, hard: -1});
  assert.deepEqual(o.parseUlimit('RLIMIT_NOFILE=10:20'), {name: 'nofile', soft: 10, hard: 20});
  rejects(() => o.parseUlimit('nofile'), /invalid ulimit argument: nofile/);
  rejects(() => o.parseUlimit('bogus=1'), /invalid ulimit type: bogus/);
  rejects(() => o.parseUlimit('nofile=2048:1024'), 'ulimit soft limit must be less than or equal to hard limit: 2048 > 1024');
  rejects(() => o.parseUlimit('nofile=-1:1024'), 'ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 1024');
  rejects(() => o.parseUlimit('nofile=1:2:3'), /too many limit value arguments/);
  rejects(() => o.parseUlimit('nofile=abc'), /invalid value "abc"/);
});

test('parseMemoryFlags and parseCpus', () => {
  assert.deepEqual(o.parseMemoryFlags({memory: '512m'}), {memory: 512 * 1024 ** 2, memorySwap: 1024 * 1024 ** 2});
  assert.deepEqual(o.parseMemoryFlags({memory: '512m', memorySwap: '-1'}), {memory: 512 * 1024 ** 2, memorySwap: -1});
  assert.deepEqual(o.parseMemoryFlags({memory: '1g', memorySwap: '1g', memoryReservation: '256m'}), {memory: 1024 ** 3, memorySwap: 1024 ** 3, memoryReservation: 256 * 1024 ** 2});
  assert.deepEqual(o.parseMemoryFlags({}), {});
  rejects(() => o.parseMemoryFlags({memory: '1m'}), /minimum memory limit allowed is 6MB/);
  rejects(() => o.parseMemoryFlags({memory: '1g', memorySwap: '512m'}), 'minimum memoryswap limit should be larger than memory limit, see usage');
  rejects(() => o.parseMemoryFlags({memorySwap: '1g'}), /always set the memory limit/);
  rejects(() => o.parseMemoryFlags({memory: 'lots'}), "invalid value for memory: invalid size: 'lots'");
  assert.equal(o.parseCpus('1.5'), 1.5);
  assert.equal(o.parseCpus('.5'), 0.5);
  assert.equal(o.parseCpus('2'), 2);
  for (const bad of ['', 'x', '-1', '1,5']) rejects(() => o.parseCpus(bad), /for "--cpus" flag/);
});

test('parseRestart', () => {
  assert.deepEqual(o.parseRestart('no'), {name: 'no'});
  assert.deepEqual(o.parseRestart('always'), {name: 'always'});
  assert.deepEqual(o.parseRestart('unless-stopped'), {name: 'unless-stopped'});
  assert.deepEqual(o.parseRestart('on-failure'), {name: 'on-failure', maxRetries: 0});
  assert.deepEqual(o.parseRestart('on-failure:3'), {name: 'on-failure', maxRetries: 3});
  rejects(() => o.parseRestart('always:3'), 'restart policy retries can only be specified with on-failure restart policy');
  rejects(() => o.parseRestart('sometimes'), /^invalid restart policy: sometimes/);
  rejects(() => o.parseRestart('on-failure:x'), /retry count/);
});

test('parseDevice: podman ParseDevice forms', () => {
  const cases: Array<[string, {hostPath: string; containerPath: string; permissions: string}]> = [
    ['/dev/fuse', {hostPath: '/dev/fuse', containerPath: '/dev/fuse', permissions: 'rwm'}],
    ['/dev/sdc:/dev/xvdc', {hostPath: '/dev/sdc', containerPath: '/dev/xvdc', permissions: 'rwm'}],
    ['/dev/sdc:/dev/xvdc:r', {hostPath: '/dev/sdc', containerPath: '/dev/xvdc', permissions: 'r'}],
    ['/dev/sdc:rw', {hostPath: '/dev/sdc', containerPath: '/dev/sdc', permissions: 'rw'}],
  ];
  for (const [spec, want] of cases) assert.deepEqual(o.parseDevice(spec), want, spec);
  rejects(() => o.parseDevice('/dev/sdc:/dev/xvdc:rwx'), 'invalid device mode "rwx" in device "/dev/sdc:/dev/xvdc:rwx"');
  rejects(() => o.parseDevice('/dev/sdc:xvdc'), /invalid device mode "xvdc"/);
  rejects(() => o.parseDevice('/dev/sdc:/a:'), /empty device mode/);
  rejects(() => o.parseDevice(''), /invalid device specification/);
  rejects(() => o.parseDevice('a:b:c:d'), /invalid device specification/);
  rejects(() => o.parseDevice('/dev/sdc:rr'), /invalid device mode "rr"/);
});

test('parseSysctl: only namespaced sysctls', () => {
  assert.deepEqual(o.parseSysctl(['net.ipv4.ip_forward=1', 'kernel.shmmax=1000', 'fs.mqueue.msg_max=20', 'net.ipv4.ping_group_range=0 2000']), {
    'net.ipv4.ip_forward': '1',
    'kernel.shmmax': '1000',
    'fs.mqueue.msg_max': '20',
    'net.ipv4.ping_group_range': '0 2000',
  });
  assert.deepEqual(o.parseSysctl(['net.a=b=c']), {'net.a': 'b=c'});
  rejects(() => o.parseSysctl(['kernel.hostname=x']), "sysctl 'kernel.hostname' is not allowed");
  rejects(() => o.parseSysctl(['vm.swappiness=1']), "sysctl 'vm.swappiness' is not allowed");
  rejects(() => o.parseSysctl(['net.ipv4.ip_forward']), 'net.ipv4.ip_forward is invalid, sysctl values must be in the form of KEY=VALUE');
  rejects(() => o.parseSysctl(['net.ipv4.ip_forward = 1']), /extra spaces found/);
});

test('env: -e NAME copies or drops, NAME= is empty, files then flags', () => {
  const file = o.parseEnvFile('# comment\n\nA=1\n  B=two words \nHOSTVAR\nMISSING\nC=\nD="quoted"\r\n');
  assert.deepEqual(file, ['A=1', 'B=two words ', 'HOSTVAR', 'MISSING', 'C=', 'D="quoted"']);
  const host = {HOSTVAR: 'from-host', OTHER: 'o'};
  assert.deepEqual(o.resolveEnv([], [file], host), ['A=1', 'B=two words ', 'HOSTVAR=from-host', 'C=', 'D="quoted"']);
  assert.deepEqual(o.resolveEnv(['A=override', 'OTHER', 'NOPE', 'E=', 'F=x=y'], [file], host), [
    'A=override', 'B=two words ', 'HOSTVAR=from-host', 'C=', 'D="quoted"', 'OTHER=o', 'E=', 'F=x=y',
  ]);
  rejects(() => o.resolveEnv(['=x'], [], {}), /empty name/);
  rejects(() => o.parseEnvFile('GOOD=1\nBAD NAME=2\n', 'my.env'), /^my\.env:2: /);
});

test('parseLabels', () => {
  assert.deepEqual(o.parseLabels(['a=1', 'b', 'c=x=y', 'a=2'], [o.parseLabelFile('# c\nz=file\na=file\n')]), {z: 'file', a: '2', b: '', c: 'x=y'});
  rejects(() => o.parseLabels(['=v']), /empty name/);
});

test('parseSecurityOpt', () => {
  assert.deepEqual(o.parseSecurityOpt(['seccomp=unconfined']), {seccomp: 'unconfined', ignored: []});
  assert.deepEqual(o.parseSecurityOpt(['seccomp=/etc/p.json', 'no-new-privileges']), {seccomp: '/etc/p.json', noNewPrivileges: true, ignored: []});
  assert.deepEqual(o.parseSecurityOpt(['no-new-privileges=false']).noNewPrivileges, false);
  assert.deepEqual(o.parseSecurityOpt(['no-new-privileges:true']).noNewPrivileges, true);
  const r = o.parseSecurityOpt(['label=disable', 'apparmor=unconfined']);
  assert.deepEqual(r.ignored.map((i) => i.option), ['label=disable', 'apparmor=unconfined']);
  assert.match(r.ignored[0].reason, /SELinux/);
  rejects(() => o.parseSecurityOpt(['no-new-privileges=maybe']), /no-new-privileges must be true or false/);
  rejects(() => o.parseSecurityOpt(['bogus=1']), 'invalid --security-opt 2: "bogus=1"');
  rejects(() => o.parseSecurityOpt(['bogus']), 'invalid --security-opt 1: "bogus"');
});

test('normalizeCapabilities', () => {
  assert.deepEqual(o.normalizeCapabilities(['NET_ADMIN', 'cap_sys_time', 'net_admin'], ['all']), {add: ['CAP_NET_ADMIN', 'CAP_SYS_TIME'], drop: ['ALL']});
  assert.deepEqual(o.normalizeCapabilities(['ALL'], ['CAP_CHOWN']), {add: ['ALL'], drop: ['CAP_CHOWN']});
  rejects(() => o.normalizeCapabilities(['NET_FOO'], []), 'invalid value "NET_FOO" for --cap-add: "CAP_NET_FOO": unknown capability');
  rejects(() => o.normalizeCapabilities(['ALL'], ['all']), 'adding all caps and removing all caps not allowed');
  rejects(() => o.normalizeCapabilities(['chown'], ['CAP_CHOWN']), 'capability "CAP_CHOWN" cannot be dropped and added');
});

test('parseStopSignal', () => {
  const cases: Array<[string, string]> = [
    ['TERM', 'SIGTERM'], ['SIGTERM', 'SIGTERM'], ['sigkill', 'SIGKILL'], ['9', 'SIGKILL'], ['15', 'SIGTERM'], ['SIGRTMIN+3', 'SIGRTMIN+3'],
    ['RTMAX', 'SIGRTMAX'], ['37', 'SIGRTMIN+3'], ['SIGIOT', 'SIGABRT'], ['winch', 'SIGWINCH'],
  ];
  for (const [spec, want] of cases) assert.equal(o.parseStopSignal(spec), want, spec);
  for (const bad of ['', 'SIGFOO', '0', '65', '32', 'RTMIN+40', '-1']) rejects(() => o.parseStopSignal(bad), /^invalid signal: /);
});

test('parseLogOpt', () => {
  assert.deepEqual(o.parseLogOpt(['max-size=10mb', 'path=/tmp/x.log', 'tag={{.Name}}']), {'max-size': '10mb', path: '/tmp/x.log', tag: '{{.Name}}'});
  rejects(() => o.parseLogOpt(['max-size=huge']), /invalid size/);
  rejects(() => o.parseLogOpt(['color=blue']), /unknown option color/);
  rejects(() => o.parseLogOpt(['path']), /expected KEY=VALUE/);
});

test('parseVolume: binds, named and anonymous volumes, options', () => {
  const cases: Array<[string, unknown]> = [
    ['/data', {type: 'volume', name: '', destination: '/data', options: [], anonymous: true}],
    ['/host:/ctr', {type: 'bind', source: '/host', destination: '/ctr', options: []}],
    ['/host:/ctr:ro', {type: 'bind', source: '/host', destination: '/ctr', options: ['ro']}],
    ['/host:/ctr/:rw,Z,U,rshared', {type: 'bind', source: '/host', destination: '/ctr', options: ['rw', 'rshared'], relabel: 'Z', chown: true}],
    ['/host:/ctr:z', {type: 'bind', source: '/host', destination: '/ctr', options: [], relabel: 'z'}],
    ['/host:/ctr:O', {type: 'bind', source: '/host', destination: '/ctr', options: [], overlay: true}],
    ['./rel:/ctr', {type: 'bind', source: '/work/dir/rel', destination: '/ctr', options: []}],
    ['myvol:/ctr', {type: 'volume', name: 'myvol', destination: '/ctr', options: []}],
    ['myvol:/ctr:ro,nocopy', {type: 'volume', name: 'myvol', destination: '/ctr', options: ['ro'], noCopy: true}],
    ['/host:/ctr:cached', {type: 'bind', source: '/host', destination: '/ctr', options: []}],
  ];
  for (const [spec, want] of cases) assert.deepEqual(o.parseVolume(spec, '/work/dir'), want, spec);
  rejects(() => o.parseVolume('ctr'), 'invalid container path "ctr", must be an absolute path');
  rejects(() => o.parseVolume('/a:b'), 'invalid container path "b", must be an absolute path');
  rejects(() => o.parseVolume(':/ctr'), 'host directory cannot be empty');
  rejects(() => o.parseVolume('/a:/b:c:d'), '/a:/b:c:d: incorrect volume format, should be [host-dir:]ctr-dir[:option]');
  rejects(() => o.parseVolume('/a:/b:ro,rw'), `invalid options "ro, rw", can only specify 1 'rw' or 'ro' option`);
  rejects(() => o.parseVolume('/a:/b:bogus'), 'invalid option type "bogus"');
  rejects(() => o.parseVolume('/a:/b:O,ro'), `can't use 'O' with other options`);
  rejects(() => o.parseVolume('-bad:/b'), /invalid volume name "-bad"/);
  rejects(() => o.checkDuplicateDestinations([o.parseVolume('/a:/x'), o.parseVolume('v:/x')]), '/x: duplicate mount destination');
});

test('parseMount: --mount type=bind|volume|tmpfs', () => {
  const cases: Array<[string, unknown]> = [
    ['type=bind,src=/h,dst=/c', {type: 'bind', source: '/h', destination: '/c', options: []}],
    ['type=bind,source=/h,target=/c,readonly', {type: 'bind', source: '/h', destination: '/c', options: ['ro']}],
    ['type=bind,src=/h,dst=/c,ro=false,bind-propagation=rslave,Z', {type: 'bind', source: '/h', destination: '/c', options: ['rw', 'rslave'], relabel: 'Z'}],
    ['type=bind,src=/h,dst=/c,bind-nonrecursive,relabel=shared,U=true', {type: 'bind', source: '/h', destination: '/c', options: ['bind'], relabel: 'z', chown: true}],
    ['type=volume,src=data,dst=/c,volume-nocopy', {type: 'volume', name: 'data', destination: '/c', options: [], noCopy: true}],
    ['type=volume,dst=/c', {type: 'volume', name: '', destination: '/c', options: [], anonymous: true}],
    ['type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777,noexec', {type: 'tmpfs', destination: '/t', options: [`size=${64 * 1024 ** 2}`, 'mode=1777', 'noexec']}],
    ['"type=bind","src=/h,comma",dst=/c', {type: 'bind', source: '/h,comma', destination: '/c', options: []}],
  ];
  for (const [spec, want] of cases) assert.deepEqual(o.parseMount(spec, '/'), want, spec);
  rejects(() => o.parseMount('src=/h,dst=/c'), /type must be specified/);
  rejects(() => o.parseMount('type=nfs,dst=/c'), 'invalid filesystem type "nfs"');
  rejects(() => o.parseMount('type=bind,src=/h'), 'must set volume destination');
  rejects(() => o.parseMount('type=bind,dst=/c'), 'host directory cannot be empty');
  rejects(() => o.parseMount('type=tmpfs,src=/h,dst=/c'), '"src" option not supported for "tmpfs" mount types');
  rejects(() => o.parseMount('type=bind,src=/h,dst=/c,tmpfs-size=1m'), '"tmpfs-size" option not supported for "bind" mount types');
  rejects(() => o.parseMount('type=bind,src=/h,dst=/c,bogus'), 'bogus: invalid mount option');
  rejects(() => o.parseMount('type=bind,src=/h,dst=/c,ro,rw'), /cannot pass 'readonly', 'ro', or 'rw' option more than once/);
  rejects(() => o.parseMount('type=bind,src=/h,dst=c'), 'invalid container path "c", must be an absolute path');
  rejects(() => o.parseMount('type=bind,src=/h,dst=/c,bind-propagation=weird'), /invalid value "weird"/);
  rejects(() => o.parseMount('type=tmpfs,dst=/c,tmpfs-mode=999'), /not an octal mode/);
});

test('parseTmpfs', () => {
  assert.deepEqual(o.parseTmpfs('/run'), {type: 'tmpfs', destination: '/run', options: []});
  assert.deepEqual(o.parseTmpfs('/run:rw,size=64m,mode=1777,exec'), {type: 'tmpfs', destination: '/run', options: ['rw', 'size=64m', 'mode=1777', 'exec']});
  rejects(() => o.parseTmpfs('run'), 'invalid container path "run", must be an absolute path');
  rejects(() => o.parseTmpfs('/run:bogus'), /invalid --tmpfs option "bogus"/);
  rejects(() => o.parseTmpfs('/run:mode=abc'), /mode must be octal/);
});
