/**
 * Full disk: a store on a small tmpfs, filled during a pull and by a
 * container's writes. Each skiff command that cannot write fails cleanly
 * (exit 125, one line naming "no space left on device"), records nothing
 * half-way, and works again once space is freed.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {execFileSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {makeStore, type Store} from '../helpers/skiff';
import {startRegistry, type TestRegistry} from '../helpers/registry';
import {buildBusybox, pushImage} from '../helpers/images';
import {customImage} from '../helpers/custom-image';
import {buildTar} from '../unit/storage/unpack/tar-fixture';
import {verifyStore, mountsUnder} from '../helpers/fault';

let reg: TestRegistry;
let s: Store;
let BB: string;
let BIG: string;
let tmpfsDir: string;
const TLS = '--tls-verify=false';

before(async () => {
  reg = await startRegistry();
  const bb = await buildBusybox();
  BB = `${reg.host}/busybox:latest`;
  await pushImage(bb.layoutDir, bb.ref, BB, reg);
  // Three layers of incompressible data, 6 MB each: more than the tmpfs holds.
  const big = customImage([0, 1, 2].map((i) => ({tar: buildTar([{name: `d${i}/`, type: '5'}, {name: `d${i}/blob`, data: randomBytes(6 << 20)}])})), 'bigdisk');
  BIG = `${reg.host}/bigdisk:latest`;
  await pushImage(big.layoutDir, big.ref, BIG, reg);
  s = makeStore();
  tmpfsDir = s.root;
  fs.mkdirSync(tmpfsDir, {recursive: true});
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m,mode=0700', 'tmpfs', tmpfsDir]);
  const r = await s.run(['pull', '-q', TLS, BB]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await s?.run(['rm', '-a', '-f', '-t', '0']);
  try {
    execFileSync('umount', ['-l', tmpfsDir]);
  } catch {
    /* not mounted */
  }
  await s?.cleanup();
  await reg?.stop();
});

const resize = (size: string) => execFileSync('mount', ['-o', `remount,size=${size}`, tmpfsDir]);

/** exit 125, exactly one line, naming ENOSPC. */
function assertNoSpace(r: {code: number; stderr: string}, what: string): void {
  assert.equal(r.code, 125, `${what}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one line: ${r.stderr}`);
  assert.match(lines[0], /^Error: .*no space left on device/, what);
}

/** The sound store's own findings: none (the store must not need repair after a clean error). */
async function assertConsistent(what: string): Promise<void> {
  const check = await s.run(['system', 'check']);
  assert.equal(check.code, 0, `${what}: system check: ${check.stdout}${check.stderr}`);
  const v = await verifyStore(s, {allowMounts: [tmpfsDir, fs.realpathSync(tmpfsDir)]});
  assert.deepEqual(v.problems, [], what);
}

describe('fault: full disk', () => {
  test('a pull that fills the disk fails cleanly, records nothing, and succeeds once space is freed', async (t) => {
    const r = await s.run(['pull', '-q', TLS, BIG]);
    assertNoSpace(r, 'pull on a full disk');
    const images = (await s.run(['images', '--format', '{{.Repository}}'])).stdout;
    assert.doesNotMatch(images, /bigdisk/, 'no half-recorded image');
    assert.deepEqual(fs.existsSync(path.join(s.root, 'tmp')) ? fs.readdirSync(path.join(s.root, 'tmp')) : [], [], 'no partial layers left');
    await assertConsistent('after the failed pull');
    resize('64m');
    const again = await s.run(['pull', '-q', TLS, BIG]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await s.run(['rmi', BIG])).code, 0);
    resize('12m');
    t.diagnostic('disk: pull on a full disk → exit 125 "no space left on device", nothing recorded, works after space freed');
  });

  test('a container that fills the disk: create fails cleanly, nothing half-recorded, works once the filler is removed', async (t) => {
    // The container fills its upper directory (on the store's tmpfs) until ENOSPC; its own dd fails, not skiff.
    const fill = await s.run(['run', '--name', 'filler', BB, 'sh', '-c', 'sleep 1; dd if=/dev/zero of=/fill bs=64k 2>/dev/null; sync; echo full']);
    assert.match(fill.stdout, /full/, fill.stderr);
    assert.equal(fill.code, 0, `the container's own status, even though its exit cannot be recorded on the full disk: ${fill.stderr}`);
    const before = (await s.run(['ps', '-a', '-q'])).stdout;
    // Fill what the container left (the tmpfs may keep a little room for small files).
    const pad = path.join(s.root, 'pad');
    try {
      fs.writeFileSync(pad, Buffer.alloc(64 << 20));
    } catch {
      /* ENOSPC: full now */
    }
    const c = await s.run(['create', '--name', 'nospace', BB, 'true']);
    assertNoSpace(c, 'create on a full disk');
    assert.equal((await s.run(['ps', '-a', '-q'])).stdout, before, 'no half-created container');
    const vol = await s.run(['volume', 'create', 'nospace-vol']);
    assertNoSpace(vol, 'volume create on a full disk');
    assert.equal((await s.run(['volume', 'ls', '-q'])).stdout, '');
    fs.rmSync(pad, {force: true});
    // rm works on the still-full disk: removal is how the space comes back.
    const rm = await s.run(['rm', 'filler']);
    assert.equal(rm.code, 0, rm.stderr);
    await assertConsistent('after the failed create');
    const ok = await s.run(['run', '--rm', BB, 'echo', 'room again']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'room again');
    assert.deepEqual(mountsUnder(s.runroot), []);
    t.diagnostic('disk: container filled the store → create/volume create exit 125 "no space left on device", nothing half-recorded, works after rm');
  });
});

