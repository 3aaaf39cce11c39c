/**
 * Drives the real CLI (dist/skiff-launch or bin/skiff, or $SKIFF_BIN, e.g. the single binary) in
 * a temporary store. Every integration test goes through here.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** $SKIFF_BIN, else what install.sh puts on PATH: dist/skiff-launch when the build made it, else bin/skiff. */
export const SKIFF_BIN = process.env.SKIFF_BIN || (fs.existsSync(path.join(REPO_ROOT, 'dist', 'skiff-launch')) ? path.join(REPO_ROOT, 'dist', 'skiff-launch') : path.join(REPO_ROOT, 'bin', 'skiff'));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Store {
  root: string;
  runroot: string;
  /** A private registries.conf and auth file so tests never read the host's. */
  env: NodeJS.ProcessEnv;
  dir: string;
  run(args: string[], opts?: {input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number}): Promise<RunResult>;
  /** Start skiff without waiting (to kill it midway); output is discarded. */
  start(args: string[], opts?: {env?: NodeJS.ProcessEnv}): ChildProcess;
  cleanup(): Promise<void>;
}

export function runSkiff(args: string[], opts: {input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number} = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(SKIFF_BIN, args, {env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : -1), stdout, stderr});
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A fresh, private store: temp --root/--runroot and config files, removed by cleanup(). */
export function makeStore(registriesConf = ''): Store {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-test-'));
  const root = path.join(dir, 'root');
  const runroot = path.join(dir, 'run');
  const conf = path.join(dir, 'registries.conf');
  fs.writeFileSync(conf, registriesConf);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_REGISTRIES_CONF: conf,
    REGISTRY_AUTH_FILE: path.join(dir, 'auth.json'),
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    DOCKER_CONFIG: path.join(dir, 'docker-config'),
    SKIFF_LOG_LEVEL: process.env.SKIFF_TEST_LOG_LEVEL ?? 'warn',
  };
  return {
    root,
    runroot,
    env,
    dir,
    run: (args, opts = {}) => runSkiff(['--root', root, '--runroot', runroot, ...args], {...opts, env: {...env, ...opts.env}}),
    start: (args, opts = {}) => spawn(SKIFF_BIN, ['--root', root, '--runroot', runroot, ...args], {env: {...env, ...opts.env}, stdio: 'ignore'}),
    async cleanup() {
      // Unmount anything a failed test left under the store before removing it.
      const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(dir));
      for (const m of mounts.sort().reverse()) spawn('umount', ['-l', m]);
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}
