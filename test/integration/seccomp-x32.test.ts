/**
 * SCMP_ARCH_X32 in the generated seccomp filter follows the kernel: left out
 * where the kernel cannot execute x32 system calls (runc compiles one
 * architecture fewer), kept where it can, and kept when skiff cannot tell
 * (here: skiff itself runs under a filter that kills any x32 system call, so
 * the addon's probe child dies). The test's own oracle is a static program
 * that makes the x32 getpid call on the host; /proc/config.gz, when present,
 * must agree with it. x86_64 only.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import {SKIFF_BIN, type RunResult} from '../helpers/skiff';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';
import {SECCOMP_DEFAULT_PATH} from '../../src/lib/runtime/spec/seccomp-load';

const X86_64 = process.arch === 'x64';

/** Makes x32 getpid (__X32_SYSCALL_BIT | 39): prints ok or errno=N. */
const PROBE_C = String.raw`
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  long r = syscall(0x40000000L | 39);
  if (r < 0) printf("errno=%d\n", errno); else printf("ok\n");
  return 0;
}
`;

/** Runs argv under a seccomp filter that kills the process on any x32 system call (as SystemCallArchitectures=native does). */
const KILL_X32_C = String.raw`
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
int main(int argc, char **argv) {
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
  if (argc < 2 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) { perror("seccomp"); return 125; }
  execvp(argv[1], argv + 1);
  perror(argv[1]);
  return 127;
}
`;

let bb: BusyboxStore;
let probe: string;
let killX32: string;
/** What the host kernel does with an x32 system call, by the probe. */
let hostX32: 'supported' | 'unsupported';

/** CONFIG_X86_X32_ABI from /proc/config.gz: true, false, or undefined when the kernel does not publish its config. */
function configX32(): boolean | undefined {
  if (!fs.existsSync('/proc/config.gz')) return undefined;
  const cfg = zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString('utf8');
  if (/^CONFIG_X86_X32_ABI=y$/m.test(cfg)) return true;
  if (/^# CONFIG_X86_X32_ABI is not set$/m.test(cfg)) return false;
  return undefined;
}

before(async () => {
  if (!X86_64) return;
  bb = await busyboxStore();
  probe = path.join(bb.store.dir, 'x32probe');
  killX32 = path.join(bb.store.dir, 'kill-x32');
  fs.writeFileSync(probe + '.c', PROBE_C);
  fs.writeFileSync(killX32 + '.c', KILL_X32_C);
  execFileSync('gcc', ['-static', '-O1', '-o', probe, probe + '.c']);
  execFileSync('gcc', ['-O1', '-o', killX32, killX32 + '.c']);
  const out = execFileSync(probe, {encoding: 'utf8'}).trim();
  assert.ok(out === 'ok' || out === 'errno=38', `x32 getpid on the host: ${out}`);
  hostX32 = out === 'ok' ? 'supported' : 'unsupported';
  const cfg = configX32();
  if (cfg === false) assert.equal(hostX32, 'unsupported', 'a kernel built without CONFIG_X86_X32_ABI runs no x32 call');
});

after(async () => {
  await bb?.close();
});

function skiffUnder(wrapper: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(wrapper, [SKIFF_BIN, '--root', bb.store.root, '--runroot', bb.store.runroot, ...args], {env: bb.store.env, stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({code: code ?? (signal ? 128 : -1), stdout, stderr}));
  });
}

/** The seccomp architectures of a running container's bundle, and its /proc/self/status Seccomp field. */
async function archesOf(run: (args: string[]) => Promise<RunResult>, opts: string[] = []): Promise<{arches: string[]; seccomp: string | undefined}> {
  const r = await run(['run', '-d', ...opts, '-v', `${probe}:/x32probe:ro`, bb.image, 'sleep', '60']);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  try {
    const spec = JSON.parse(fs.readFileSync(path.join(bb.store.runroot, 'containers', id, 'config.json'), 'utf8'));
    const status = await bb.store.run(['exec', id, 'cat', '/proc/self/status']);
    assert.equal(status.code, 0, status.stderr);
    return {arches: spec.linux.seccomp.architectures, seccomp: /^Seccomp:\s*(\d+)$/m.exec(status.stdout)?.[1]};
  } finally {
    await bb.store.run(['rm', '-f', '-t', '0', id]);
  }
}

describe('seccomp architectures and x32', {skip: !X86_64 && 'x86_64 only'}, () => {
  test('SCMP_ARCH_X32 is in the filter exactly when the kernel runs x32 system calls; X86 and the native one always are', async (t) => {
    const {arches, seccomp} = await archesOf((a) => bb.store.run(a));
    t.diagnostic(`host x32: ${hostX32}; architectures: ${arches.join(', ')}`);
    assert.equal(seccomp, '2', 'the container runs under a seccomp filter');
    assert.ok(arches.includes('SCMP_ARCH_X86_64') && arches.includes('SCMP_ARCH_X86'), arches.join(','));
    assert.equal(arches.includes('SCMP_ARCH_X32'), hostX32 === 'supported', arches.join(','));
    // Either way no x32 call runs in the container where the host cannot run it: ENOSYS from the kernel
    // with X32 in the filter, the process killed (SIGSYS, libseccomp's bad-architecture action) without.
    const r = await bb.store.run(['run', '--rm', '-v', `${probe}:/x32probe:ro`, bb.image, '/x32probe']);
    t.diagnostic(`x32 getpid in the container: exit ${r.code} ${r.stdout.trim()}`);
    if (hostX32 === 'supported') assert.deepEqual([r.code, r.stdout.trim()], [0, 'ok']);
    else assert.notEqual(r.stdout.trim(), 'ok');
  });

  test('skiff under a filter that kills x32 system calls survives its probe and keeps SCMP_ARCH_X32 (cannot tell)', async () => {
    // The wrapper works: the probe under it is killed.
    const killed = spawnSync(killX32, [probe], {encoding: 'utf8'});
    assert.equal(killed.signal, 'SIGSYS', `probe under the wrapper: ${killed.status} ${killed.stdout}`);
    const {arches, seccomp} = await archesOf((a) => skiffUnder(killX32, a));
    assert.equal(seccomp, '2');
    assert.ok(arches.includes('SCMP_ARCH_X32') && arches.includes('SCMP_ARCH_X86'), arches.join(','));
  });

  test('a profile the user names is passed on as written: SCMP_ARCH_X32 stays', {skip: !fs.existsSync(SECCOMP_DEFAULT_PATH) && `no ${SECCOMP_DEFAULT_PATH}`}, async () => {
    const {arches, seccomp} = await archesOf((a) => bb.store.run(a), ['--security-opt', `seccomp=${SECCOMP_DEFAULT_PATH}`]);
    assert.equal(seccomp, '2');
    assert.ok(arches.includes('SCMP_ARCH_X32') && arches.includes('SCMP_ARCH_X86'), arches.join(','));
  });
});
