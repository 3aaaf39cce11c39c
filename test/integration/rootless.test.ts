/**
 * Rootless skiff: an unprivileged user pulls, runs, execs, logs, removes,
 * with the same exit codes and formats as root, in a store of its own.
 *
 * As root, the suite creates two users idempotently: USER with /etc/subuid
 * and /etc/subgid ranges, SINGLE with none (useradd on Debian 12 adds ranges
 * by itself: they are removed), and runs bin/skiff as them with
 * `runuser -u USER -- env ...`, each test with its own HOME and
 * XDG_RUNTIME_DIR (one test without it: the /tmp/skiff-run-UID fallback).
 * Each test ends with `skiff system migrate` (stops containers and the pause
 * process) and removes the user's files as root.
 */
import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync, spawn} from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {freePort, startRegistry, type TestRegistry} from '../helpers/registry';
import {buildBusybox, buildMultilayer, pushImage, readBlob, MULTILAYER, type BuiltImage} from '../helpers/images';
import {customImage} from '../helpers/custom-image';
import {REPO_ROOT, SKIFF_BIN, makeStore, type RunResult} from '../helpers/skiff';
import {storeProblems} from '../helpers/store-check';

const USER = 'skiffrl';
const SINGLE = 'skiffrl1';
const isRoot = process.getuid?.() === 0;


function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
}

function uidOf(name: string): number | undefined {
  try {
    return Number(sh('id', ['-u', name]).trim());
  } catch {
    return undefined;
  }
}

/** useradd when missing; the range user gets a range in both files that collides with no other line, the single user none. */
function ensureUsers(): void {
  for (const u of [USER, SINGLE]) if (uidOf(u) === undefined) sh('useradd', ['-m', '-s', '/bin/sh', u]);
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const lines = (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '').split('\n').filter((l) => l.trim() !== '');
    const kept = lines.filter((l) => !l.startsWith(`${SINGLE}:`));
    if (!kept.some((l) => l.startsWith(`${USER}:`))) {
      const end = Math.max(100000, ...kept.map((l) => l.split(':')).map(([, s, c]) => Number(s) + Number(c)).filter(Number.isFinite));
      kept.push(`${USER}:${end}:65536`);
    }
    if (kept.join('\n') !== lines.join('\n')) fs.writeFileSync(file, kept.join('\n') + '\n');
  }
  // slirp4netns (the rootless network) opens /dev/net/tun and fuse-overlayfs (--userns keep-id) /dev/fuse;
  // Debian makes both 0666, this VM 0600.
  for (const dev of ['/dev/net/tun', '/dev/fuse']) {
    const mode = fs.statSync(dev).mode & 0o777;
    if ((mode & 0o006) !== 0o006) {
      console.log(`# rootless test: chmod 0666 ${dev} (was 0${mode.toString(8)}) so unprivileged users can open it`);
      fs.chmodSync(dev, 0o666);
    }
  }
}

/** What the test users run: SKIFF_BIN, or a copy of it that they can reach. */
let USER_BIN = SKIFF_BIN;
/** The package (bin/ and dist/) USER_BIN belongs to, when it is a launcher, not the single binary. */
let USER_PKG: string | undefined;
let userBinCopy: string | undefined;

function readableBy(user: string, f: string): boolean {
  try {
    sh('runuser', ['-u', user, '--', 'test', '-r', f]);
    return true;
  } catch {
    return false;
  }
}

/**
 * The test users must read skiff and node. A clone under a private
 * directory (/root/...) is not readable by them: run a copy of the package
 * (bin/ and dist/, or the single binary) from a world-readable temp dir. The
 * launchers' snapshot check holds for the copy (same Node binary and sizes).
 */
function reachableSkiff(): string {
  if (!readableBy(USER, process.execPath)) throw new Error(`${process.execPath} is not readable by ${USER}: node must be world-readable for the rootless tests`);
  const rel = path.relative(REPO_ROOT, SKIFF_BIN);
  const launcher = rel === path.join('bin', 'skiff') || rel === path.join('dist', 'skiff-launch');
  if (readableBy(USER, SKIFF_BIN) && readableBy(USER, path.join(REPO_ROOT, 'dist'))) {
    if (launcher) USER_PKG = REPO_ROOT;
    return SKIFF_BIN;
  }
  userBinCopy = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-rootless-bin-'));
  fs.chmodSync(userBinCopy, 0o755);
  if (!launcher) {
    const copy = path.join(userBinCopy, path.basename(SKIFF_BIN));
    fs.copyFileSync(SKIFF_BIN, copy);
    fs.chmodSync(copy, 0o755);
    return copy;
  }
  fs.mkdirSync(path.join(userBinCopy, 'bin'), {mode: 0o755});
  fs.copyFileSync(path.join(REPO_ROOT, 'bin', 'skiff'), path.join(userBinCopy, 'bin', 'skiff'));
  fs.chmodSync(path.join(userBinCopy, 'bin', 'skiff'), 0o755);
  fs.cpSync(path.join(REPO_ROOT, 'dist'), path.join(userBinCopy, 'dist'), {recursive: true, filter: (src) => !src.endsWith('skiff-bin')});
  sh('chmod', ['-R', 'a+rX', userBinCopy]);
  USER_PKG = userBinCopy;
  return path.join(userBinCopy, rel);
}

