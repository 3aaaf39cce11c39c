/**
 * skiff system check: each kind of damage is reported on one line (exit 1),
 * --repair fixes what it can and says what it did (exit 0 when nothing is
 * left), and what cannot be repaired keeps the exit status at 1.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {execFileSync, spawn} from 'node:child_process';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';
import {exited, mountsUnder, sleep} from '../helpers/fault';

let bb: BusyboxStore;
const HEX = (c: string) => c.repeat(64);

before(async () => {
  bb = await busyboxStore();
});

after(async () => {
  await bb?.close();
});

const run = (args: string[]) => bb.store.run(args);

async function clean(): Promise<void> {
  const r = await run(['system', 'check']);
  assert.equal(r.code, 0, `expected a clean store: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
}

describe('system check', () => {
  test('a fresh store is clean; --help describes the flags', async () => {
    await clean();
    const q = await run(['system', 'check', '--quick']);
    assert.equal(q.code, 0, q.stdout);
    const help = await run(['system', 'check', '--help']);
    assert.match(help.stdout, /--repair/);
    assert.match(help.stdout, /--quick/);
  });

  test('leftovers of interrupted work: reported (exit 1), removed by --repair (exit 0)', async () => {
    const root = bb.store.root;
    fs.mkdirSync(path.join(root, 'tmp', `layer-${HEX('a')}-0badc0de`, 'diff'), {recursive: true});
    fs.mkdirSync(path.join(root, 'containers', HEX('b')), {recursive: true}); // a create killed before config.json
    // A --rm container's record (not fsynced) torn by a power loss: ps must not fail on it.
    fs.mkdirSync(path.join(root, 'containers', HEX('9')), {recursive: true});
    fs.writeFileSync(path.join(root, 'containers', HEX('9'), 'config.json'), '{"id": "99');
    const ps = await run(['ps', '-a', '--format', 'json']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.deepEqual(JSON.parse(ps.stdout), []);
    fs.mkdirSync(path.join(root, 'volumes', 'halfvol', '_data'), {recursive: true}); // no volume.json
    fs.writeFileSync(path.join(root, 'blobs', 'sha256', HEX('c')), 'orphan'); // no image uses it
    fs.writeFileSync(path.join(root, 'blobs', 'sha256', `.${HEX('d')}.tmp-999999999-0badc0de`), 'partial');
    fs.mkdirSync(path.join(bb.store.runroot, 'exits'), {recursive: true});
    fs.writeFileSync(path.join(bb.store.runroot, 'exits', HEX('e')), '0');
    const orphanRun = path.join(bb.store.runroot, 'containers', HEX('f'));
    fs.mkdirSync(path.join(orphanRun, 'rootfs'), {recursive: true});
    execFileSync('mount', ['-t', 'tmpfs', 'leak', path.join(orphanRun, 'rootfs')]);
    const leak = path.join(root, 'containers-leak');
    fs.mkdirSync(leak);
    execFileSync('mount', ['-t', 'tmpfs', 'leak', leak]);

    const r = await run(['system', 'check']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stdout.trim().split('\n');
    for (const want of [/^tmp layer-a{64}-0badc0de: left over/, /^container bbbbbbbbbbbb: incomplete record/, /^container 999999999999: unreadable record \(config\.json torn/, /^volume halfvol: no readable volume\.json/, /^blob c{24}: no image uses it/, /^blob \.d+.*partial blob write/, /^exit file eeeeeeeeeeee:/, /^runroot container ffffffffffff:/, /^mount .*containers-leak: mounted, but nothing running uses it/]) {
      assert.ok(lines.some((l) => want.test(l)), `missing ${want} in:\n${r.stdout}`);
    }
    const rep = await run(['system', 'check', '--repair']);
    assert.equal(rep.code, 0, rep.stdout + rep.stderr);
    assert.ok(rep.stdout.trim().split('\n').every((l) => /: (removed|unmounted)$/.test(l)), rep.stdout);
    await clean();
    assert.deepEqual(mountsUnder(bb.store.dir), []);
    fs.rmdirSync(leak);
    assert.equal((await run(['run', '--rm', bb.image, 'true'])).code, 0, 'the store still works');
  });

  test('lock files go with their containers and volumes; check deletes those of older stores, quietly', async () => {
    const locks = path.join(bb.store.root, 'locks');
    /** container-/volume-/layer- lock files whose container, volume or layer does not exist. */
    const orphans = () =>
      fs.readdirSync(locks).filter((f) => {
        const m = /^(container|volume|layer)-(.+)\.lock$/.exec(f);
        if (!m) return false;
        const dir = m[1] === 'container' ? path.join(bb.store.root, 'containers', m[2]) : m[1] === 'volume' ? path.join(bb.store.root, 'volumes', m[2]) : path.join(bb.store.root, 'layers', m[2]);
        return !fs.existsSync(dir);
      });
    assert.equal((await run(['run', '--rm', bb.image, 'true'])).code, 0);
    const d = (await run(['run', '-d', bb.image, 'sleep', '300'])).stdout.trim();
    assert.equal((await run(['rm', '-f', '-t', '0', d])).code, 0);
    assert.equal((await run(['create', '--name', 'lockgone', bb.image, 'true'])).code, 0);
    assert.equal((await run(['start', '-a', 'lockgone'])).code, 0);
    assert.equal((await run(['rm', 'lockgone'])).code, 0);
    // --rm -d: the exit command (`container cleanup`, started by conmon) removes it.
    const r = (await run(['run', '-d', '--rm', bb.image, 'true'])).stdout.trim();
    for (let i = 0; i < 100 && (await run(['container', 'exists', r])).code === 0; i++) await sleep(50);
    assert.equal((await run(['volume', 'create', 'lockvol'])).code, 0);
    assert.equal((await run(['volume', 'rm', 'lockvol'])).code, 0);
    assert.ok(fs.existsSync(path.join(locks, `container-${d}.lock`)) === false, 'rm -f deleted its lock file');
    assert.deepEqual(orphans(), []);
    // A store from before removals deleted them: one per container it ever had.
    const keep = (await run(['create', bb.image, 'true'])).stdout.trim();
    await run(['inspect', keep]);
    const old = [`container-${HEX('1')}.lock`, `container-${HEX('2')}.lock`, `layer-${HEX('3')}.lock`, 'volume-long-gone.lock'];
    for (const f of old) fs.writeFileSync(path.join(locks, f), '');
    fs.writeFileSync(path.join(locks, `container-${keep}.lock`), '');
    await clean(); // housekeeping, not a finding
    assert.deepEqual(orphans(), []);
    assert.ok(fs.existsSync(path.join(locks, `container-${keep}.lock`)), "an existing container's lock file stays");
    assert.equal((await run(['rm', keep])).code, 0);
    assert.deepEqual(orphans(), []);
  });

  test('a corrupt blob and a missing layer: the image is dropped by --repair unless a container uses it', async () => {
    const ml = JSON.parse(fs.readFileSync(path.join(bb.store.root, 'images', 'images.json'), 'utf8')).images[0];
    const cfg = path.join(bb.store.root, 'blobs', 'sha256', ml.configDigest.slice(7));
    const good = fs.readFileSync(cfg);
    fs.writeFileSync(cfg, Buffer.concat([good, Buffer.from(' ')]));
    const q = await run(['system', 'check', '--quick']);
    assert.equal(q.code, 0, `--quick does not re-hash: ${q.stdout}`);
    const r = await run(['system', 'check']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^image [0-9a-f]{12} \(.*busybox.*\): its config blob [0-9a-f]{12} does not match its digest$/m);
    // Used by a container: not repairable, exit 1.
    const id = (await run(['create', bb.image, 'true'])).stdout.trim();
    const rep = await run(['system', 'check', '--repair']);
    assert.equal(rep.code, 1, rep.stdout);
    assert.match(rep.stdout, /not repaired: used by container/);
    // --force: the container goes, then the image; pulling again makes it whole.
    assert.equal((await run(['system', 'check', '--force'])).code, 125, '--force needs --repair');
    const forced = await run(['system', 'check', '--repair', '--force']);
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    assert.match(forced.stdout, new RegExp(`^container .*\\(${id.slice(0, 12)}\\): its image is damaged: container removed \\(--force\\)$`, 'm'));
    assert.match(forced.stdout, /image record removed \(pull it again\)/);
    assert.equal((await run(['ps', '-a', '-q'])).stdout, '');
    await clean();
    const pulled = await run(['pull', '-q', '--tls-verify=false', bb.image]);
    assert.equal(pulled.code, 0, pulled.stderr);
    await clean();
    // Unused and broken (its layer gone): the record goes, then the rest of it.
    const layer = path.join(bb.store.root, 'layers', ml.layers[0].slice(7));
    fs.renameSync(layer, layer + '.gone');
    const r2 = await run(['system', 'check']);
    assert.equal(r2.code, 1);
    assert.match(r2.stdout, /its layer [0-9a-f]{12} is missing/);
    assert.match(r2.stdout, /^layers\/[0-9a-f]{64}\.gone: not a layer/m);
    const rep2 = await run(['system', 'check', '--repair']);
    assert.equal(rep2.code, 0, rep2.stdout);
    assert.match(rep2.stdout, /image record removed \(pull it again\)/);
    await clean();
    assert.equal((await run(['images', '-q'])).stdout, '');
    const again = await run(['pull', '-q', '--tls-verify=false', bb.image]);
    assert.equal(again.code, 0, again.stderr);
    await clean();
  });

  test('containers: a dead monitor and an interrupted start are settled, an interrupted stop goes back to running', async () => {
    const a = (await run(['run', '-d', bb.image, 'sleep', '300'])).stdout.trim();
    const b = (await run(['run', '-d', bb.image, 'sleep', '300'])).stdout.trim();
    // a: its conmon and process die without anyone recording it.
    const st = JSON.parse((await run(['inspect', a])).stdout)[0].State;
    // conmon first, so no exit file is written (a fresh exit file means cleanup is still on its way).
    process.kill(st.ConmonPid, 'SIGKILL');
    await sleep(100);
    execFileSync('runc', ['--root', path.join(bb.store.runroot, 'runtime'), 'kill', a, 'KILL']);
    await sleep(300);
    // b: a stop whose process died before the container exited.
    const stateFile = path.join(bb.store.root, 'containers', b, 'state.json');
    const bs = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    fs.writeFileSync(stateFile, JSON.stringify({...bs, status: 'stopping', busyPid: 999999999}));
    assert.equal((await run(['inspect', '--format', '{{.State.Status}}', b])).stdout.trim(), 'running', 'a dead stopper: still running');
    const r = await run(['system', 'check']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`\\(${a.slice(0, 12)}\\): recorded as running but not running`));
    assert.match(r.stdout, new RegExp(`\\(${b.slice(0, 12)}\\): stuck in state "stopping"`));
    const rep = await run(['system', 'check', '--repair']);
    assert.equal(rep.code, 0, rep.stdout);
    await clean();
    assert.equal((await run(['inspect', '--format', '{{.State.Status}}', a])).stdout.trim(), 'exited');
    assert.equal((await run(['inspect', '--format', '{{.State.Status}}', b])).stdout.trim(), 'running');
    assert.equal((await run(['rm', '-f', '-t', '0', a, b])).code, 0);
    assert.deepEqual(mountsUnder(bb.store.dir), []);
  });

  test('an initialized container (skiff init) is live: check leaves its mounts and network, and start runs it', async () => {
    const id = (await run(['create', bb.image, 'sh', '-c', 'echo started; sleep 300'])).stdout.trim();
    const init = await run(['init', id]);
    assert.equal(init.code, 0, init.stderr);
    const status = async () => (await run(['inspect', '--format', '{{.State.Status}}', id])).stdout.trim();
    assert.equal(await status(), 'initialized');
    const before = mountsUnder(bb.store.dir).filter((m) => m.includes(id));
    assert.ok(before.some((m) => m.endsWith('/rootfs')), `rootfs mounted: ${before.join(' ')}`);
    // Before session 9, --repair took it for an interrupted start and tore it down.
    const rep = await run(['system', 'check', '--repair']);
    assert.equal(rep.code, 0, rep.stdout + rep.stderr);
    assert.equal(rep.stdout, '');
    assert.equal(await status(), 'initialized');
    assert.deepEqual(mountsUnder(bb.store.dir).filter((m) => m.includes(id)), before);
    assert.equal((await run(['start', id])).code, 0);
    assert.equal(await status(), 'running');
    for (const end = Date.now() + 5000; !(await run(['logs', id])).stdout.includes('started') && Date.now() < end; ) await sleep(100);
    assert.equal((await run(['logs', id])).stdout, 'started\n');
    assert.equal((await run(['rm', '-f', '-t', '0', id])).code, 0);
    await clean();
  });

  test("the runtime's passing mounts in its state directory: left alone while the container is busy or running, a leftover otherwise", async () => {
    // runc 1.1 bind-mounts its own binary at runroot/runtime/<id>/runc.XXXXXX for a moment while it
    // creates the container (the starting skiff holds the container's lock) or runs an exec (the
    // container runs). check --repair used to unmount it as an orphan (and fail when runc got there first).
    const created = (await run(['create', bb.image, 'true'])).stdout.trim();
    const running = (await run(['run', '-d', bb.image, 'sleep', '300'])).stdout.trim();
    const passing = (id: string) => {
      const dir = path.join(bb.store.runroot, 'runtime', id);
      fs.mkdirSync(dir, {recursive: true});
      const mp = path.join(dir, 'runc.Ab12Cd');
      fs.writeFileSync(mp, '');
      execFileSync('mount', ['--bind', '-o', 'ro', process.execPath, mp]);
      return mp;
    };
    const mounted = (mp: string) => mountsUnder(bb.store.dir).some((m) => m.endsWith(`/${path.basename(path.dirname(mp))}/runc.Ab12Cd`));
    const a = passing(created);
    const b = passing(running);
    const lockPath = path.join(bb.store.root, 'locks', `container-${created}.lock`);
    const holder = spawn('flock', ['--no-fork', lockPath, 'sleep', '120'], {stdio: 'ignore'});
    try {
      for (let i = 0; i < 200; i++) {
        try {
          execFileSync('flock', ['--nonblock', lockPath, 'true']);
          await sleep(50);
        } catch {
          break; // held
        }
      }
      const r = await run(['system', 'check', '--repair']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, '');
      assert.ok(mounted(a) && mounted(b), mountsUnder(bb.store.dir).join('\n'));
    } finally {
      holder.kill();
      await exited(holder);
    }
    // Nobody at work on the created container: a runtime killed midway left its mount.
    const r = await run(['system', 'check', '--repair']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^mount .*runc\.Ab12Cd: mounted, but nothing running uses it: unmounted$/m);
    assert.equal(r.stdout.trim().split('\n').length, 1, r.stdout);
    assert.ok(!mounted(a) && mounted(b));
    execFileSync('umount', [b]);
    assert.equal((await run(['rm', '-f', '-t', '0', created, running])).code, 0);
    for (const id of [created, running]) fs.rmSync(path.join(bb.store.runroot, 'runtime', id), {recursive: true, force: true});
    await clean();
    assert.deepEqual(mountsUnder(bb.store.dir), []);
  });
});
