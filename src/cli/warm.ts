/**
 * What the snapshot build runs after evaluating the hot modules (main.ts
 * warmSnapshot): the pure functions every container command calls, on
 * made-up input, so V8 compiles them now. A function that ran while the
 * snapshot was built keeps its bytecode in the snapshot; every other one is
 * compiled lazily in every process (Runtime_CompileLazy was 11-18% of
 * create, rm and run's CPU, docs/design.md). Measured with cpuprofiles of 15
 * runs each: buildConfig 2.2 -> 0.8 ms of `run --rm`, buildSpec 1.15 -> 0.4,
 * writeEtcFiles 1.7 -> 0.6, resolveUser 1.1 -> 0.5, argument parsing 1.1
 * -> 0.4 ms of `rm`. Each warmed function costs its bytecode in the blob
 * (~116 kB for all of these), deserialized by every command, so only code
 * on the hot paths belongs here.
 *
 * Rules: pure code only. Nothing here may read or write a file, take a lock,
 * load the addon or fill a cache (whatever a module keeps would be in every
 * process: e.g. crypto.randomUUID's pool). A step that throws only loses its
 * warming; the steps that threw are returned (a unit test wants none, so the
 * made-up input keeps up with the code).
 */
import type {SkiffCommand} from './base';
import {parseFor} from './base';
import {buildConfig, type CreateFlags} from '../lib/container/create-config';
import {buildSpec} from '../lib/runtime/spec/build';
import {convertSeccompProfile, type SeccompProfile} from '../lib/runtime/spec/seccomp';
import {generateHostname, generateHosts, generateResolvConf, parseResolvConf} from '../lib/container/etc-files';
import {resolveUser} from '../lib/container/user';
import type {ImageConfig} from '../lib/image/manifest';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\ndaemon:x:1:\nwheel:x:10:root\nnogroup:x:65534:\n';

/**
 * `commands`: the hot commands' classes; `split`: the launcher's split of a
 * command line into the command's own arguments (main.ts splitCommand).
 */
export function warmHotPaths(commands: Array<{id: string; Cmd: typeof SkiffCommand}>, split: (line: string[]) => string[]): string[] {
  const failed: string[] = [];
  const attempt = (step: string, fn: () => unknown): void => {
    try {
      fn();
    } catch (err) {
      failed.push(`${step}: ${(err as Error).message}`);
    }
  };
  for (const {id, Cmd} of commands) {
    const own = id === 'run' || id === 'create' ? ['--name', 'n', '-e', 'A=1', '-v', '/a:/b', 'x', 'true'] : id === 'exec' ? ['-e', 'A=1', 'x', 'true'] : id === 'images' ? ['-a'] : ['x'];
    attempt(`parse ${id}`, () => parseFor(Cmd, split(['--root', '/r', '--runroot', '/rr', ...id.split(':'), ...own])));
  }
  const image = {architecture: 'amd64', os: 'linux', config: {Env: ['PATH=/usr/bin:/bin'], Cmd: ['sh'], WorkingDir: '/'}} as ImageConfig;
  let config: ReturnType<typeof buildConfig> | undefined;
  attempt('buildConfig', () => {
    config = buildConfig({
      flags: {env: ['A=1'], label: ['a=b'], volume: ['/tmp:/tmp:ro'], 'cap-drop': ['NET_RAW'], network: ['none']} as CreateFlags,
      command: ['true'],
      image: {id: '0'.repeat(64), name: 'localhost/warm:latest', config: image},
      cwd: '/',
      hostEnv: {},
      defaults: {runtime: 'runc', storageDriver: 'overlay', network: 'none'},
      name: 'warm',
    });
  });
  const user = {uid: 0, gid: 0, additionalGids: [] as number[], home: '/root'};
  attempt('resolveUser', () => resolveUser('', [], (p) => (p === '/etc/passwd' ? PASSWD : GROUP)));
  attempt('resolveUser daemon:wheel', () => resolveUser('daemon:wheel', ['nogroup'], (p) => (p === '/etc/passwd' ? PASSWD : GROUP)));
  attempt('etc files', () => {
    generateHosts({hostname: 'abc', name: 'warm', network: 'none', addHosts: ['h:10.0.0.1'], baseHosts: '127.0.0.1 localhost\n::1 localhost\n', ownIps: ['10.88.0.2']});
    generateHostname('abc');
    const host = 'nameserver 10.0.0.1\nsearch example.org\noptions ndots:2\n';
    parseResolvConf(host);
    generateResolvConf({network: 'bridge', hostResolvConf: host, dnsSearch: ['a.example'], dnsOptions: ['edns0']});
  });
  attempt('buildSpec', () => {
    const seccomp = convertSeccompProfile(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 38,
        archMap: [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32']}],
        syscalls: [
          {names: ['read', 'write'], action: 'SCMP_ACT_ALLOW'},
          {names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ'}], excludes: {caps: ['CAP_SYS_ADMIN']}},
          {names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: {minKernel: '4.8'}},
          {names: ['bpf'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, includes: {caps: ['CAP_SYS_ADMIN']}},
        ],
      } as SeccompProfile,
      {arch: 'amd64', capabilities: ['CAP_CHOWN', 'CAP_KILL'], kernel: '6.1.0', x32: false},
    );
    if (!config) throw new Error('no config to build a spec of');
    buildSpec({
      config,
      image,
      rootfs: '/nonexistent/rootfs',
      user,
      files: {hosts: '/nonexistent/hosts', hostname: '/nonexistent/hostname', resolvConf: '/nonexistent/resolv.conf'},
      mounts: [],
      devices: [],
      hostRlimits: {RLIMIT_NOFILE: {soft: 1024, hard: 4096}},
      cgroupMode: 'hybrid',
      cgroupsPath: '/skiff/warm',
      seccomp,
    });
  });
  return failed;
}
