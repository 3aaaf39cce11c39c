/**
 * A minimal runnable OCI bundle for runtime tests: a rootfs holding the
 * static busybox (/bin/busybox plus applet symlinks for the commands tests
 * use) and a hand-written config.json with the usual namespaces, the
 * proc/dev/devpts/shm/sysfs mounts, a PATH and no cgroup resource limits
 * (unless a test asks for some).
 * Deliberately independent of skiff's own spec generator, so runtime tests do
 * not break when that changes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const BUSYBOX = '/bin/busybox';

const APPLETS = ['sh', 'cat', 'echo', 'sleep', 'true', 'false', 'ls', 'env', 'printf', 'head', 'seq', 'yes', 'kill', 'id', 'pwd', 'wc', 'stty', 'tr'];

export interface BundleOptions {
  /** The container's argv (process.args). */
  args: string[];
  /** Allocate a terminal (process.terminal). */
  terminal?: boolean;
  env?: string[];
  cwd?: string;
  /** Parent directory for the bundle; a fresh temp dir when absent. */
  parent?: string;
  /** More mounts, after the standard ones (OCI spec objects). */
  mounts?: Array<{destination: string; type: string; source: string; options?: string[]}>;
  /** linux.resources (none by default), e.g. {memory: {limit: 16 << 20}} for an OOM test. */
  resources?: object;
  /** The bundle's own directory name (for long-path tests). */
  name?: string;
}

export interface TestBundle {
  dir: string;
  rootfs: string;
  config: string;
}

/** Writes a bundle directory and returns its paths. The caller removes it (fs.rmSync(dir, {recursive: true})). */
export function makeBundle(opts: BundleOptions): TestBundle {
  const parent = opts.parent ?? fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bundle-'));
  const dir = opts.name ? path.join(parent, opts.name) : parent;
  const rootfs = path.join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc', 'root']) fs.mkdirSync(path.join(rootfs, d), {recursive: true});
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\n');
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(config, JSON.stringify(spec(opts), null, 2));
  return {dir, rootfs, config};
}

const CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT'];

function spec(opts: BundleOptions): object {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: opts.terminal ?? false,
      user: {uid: 0, gid: 0},
      args: opts.args,
      env: opts.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm', 'HOME=/root'],
      cwd: opts.cwd ?? '/',
      capabilities: {bounding: CAPS, effective: CAPS, permitted: CAPS},
      rlimits: [{type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024}],
      noNewPrivileges: true,
    },
    root: {path: 'rootfs', readonly: false},
    hostname: 'skiff-test',
    mounts: [
      {destination: '/proc', type: 'proc', source: 'proc'},
      {destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
      {destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']},
      {destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']},
      {destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro']},
      ...(opts.mounts ?? []),
    ],
    linux: {
      namespaces: [{type: 'pid'}, {type: 'ipc'}, {type: 'uts'}, {type: 'mount'}, {type: 'network'}],
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      ...(opts.resources ? {resources: opts.resources} : {}),
    },
  };
}