interface UserEnv {
  user: string;
  uid: number;
  home: string;
  env: Record<string, string>;
  run(args: string[], opts?: {env?: Record<string, string>; input?: string; cwd?: string; bin?: string}): Promise<RunResult>;
  /** Drops everything: containers, the pause process, the files. */
  cleanup(): Promise<void>;
}

function runAs(user: string, env: Record<string, string>, args: string[], input = '', cwd = '/', bin = USER_BIN): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const child = spawn('runuser', ['-u', user, '--', 'env', '-i', ...envArgs, bin, ...args], {cwd, stdio: ['pipe', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : -1), stdout, stderr});
    });
    child.stdin.end(input);
  });
}

let registriesConf = '';

/** A private HOME (and XDG_RUNTIME_DIR unless noRuntimeDir) for user, owned by the user. */
function userEnv(user: string, opts: {noRuntimeDir?: boolean} = {}): UserEnv {
  const uid = uidOf(user)!;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-rl-'));
  fs.chmodSync(base, 0o755);
  const home = path.join(base, 'home');
  const runtime = path.join(base, 'run');
  fs.mkdirSync(home, {mode: 0o700});
  fs.mkdirSync(runtime, {mode: 0o700});
  fs.chownSync(home, uid, uid);
  fs.chownSync(runtime, uid, uid);
  const conf = path.join(base, 'registries.conf');
  fs.writeFileSync(conf, registriesConf, {mode: 0o644});
  const env: Record<string, string> = {
    HOME: home,
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    CONTAINERS_REGISTRIES_CONF: conf,
    SKIFF_LOG_LEVEL: 'warn',
    ...(opts.noRuntimeDir ? {} : {XDG_RUNTIME_DIR: runtime}),
  };
  if (process.env.NODE_EXTRA_CA_CERTS) env.SKIFF_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
  return {
    user,
    uid,
    home,
    env,
    run: (args, o = {}) => runAs(user, {...env, ...o.env}, args, o.input, o.cwd, o.bin),
    async cleanup() {
      const r = await runAs(user, env, ['system', 'migrate']);
      if (r.code !== 0) console.log(`# system migrate: ${r.stderr}`);
      // The namespace is gone with its mounts: what is left is plain files, some owned by subordinate ids.
      fs.rmSync(base, {recursive: true, force: true});
      if (opts.noRuntimeDir) fs.rmSync(`/tmp/skiff-run-${uid}`, {recursive: true, force: true});
    },
  };
}

/** The busybox layer with every owner rewritten to 0:0 (an image a single-id namespace can hold). */
function rootOnlyBusybox(bb: BuiltImage): ReturnType<typeof customImage> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-rl-bb-'));
  try {
    const tgz = path.join(dir, 'layer.tgz');
    fs.writeFileSync(tgz, readBlob(bb.layoutDir, bb.layers[0].digest));
    fs.mkdirSync(path.join(dir, 'x'));
    sh('tar', ['-xzf', tgz, '-C', path.join(dir, 'x')]);
    const tar = execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '-C', path.join(dir, 'x'), '.'], {maxBuffer: 64 << 20});
    return customImage([{tar}], 'rootonly');
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

