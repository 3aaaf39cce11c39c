/**
 * Container hardening, checked from inside a container: masked /proc paths,
 * no kernel modules, no mount, podman's default capability set, and the
 * seccomp profile in force (podman's) deciding keyctl and user-namespace
 * unshare, which a denying profile blocks. A static probe
 * binary (gcc -static) makes the raw syscalls and prints the errno; a
 * --privileged control shows the probes can tell the difference.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {execFileSync} from 'node:child_process';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';

let bb: BusyboxStore;
let probe: string;

const PROBE_C = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
static int report(long rc) { if (rc < 0) { printf("errno=%d\n", errno); return 1; } printf("ok\n"); return 0; }
int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *w = argv[1];
  if (!strcmp(w, "keyctl")) return report(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 0));
  if (!strcmp(w, "unshare-user")) return report(unshare(CLONE_NEWUSER));
  if (!strcmp(w, "init_module")) return report(syscall(SYS_init_module, "", 0, ""));
  if (!strcmp(w, "finit_module")) return report(syscall(SYS_finit_module, 0, "", 0));
  if (!strcmp(w, "mount")) return report(mount("none", "/tmp", "tmpfs", 0, ""));
  return 2;
}
`;

before(async () => {
  bb = await busyboxStore();
  const src = path.join(bb.store.dir, 'probe.c');
  probe = path.join(bb.store.dir, 'probe');
  fs.writeFileSync(src, PROBE_C);
  execFileSync('gcc', ['-static', '-O1', '-o', probe, src]);
});

after(async () => {
  await bb?.close();
});

const EPERM = 1;

interface SeccompFile {
  defaultErrnoRet?: number;
  syscalls: Array<{names: string[]; action: string; args?: unknown[]; includes?: {caps?: string[]; arches?: string[]}}>;
}

/** The profile skiff (and podman) use by default: /etc/containers/seccomp.json if present, else the packaged one. */
function seccompProfilePath(): string {
  return fs.existsSync('/etc/containers/seccomp.json') ? '/etc/containers/seccomp.json' : '/usr/share/containers/seccomp.json';
}

/** Podman's default capabilities (containers.conf default_capabilities). */
function podmanDefaultCaps(): string[] {
  const conf = '/usr/share/containers/containers.conf';
  if (fs.existsSync(conf)) {
    const m = /^default_capabilities\s*=\s*\[([^\]]*)\]/m.exec(fs.readFileSync(conf, 'utf8'));
    if (m) return [...m[1].matchAll(/"([A-Z_]+)"/g)].map((x) => x[1]);
  }
  return ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'];
}

const CAP_BITS: Record<string, number> = {
  CHOWN: 0, DAC_OVERRIDE: 1, DAC_READ_SEARCH: 2, FOWNER: 3, FSETID: 4, KILL: 5, SETGID: 6, SETUID: 7, SETPCAP: 8, LINUX_IMMUTABLE: 9,
  NET_BIND_SERVICE: 10, NET_BROADCAST: 11, NET_ADMIN: 12, NET_RAW: 13, IPC_LOCK: 14, IPC_OWNER: 15, SYS_MODULE: 16, SYS_RAWIO: 17,
  SYS_CHROOT: 18, SYS_PTRACE: 19, SYS_PACCT: 20, SYS_ADMIN: 21, SYS_BOOT: 22, SYS_NICE: 23, SYS_RESOURCE: 24, SYS_TIME: 25,
  SYS_TTY_CONFIG: 26, MKNOD: 27, LEASE: 28, AUDIT_WRITE: 29, AUDIT_CONTROL: 30, SETFCAP: 31,
};

async function inContainer(args: string[], cmd: string[]): Promise<{code: number; out: string}> {
  const r = await bb.store.run(['run', '--rm', '-v', `${probe}:/probe:ro`, ...args, bb.image, ...cmd]);
  return {code: r.code, out: (r.stdout + r.stderr).trim()};
}