describe('rootless', {skip: isRoot ? false : 'needs root to create the test users'}, () => {
  let reg: TestRegistry;
  let BB: string;
  let ML: string;
  let ROOTONLY: string;

  before(async () => {
    ensureUsers();
    USER_BIN = reachableSkiff();
    reg = await startRegistry();
    const bb = await buildBusybox();
    const ml = await buildMultilayer();
    BB = `${reg.host}/busybox:latest`;
    ML = `${reg.host}/multilayer:latest`;
    ROOTONLY = `${reg.host}/rootonly:latest`;
    await pushImage(bb.layoutDir, bb.ref, BB, reg);
    await pushImage(ml.layoutDir, ml.ref, ML, reg);
    const ro = rootOnlyBusybox(bb);
    await pushImage(ro.layoutDir, ro.ref, ROOTONLY, reg);
    registriesConf = `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`;
  });

  after(async () => {
    await reg?.stop();
    if (userBinCopy) fs.rmSync(userBinCopy, {recursive: true, force: true});
  });

  it('relative paths resolve from the working directory, inside the user namespace too', async () => {
    // Both launchers join a live namespace themselves (bin/skiff with nsenter, dist/skiff-launch with setns).
    const launchers = USER_PKG ? ['bin/skiff', 'dist/skiff-launch'].map((l) => path.join(USER_PKG!, l)).filter((l) => fs.existsSync(l)) : [USER_BIN];
    const u = userEnv(USER);
    try {
      let r = await u.run(['pull', '-q', BB]);
      assert.equal(r.code, 0, r.stderr);
      fs.mkdirSync(path.join(u.home, 'data'));
      fs.writeFileSync(path.join(u.home, 'data', 'f'), 'from the host\n');
      fs.writeFileSync(path.join(u.home, 'env'), 'FROM_FILE=yes\n');
      sh('chown', ['-R', `${u.uid}:${u.uid}`, path.join(u.home, 'data'), path.join(u.home, 'env')]);
      // The first command creates the namespace from Node; while this container runs the pause
      // process stays, and the launchers join it themselves for the others.
      r = await u.run(['run', '-d', '-v', './data:/data', '--env-file', './env', BB, 'sleep', '1000'], {cwd: u.home});
      assert.equal(r.code, 0, r.stderr);
      const id = r.stdout.trim();
      for (const bin of launchers) {
        r = await u.run(['exec', id, 'sh', '-c', 'cat /data/f; echo $FROM_FILE'], {cwd: u.home, bin, env: {SKIFF_LAUNCHER_DEBUG: '1'}});
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'from the host\nyes\n');
        if (USER_PKG) assert.match(r.stderr, /joining the user namespace of pause process/, bin);
        fs.rmSync(path.join(u.home, 'saved.tar'), {force: true});
        r = await u.run(['save', '-o', './saved.tar', BB], {cwd: u.home, bin});
        assert.equal(r.code, 0, r.stderr);
        assert.ok(fs.statSync(path.join(u.home, 'saved.tar')).size > 0, `${bin}: save -o ./saved.tar wrote into the working directory`);
        r = await u.run(['load', '-q', '-i', './saved.tar'], {cwd: u.home, bin});
        assert.equal(r.code, 0, r.stderr);
      }
      r = await u.run(['rm', '-f', '-t', '0', id]);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await u.cleanup();
    }
  });

  it('pulls and runs with the same exit codes as root; the store is the user\'s own', async () => {
    const u = userEnv(USER);
    try {
      let r = await u.run(['pull', '-q', BB]);
      assert.equal(r.code, 0, r.stderr);
      const store = path.join(u.home, '.local', 'share', 'skiff');
      assert.equal(fs.statSync(store).uid, u.uid, 'the store is owned by the user');
      r = await u.run(['run', '--rm', BB, 'sh', '-c', 'id -u; cat /proc/self/uid_map']);
      assert.equal(r.code, 0, r.stderr);
      const [id, ...map] = r.stdout.trim().split('\n');
      assert.equal(id, '0');
      assert.match(map[0], new RegExp(`^\\s*0\\s+${u.uid}\\s+1$`), 'uid 0 in the container is the user');
      assert.ok(map.length >= 2, 'subordinate ids are mapped too');
      r = await u.run(['run', '--rm', BB, 'sh', '-c', 'exit 1']);
      assert.equal(r.code, 1, r.stderr);
      r = await u.run(['run', '--rm', BB, 'nosuchcmd']);
      assert.equal(r.code, 127, r.stderr);
      r = await u.run(['run', '--rm', `${reg.host}/nosuchimage:latest`, 'true']);
      assert.equal(r.code, 125);
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('Error')).length, 1, r.stderr);
      r = await u.run(['ps', '-a', '--format', '{{.ID}}']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '', '--rm containers are gone');
      r = await u.run(['info', '--format', 'json']);
      assert.equal(r.code, 0, r.stderr);
      const info = JSON.parse(r.stdout) as {host: {rootless: boolean; defaultNetwork: string; idMappings: {uidmap: {container_id: number; host_id: number; size: number}[]}}; store: {graphRoot: string; graphDriverName: string}};
      assert.equal(info.host.rootless, true);
      assert.equal(info.store.graphRoot, store);
      assert.equal(info.store.graphDriverName, 'overlay');
      assert.equal(info.host.defaultNetwork, 'slirp4netns');
      assert.deepEqual(info.host.idMappings.uidmap[0], {container_id: 0, host_id: u.uid, size: 1});
    } finally {
      await u.cleanup();
    }
  });

  it('publishes a port through slirp4netns (the rootless default network), DNS through its forwarder, nothing left after rm -f', async () => {
    const u = userEnv(USER);
    try {
      const port = await freePort();
      const serve = 'mkdir /www && echo hello-rootless > /www/index.html && exec httpd -f -p 80 -h /www';
      let r = await u.run(['run', '-d', '--name', 'rl-web', '-p', `127.0.0.1:${port}:80`, BB, 'sh', '-c', serve]);
      assert.equal(r.code, 0, r.stderr);
      let body = '';
      for (let i = 0; i < 50 && body !== 'hello-rootless\n'; i++) {
        body = await fetch(`http://127.0.0.1:${port}/index.html`, {signal: AbortSignal.timeout(2000)}).then((res) => res.text()).catch(() => '');
        if (body !== 'hello-rootless\n') await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(body, 'hello-rootless\n', 'the host reaches the rootless container through the published port');
      r = await u.run(['port', 'rl-web']);
      assert.equal(r.stdout.trim(), `80/tcp -> 127.0.0.1:${port}`);
      r = await u.run(['exec', 'rl-web', 'sh', '-c', 'grep nameserver /etc/resolv.conf | head -1; ip -4 -o addr show tap0 | grep -o "inet [0-9./]*"']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^nameserver 10\.0\.2\.3\ninet 10\.0\.2\.100\/24$/m);
      r = await u.run(['rm', '-f', 'rl-web']);
      assert.equal(r.code, 0, r.stderr);
      // Live ones only: pid 1 of this VM does not reap orphans, so a stopped helper may stay a zombie.
      const helpers = sh('ps', ['-u', String(u.uid), '-o', 'stat=,args=']).split('\n').filter((l) => /slirp4netns/.test(l) && !/^Z/.test(l.trim())).join('\n');
      assert.equal(helpers, '', 'no slirp4netns left for the user');
    } finally {
      await u.cleanup();
    }
  });

  it('--userns nomap, auto[:size=N] and --uidmap: ids of the user\'s namespace without the user\'s own; exec and volumes work', async () => {
    const u = userEnv(USER);
    const subuid = fs.readFileSync('/etc/subuid', 'utf8').split('\n').filter((l) => l.startsWith(`${USER}:`)).map((l) => l.split(':').map(Number));
    const inSubuid = (id: number) => subuid.some(([, start, count]) => id >= start && id < start + count);
    const outer = (text: string) => text.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
    try {
      // nomap on the default network (slirp4netns): exec, a named volume the container's root owns.
      let r = await u.run(['run', '-d', '--name', 'n', '--userns', 'nomap', '-v', 'vn:/vol', BB, 'sleep', '300']);
      assert.equal(r.code, 0, r.stderr);
      r = await u.run(['exec', 'n', 'sh', '-c', 'id -u; touch /vol/f && echo wrote; ip -4 -o addr show tap0 | grep -c 10.0.2.100; cat /proc/self/uid_map']);
      assert.equal(r.code, 0, r.stderr);
      const [uid0, wrote, tap, ...map] = r.stdout.trim().split('\n');
      assert.deepEqual([uid0, wrote, tap], ['0', 'wrote', '1']);
      const lines = outer(map.join('\n'));
      assert.equal(lines[0][0], 0);
      assert.ok(lines.every(([, o]) => o >= 1), `the user's own id (0 of its namespace) is not mapped: ${map.join('; ')}`);
      assert.equal(lines.reduce((n, l) => n + l[2], 0), subuid.reduce((n, l) => n + l[2], 0), 'every subordinate id is mapped');
      const pid = Number((await u.run(['inspect', '--format', '{{.State.Pid}}', 'n'])).stdout.trim());
      const hostUid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      assert.ok(hostUid !== u.uid && inSubuid(hostUid), `root of a nomap container is a subordinate id on the host (${hostUid})`);
      r = await u.run(['inspect', '--format', '{{.HostConfig.UsernsMode}}', 'n']);
      assert.equal(r.stdout.trim(), 'nomap');
      // auto: distinct ranges of the user's subordinate ids, 1024 by default.
      const a = await u.run(['run', '-d', '--network', 'none', '--userns', 'auto', BB, 'sleep', '300']);
      const b = await u.run(['run', '-d', '--network', 'none', '--userns', 'auto:size=500', BB, 'sleep', '300']);
      assert.equal(a.code + b.code, 0, a.stderr + b.stderr);
      const ma = outer((await u.run(['exec', a.stdout.trim(), 'cat', '/proc/self/uid_map'])).stdout);
      const mb = outer((await u.run(['exec', b.stdout.trim(), 'cat', '/proc/self/uid_map'])).stdout);
      assert.equal(ma.reduce((n, l) => n + l[2], 0), 1024);
      assert.equal(mb.reduce((n, l) => n + l[2], 0), 500);
      const ids = (m: number[][]) => m.flatMap(([, o, c]) => [o, o + c - 1]);
      assert.ok(Math.min(...ids(ma)) >= 1 && Math.min(...ids(mb)) >= 1, 'auto never maps the user');
      assert.ok(Math.max(...ids(ma)) < Math.min(...ids(mb)) || Math.max(...ids(mb)) < Math.min(...ids(ma)), `ranges overlap: ${JSON.stringify([ma, mb])}`);
      // --uidmap: host ids are ids of the user's namespace.
      r = await u.run(['run', '--rm', '--network', 'none', '--uidmap', '0:1:2000', BB, 'sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; stat -c %u:%g /bin/busybox']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(outer(r.stdout.split('\n').slice(0, 2).join('\n')), [[0, 1, 2000], [0, 1, 2000]]);
      assert.match(r.stdout, /^0:0$/m, 'the image files keep their owners');
      r = await u.run(['run', '--rm', '--uidmap', '0:1:10000000', BB, 'true']);
      assert.equal(r.code, 125);
      assert.match(r.stderr, /^Error: invalid --uidmap 0:1:10000000: id \d+ is not mapped in the user's namespace/m);
      r = await u.run(['rm', '-af', '-t', '0']);
      assert.equal(r.code, 0, r.stderr);
      r = await u.run(['system', 'check']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    } finally {
      await u.cleanup();
    }
  });

  it('applies non-root owners, whiteouts and opaque directories of a multi-layer image', async () => {
    const u = userEnv(USER);
    try {
      const r = await u.run(['run', '--rm', ML, 'sh', '-c', 'for f in /owned/app.txt /owned/nobody.txt /owned/appdir /perm/setgid; do stat -c "%n %u:%g" $f; done; ls /opaque; for f in /data/delete-me.txt /data/dir-to-delete /opaque/old1.txt /opaque/old-dir /bin/wc; do test -e $f && echo "present $f"; done; cat /data/keep.txt; echo done']);
      assert.equal(r.code, 0, r.stderr);
      for (const [p, [uid, gid]] of Object.entries(MULTILAYER.owners)) assert.match(r.stdout, new RegExp(`^${p} ${uid}:${gid}$`, 'm'));
      assert.doesNotMatch(r.stdout, /present/);
      assert.match(r.stdout, /^new\.txt\nsub$/m);
      assert.match(r.stdout, /keep v2\ndone/);
      // Deleting a lower file and emptying an opaque directory inside the container (whiteouts in the upper).
      const d = await u.run(['run', '--rm', ML, 'sh', '-c', 'rm /data/keep.txt && rm -r /opaque && mkdir /opaque && ls -A /opaque; test -e /data/keep.txt || echo gone']);
      assert.equal(d.code, 0, d.stderr);
      assert.equal(d.stdout, 'gone\n');
    } finally {
      await u.cleanup();
    }
  });

  it('runs detached: logs, exec, volumes, ps/inspect formats, stop, rm', async () => {
    const u = userEnv(USER, {noRuntimeDir: true});
    try {
      let r = await u.run(['run', '-d', '--name', 'web', '-v', 'vol1:/vol', BB, 'sh', '-c', 'echo started; echo data > /vol/f; sleep 300']);
      assert.equal(r.code, 0, r.stderr);
      const id = r.stdout.trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.ok(fs.existsSync(`/tmp/skiff-run-${u.uid}/pause.pid`), 'without XDG_RUNTIME_DIR the pause process is recorded in /tmp/skiff-run-UID');
      for (let i = 0; i < 50 && !(await u.run(['logs', 'web'])).stdout.includes('started'); i++) await new Promise((res) => setTimeout(res, 100));
      r = await u.run(['logs', 'web']);
      assert.equal(r.stdout, 'started\n');
      r = await u.run(['exec', 'web', 'cat', '/vol/f']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'data\n');
      r = await u.run(['exec', 'web', 'sh', '-c', 'exit 3']);
      assert.equal(r.code, 3);
      r = await u.run(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}}']);
      assert.match(r.stdout, new RegExp(`^${id.slice(0, 12)} web Up `));
      r = await u.run(['inspect', '--format', '{{.State.Status}} {{.State.Running}} {{.HostConfig.NetworkMode}}', 'web']);
      assert.equal(r.stdout.trim(), 'running true slirp4netns');
      r = await u.run(['ps']);
      assert.match(r.stdout.split('\n')[0], /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
      r = await u.run(['stop', '-t', '1', 'web']);
      assert.equal(r.code, 0, r.stderr);
      r = await u.run(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'web']);
      assert.equal(r.stdout.trim(), 'exited 137');
      r = await u.run(['rm', 'web']);
      assert.equal(r.code, 0, r.stderr);
      r = await u.run(['run', '--rm', '-v', 'vol1:/vol', BB, 'cat', '/vol/f']);
      assert.equal(r.stdout, 'data\n', 'the named volume kept its data');
      r = await u.run(['system', 'check']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    } finally {
      await u.cleanup();
    }
  });

  it('--userns keep-id: the user\'s own ids inside, image owners kept, bind-mount writes owned by the user', async () => {
    const u = userEnv(USER);
    const shared = path.join(u.home, 'shared');
    fs.mkdirSync(shared);
    fs.chownSync(shared, u.uid, u.uid);
    try {
      let r = await u.run(['run', '--rm', '--userns', 'keep-id', '-v', `${shared}:/shared`, ML, 'sh', '-c', 'id -u; id -g; stat -c "%u:%g" /bin/busybox /owned/app.txt; touch /shared/made; echo x > /tmp/x && stat -c %u /tmp/x; ls /opaque; test -e /data/delete-me.txt || echo whiteout-ok']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${u.uid}\n${u.uid}\n0:0\n1000:1000\n${u.uid}\nnew.txt\nsub\nwhiteout-ok\n`);
      const st = fs.statSync(path.join(shared, 'made'));
      assert.deepEqual([st.uid, st.gid], [u.uid, u.uid], 'the file written in the container belongs to the user on the host');
      r = await u.run(['run', '--rm', '--userns', 'keep-id', '--user', '0', ML, 'id', '-u']);
      assert.equal(r.stdout, '0\n');
      // The image has no entry for the user's ids: podman's /etc/passwd and /etc/group entries are added.
      const pwHome = sh('getent', ['passwd', USER]).split(':')[5];
      r = await u.run(['run', '--rm', '--userns', 'keep-id', BB, 'sh', '-c', 'whoami; id -un; id -gn; echo $HOME; grep "^root:" /etc/passwd | cut -d: -f1']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${USER}\n${USER}\n${USER}\n/\nroot\n`, 'named user and group; home is the working directory when the user\'s home is not mounted');
      r = await u.run(['run', '--rm', '--userns', 'keep-id', '-v', `${shared}:${pwHome}`, BB, 'sh', '-c', `echo $HOME; grep "^${USER}:" /etc/passwd`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${pwHome}\n${USER}:*:${u.uid}:${u.uid}::${pwHome}:/bin/sh\n`, 'with the home mounted, it is the entry\'s home and $HOME');
      r = await u.run(['run', '--rm', BB, 'sh', '-c', `grep -c "^${USER}:" /etc/passwd || true`]);
      assert.equal(r.stdout, '0\n', 'without keep-id the image\'s file is untouched');
      r = await u.run(['run', '--rm', '--userns', 'bogus', ML, 'true']);
      assert.equal(r.code, 125);
      assert.match(r.stderr, /invalid --userns "bogus"/);
      const root = makeStore(registriesConf);
      try {
        r = await root.run(['create', '--userns', 'keep-id', BB]);
        assert.equal(r.code, 125);
        assert.match(r.stderr, /keep-id is only supported in rootless mode/);
      } finally {
        await root.cleanup();
      }
    } finally {
      await u.cleanup();
    }
  });

  it('--userns keep-id on slirp4netns (the default network): exec joins the container, its network works, teardown is exact', async () => {
    const u = userEnv(USER);
    try {
      let r = await u.run(['run', '-d', '--name', 'k', '--userns', 'keep-id', BB, 'sleep', '300']);
      assert.equal(r.code, 0, r.stderr);
      r = await u.run(['exec', 'k', 'sh', '-c', 'id -u; ip -4 -o addr show tap0; grep ^nameserver /etc/resolv.conf | head -1; grep -c "^10\\.0\\.2\\.100\\s" /etc/hosts']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines[0], String(u.uid), 'exec runs as the user, in the container user namespace');
      assert.match(lines[1], /tap0\s+inet 10\.0\.2\.100\//);
      assert.equal(lines[2], 'nameserver 10.0.2.3', 'slirp4netns\' DNS forwarder leads resolv.conf');
      assert.equal(lines[3], '1', 'the hosts file names the container at its address');
      r = await u.run(['exec', '--user', '0', 'k', 'sh', '-c', 'exit 7']);
      assert.equal(r.code, 7);
      r = await u.run(['rm', '-f', '-t', '0', 'k']);
      assert.equal(r.code, 0, r.stderr);
      const helpers = sh('ps', ['-u', String(u.uid), '-o', 'stat=,args=']).split('\n').filter((l) => /slirp4netns/.test(l) && !/^Z/.test(l.trim())).join('\n');
      assert.equal(helpers, '', 'no slirp4netns left for the user');
      const netns = path.join(u.env.XDG_RUNTIME_DIR, 'skiff', 'netns');
      assert.deepEqual(fs.existsSync(netns) ? fs.readdirSync(netns) : [], [], 'the netns file is removed');
      r = await u.run(['system', 'check']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    } finally {
      await u.cleanup();
    }
  });

  it('resource limits: a warning on cgroup v1 (as podman), update refuses', async (t) => {
    const u = userEnv(USER);
    try {
      let r = await u.run(['run', '--rm', '--memory', '64m', '--pids-limit', '50', BB, 'true']);
      assert.equal(r.code, 0, r.stderr);
      const cgv2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
      if (cgv2) t.diagnostic('cgroup v2 host: the message names delegation');
      assert.match(r.stderr, cgv2 ? /Resource limits are not supported and ignored on rootless systems without cgroup delegation/ : /Resource limits are not supported and ignored on cgroups V1 rootless systems/);
      r = await u.run(['run', '-d', '--name', 'c', BB, 'sleep', '300']);
      assert.equal(r.code, 0, r.stderr);
      r = await u.run(['update', '--memory', '64m', 'c']);
      assert.equal(r.code, 125);
      assert.match(r.stderr, /rootless containers have no cgroups/);
      r = await u.run(['rm', '-f', '-t', '0', 'c']);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await u.cleanup();
    }
  });

  it('unshare runs a command in the namespace; as root it is refused; migrate re-creates the namespace', async () => {
    const u = userEnv(USER);
    try {
      let r = await u.run(['unshare', 'sh', '-c', 'id -u; cat /proc/self/uid_map; echo $CONTAINERS_GRAPHROOT; exit 4']);
      assert.equal(r.code, 4, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines[0], '0');
      assert.match(lines[1], new RegExp(`^\\s*0\\s+${u.uid}\\s+1$`));
      assert.equal(lines.at(-1), path.join(u.home, '.local', 'share', 'skiff'));
      r = await u.run(['unshare', 'no-such-command']);
      assert.equal(r.code, 127);
      const before = (await u.run(['unshare', 'readlink', '/proc/self/ns/user'])).stdout;
      assert.equal((await u.run(['unshare', 'readlink', '/proc/self/ns/user'])).stdout, before, 'the namespace is reused');
      r = await u.run(['system', 'migrate']);
      assert.equal(r.code, 0, r.stderr);
      const after = (await u.run(['unshare', 'readlink', '/proc/self/ns/user'])).stdout;
      assert.notEqual(after, before, 'migrate stopped the namespace');
      const root = await new Promise<RunResult>((resolve) => {
        const s = makeStore();
        void s.run(['unshare', 'true']).then(async (res) => {
          await s.cleanup();
          resolve(res);
        });
      });
      assert.equal(root.code, 125);
      assert.match(root.stderr, /please use unshare with rootless/);
    } finally {
      await u.cleanup();
    }
  });

  it('concurrent first commands share one namespace', async () => {
    const u = userEnv(USER);
    try {
      const rs = await Promise.all([1, 2, 3, 4].map(() => u.run(['unshare', 'readlink', '/proc/self/ns/user'])));
      for (const r of rs) assert.equal(r.code, 0, r.stderr);
      assert.equal(new Set(rs.map((r) => r.stdout)).size, 1, rs.map((r) => r.stdout).join(''));
    } finally {
      await u.cleanup();
    }
  });

  it('a user without subordinate ids: root-owned images work, others fail naming /etc/subuid and leave nothing', async () => {
    const u = userEnv(SINGLE);
    try {
      let r = await u.run(['run', '--rm', ROOTONLY, 'sh', '-c', 'echo ok; cat /proc/self/uid_map']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^ok\\n\\s*0\\s+${u.uid}\\s+1\\n$`));
      r = await u.run(['pull', '-q', ML]);
      assert.equal(r.code, 125);
      const errs = r.stderr.trim().split('\n').filter((l) => l.startsWith('Error'));
      assert.equal(errs.length, 1, r.stderr);
      assert.match(errs[0], /insufficient UIDs or GIDs .*\/etc\/subuid/);
      for (const flags of [['--userns', 'nomap'], ['--userns', 'auto']]) {
        r = await u.run(['run', '--rm', ...flags, ROOTONLY, 'true']);
        assert.equal(r.code, 125, r.stderr);
        assert.match(r.stderr, /^Error: --userns=(nomap|auto) needs subordinate ids.*\/etc\/sub[ug]id/m, flags.join(' '));
      }
      r = await u.run(['images', '--format', '{{.Repository}}']);
      assert.equal(r.stdout.trim(), `${reg.host}/rootonly`);
      const store = path.join(u.home, '.local', 'share', 'skiff');
      assert.deepEqual(storeProblems(store), []);
      assert.deepEqual(fs.readdirSync(path.join(store, 'tmp')), [], 'no temp leftovers');
    } finally {
      await u.cleanup();
    }
  });

  it('isolation: the user cannot open root\'s store, root\'s store never lists the user\'s containers', async () => {
    const u = userEnv(USER);
    const rootStore = makeStore(registriesConf);
    try {
      let r = await rootStore.run(['run', '-d', '--name', 'rootc', '--network', 'none', BB, 'sleep', '300']);
      assert.equal(r.code, 0, r.stderr);
      fs.chmodSync(rootStore.root, 0o700);
      r = await u.run(['--root', rootStore.root, '--runroot', rootStore.runroot, 'ps', '-a']);
      assert.equal(r.code, 125);
      assert.match(r.stderr, /permission denied|EACCES/i);
      r = await u.run(['run', '-d', '--name', 'userc', BB, 'sleep', '300']);
      assert.equal(r.code, 0, r.stderr);
      const userId = r.stdout.trim();
      r = await u.run(['ps', '-a', '--format', '{{.Names}}']);
      assert.equal(r.stdout, 'userc\n', 'the user sees only its own containers');
      r = await u.run(['images', '--format', '{{.Repository}}']);
      assert.equal(r.stdout.trim(), `${reg.host}/busybox`);
      r = await rootStore.run(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}}']);
      assert.doesNotMatch(r.stdout, new RegExp(userId));
      assert.match(r.stdout, / rootc$/m);
      // The user's processes run as the user (or its subordinate ids) on the host, never as root.
      const pids = sh('pgrep', ['-u', String(u.uid), 'sleep']).trim();
      assert.notEqual(pids, '', 'the container process runs as the user on the host');
    } finally {
      await rootStore.run(['rm', '-a', '-f', '-t', '0']);
      await rootStore.cleanup();
      await u.cleanup();
    }
  });

  it('a run -d killed midway leaves a consistent store', async () => {
    const u = userEnv(USER);
    try {
      let r = await u.run(['pull', '-q', BB]);
      assert.equal(r.code, 0, r.stderr);
      for (const delay of [150, 400]) {
        const child = spawn('runuser', ['-u', USER, '--', 'env', '-i', ...Object.entries(u.env).map(([k, v]) => `${k}=${v}`), USER_BIN, 'run', '-d', BB, 'sleep', '300'], {stdio: 'ignore'});
        const closed = new Promise((res) => child.on('close', res));
        await new Promise((res) => setTimeout(res, delay));
        // runuser's child is skiff (same pid through the re-exec into the namespace).
        try {
          execFileSync('pkill', ['-9', '-P', String(child.pid)]);
        } catch {
          // already done
        }
        await closed;
      }
      r = await u.run(['system', 'check', '--repair']);
      r = await u.run(['system', 'check']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      r = await u.run(['rm', '-a', '-f', '-t', '0']);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await u.cleanup();
    }
  });
});