describe('fault: container hardening', () => {
  test('masked /proc paths: /proc/kcore and /proc/keys read as empty', async () => {
    for (const p of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug']) {
      if (!fs.existsSync(p)) continue;
      const r = await inContainer([], ['sh', '-c', `wc -c < ${p}`]);
      assert.equal(r.out, '0', `${p} must be masked: ${r.out}`);
    }
    // /sys/firmware is masked with an empty read-only tmpfs.
    const fw = await inContainer([], ['sh', '-c', 'ls -A /sys/firmware | wc -l']);
    assert.equal(fw.out, '0');
  });

  test("capabilities are podman's default set", async () => {
    const want = podmanDefaultCaps().reduce((m, c) => m | (1n << BigInt(CAP_BITS[c])), 0n);
    const r = await inContainer([], ['grep', 'Cap', '/proc/1/status']);
    const caps = Object.fromEntries(r.out.split('\n').map((l) => l.split(/:\s*/)).map(([k, v]) => [k, BigInt('0x' + v)]));
    for (const k of ['CapPrm', 'CapEff', 'CapBnd']) assert.equal(caps[k].toString(16), want.toString(16), `${k}: ${r.out}`);
    assert.equal(caps.CapInh, 0n);
  });

  test('no kernel modules, no mount; keyctl and user-namespace unshare as podman\'s seccomp profile says, and blocked by a profile that denies them', async (t) => {
    const results: string[] = [];
    for (const what of ['init_module', 'finit_module', 'mount']) {
      const r = await inContainer([], ['/probe', what]);
      assert.equal(r.out, `errno=${EPERM}`, `${what} must fail with EPERM: ${r.out}`);
      results.push(`${what} EPERM`);
    }
    // podman's default profile (measured with podman 4.3 on this host kind: both succeed there too)
    // decides keyctl and unshare; skiff must do exactly what the profile says.
    const profile = JSON.parse(fs.readFileSync(seccompProfilePath(), 'utf8')) as SeccompFile;
    for (const [what, syscall] of [['keyctl', 'keyctl'], ['unshare-user', 'unshare']] as const) {
      const allowed = profile.syscalls.some((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(syscall) && !r.args?.length && !r.includes?.caps?.length && !r.includes?.arches?.length);
      const r = await inContainer([], ['/probe', what]);
      if (allowed) assert.equal(r.out, 'ok', `${what}: the profile allows it: ${r.out}`);
      else assert.match(r.out, /^errno=(1|38)$/, `${what}: the profile denies it: ${r.out}`);
      results.push(`${what} ${allowed ? 'allowed (as podman)' : 'blocked'}`);
    }
    // A profile that denies them: the same probes are stopped by seccomp.
    const strict: SeccompFile = {...profile, syscalls: profile.syscalls.map((r) => ({...r, names: r.names.filter((n) => n !== 'keyctl' && n !== 'unshare')}))};
    const strictFile = path.join(bb.store.dir, 'strict-seccomp.json');
    fs.writeFileSync(strictFile, JSON.stringify(strict));
    for (const what of ['keyctl', 'unshare-user']) {
      const r = await inContainer(['--security-opt', `seccomp=${strictFile}`], ['/probe', what]);
      assert.equal(r.out, `errno=${profile.defaultErrnoRet ?? EPERM}`, `${what} under a profile denying it: ${r.out}`);
      results.push(`${what} blocked by a denying profile`);
    }
    const bu = await inContainer(['--security-opt', `seccomp=${strictFile}`], ['busybox', 'unshare', '-U', 'true']);
    assert.notEqual(bu.code, 0, `busybox unshare -U under the denying profile: ${bu.out}`);
    // The control: what the defaults forbid works where capabilities allow it.
    const privMount = await inContainer(['--privileged'], ['/probe', 'mount']);
    assert.equal(privMount.out, 'ok', `mount under --privileged: ${privMount.out}`);
    t.diagnostic(`hardening: ${results.join(', ')}; --privileged control ok`);
  });

  test('the OCI config masks podman\'s paths, /proc/kcore and /proc/keys among them', async () => {
    const id = (await bb.store.run(['run', '-d', bb.image, 'sleep', '30'])).stdout.trim();
    try {
      const spec = JSON.parse(fs.readFileSync(path.join(bb.store.runroot, 'containers', id, 'config.json'), 'utf8'));
      for (const p of ['/proc/kcore', '/proc/keys', '/proc/acpi', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi']) {
        assert.ok(spec.linux.maskedPaths.includes(p), `${p} masked: ${spec.linux.maskedPaths}`);
      }
      for (const p of ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']) {
        assert.ok(spec.linux.readonlyPaths.includes(p), `${p} read-only: ${spec.linux.readonlyPaths}`);
      }
    } finally {
      await bb.store.run(['rm', '-f', '-t', '0', id]);
    }
  });
});
