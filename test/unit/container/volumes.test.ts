import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {Paths} from '../../../src/lib/state/paths';
import {tryLockFile} from '../../../src/lib/state/lock';
import {spawn} from 'node:child_process';
import {
  buildVolumeFilter,
  containersUsingVolume,
  mountFlags,
  parseDriverOptions,
  parseKeyValues,
  validateVolumeName,
  VolumeInUseError,
  VolumeService,
} from '../../../src/lib/container/volumes';
import {isSkiffError} from '../../../src/lib/util/errors';
import {lgetxattr, lsetxattr} from '../../../src/lib/util/native';
import {isMounted} from '../../../src/lib/storage/overlay';
import {tempDir} from '../../helpers/tmp';

const isRoot = process.getuid?.() === 0;

function setup() {
  const dir = tempDir('skiff-volumes-');
  const paths = new Paths({root: path.join(dir, 'root'), runroot: path.join(dir, 'run'), env: {}});
  const users = new Map<string, string[]>();
  const svc = new VolumeService(paths, (name) => users.get(name) ?? []);
  return {dir, paths, users, svc};
}

describe('names and options', () => {
  test('podman name rule', () => {
    for (const ok of ['a', 'A9', 'my_vol.1-x', '0']) validateVolumeName(ok);
    for (const bad of ['', '-a', '.a', '_a', 'a/b', 'a b', 'ä', 'a:b']) assert.throws(() => validateVolumeName(bad), (e) => isSkiffError(e, 'invalid-input'), bad);
  });

  test('-o parsing: type/device/o kept, uid/gid/nocopy taken out of o, unknown keys refused', () => {
    assert.deepEqual(parseDriverOptions({type: 'tmpfs', device: 'tmpfs', o: 'size=10m,uid=1000,gid=100,nocopy'}), {
      options: {type: 'tmpfs', device: 'tmpfs', o: 'size=10m'},
      uid: 1000,
      gid: 100,
      noCopy: true,
    });
    assert.deepEqual(parseDriverOptions({}), {options: {}, uid: undefined, gid: undefined, noCopy: false});
    assert.throws(() => parseDriverOptions({foo: 'bar'}), /invalid mount option foo for driver 'local'/);
    assert.throws(() => parseDriverOptions({o: 'uid=abc'}), /numeric/);
    assert.throws(() => parseDriverOptions({device: '/nonexistent-skiff', o: 'bind'}), /no such file/);
    assert.throws(() => parseDriverOptions({type: 'tmpfs'}), /needs a device/);
    assert.throws(() => parseDriverOptions({device: '/tmp'}), /needs a type/);
    assert.deepEqual(parseDriverOptions({device: '/tmp', o: 'bind,ro'}).options, {device: '/tmp', o: 'bind,ro'});
  });

  test('key=value lists and mount option words', () => {
    assert.deepEqual(parseKeyValues(['a=1', 'b', 'c=x=y']), {a: '1', b: '', c: 'x=y'});
    assert.throws(() => parseKeyValues(['=x']), /key is empty/);
    assert.deepEqual(mountFlags('ro,nodev,size=10m,mode=0755'), {flags: 1 | 4, data: 'size=10m,mode=0755'});
    assert.deepEqual(mountFlags('ro,rw'), {flags: 0, data: ''});
  });

  test('users of a volume from container records', () => {
    const recs = [
      {config: {id: 'c1', mounts: [{type: 'volume' as const, name: 'v', destination: '/d', options: []}]}},
      {config: {id: 'c2', mounts: [{type: 'bind' as const, source: '/v', destination: '/d', options: []}]}},
      {config: {id: 'c3', mounts: [{type: 'volume' as const, name: 'other', destination: '/d', options: []}]}},
    ];
    assert.deepEqual(containersUsingVolume(recs, 'v'), ['c1']);
  });
});

describe('volume store', () => {
  test('create: directory layout, record, inspect shape; duplicate refused; --ignore returns it', async () => {
    const {svc, paths} = setup();
    const rec = await svc.create({name: 'data', labels: {a: '1'}});
    assert.equal(fs.statSync(path.join(paths.volumesDir, 'data', '_data')).isDirectory(), true);
    assert.equal(fs.statSync(svc.mountpoint('data')).mode & 0o777, 0o755);
    assert.deepEqual(fs.readdirSync(paths.tmpDir), [], 'nothing left in tmp');
    const ins = svc.inspect(rec);
    assert.deepEqual(Object.keys(ins), ['Name', 'Driver', 'Mountpoint', 'CreatedAt', 'Labels', 'Scope', 'Options', 'UID', 'GID', 'Anonymous', 'MountCount', 'NeedsCopyUp', 'NeedsChown']);
    assert.equal(ins.Mountpoint, path.join(paths.root, 'volumes', 'data', '_data'));
    assert.equal(ins.Driver, 'local');
    assert.equal(ins.Scope, 'local');
    assert.equal(ins.NeedsCopyUp, true);
    assert.equal(ins.NeedsChown, true);
    assert.ok(!Number.isNaN(Date.parse(ins.CreatedAt)));
    await assert.rejects(svc.create({name: 'data'}), (e) => isSkiffError(e, 'conflict') && /already exists/.test(e.message));
    const again = await svc.create({name: 'data', ignoreExisting: true, labels: {b: '2'}});
    assert.deepEqual(again.labels, {a: '1'}, 'existing volume unchanged');
    await assert.rejects(svc.create({name: 'x', driver: 'nfs'}), (e) => isSkiffError(e, 'unsupported'));
    await assert.rejects(svc.create({name: 'bad name'}), (e) => isSkiffError(e, 'invalid-input'));
  });

  test('unnamed volumes get a random 64-hex name; anonymous flag recorded', async () => {
    const {svc} = setup();
    const a = await svc.create({anonymous: true});
    const b = await svc.create();
    assert.match(a.name, /^[0-9a-f]{64}$/);
    assert.notEqual(a.name, b.name);
    assert.equal(a.anonymous, true);
    assert.equal(b.anonymous, false);
  });

  test('uid/gid chown _data and clear NeedsChown', {skip: !isRoot && 'needs root'}, async () => {
    const {svc} = setup();
    const rec = await svc.create({name: 'owned', options: {o: 'uid=1234,gid=99'}});
    const st = fs.statSync(svc.mountpoint('owned'));
    assert.equal(st.uid, 1234);
    assert.equal(st.gid, 99);
    assert.equal(rec.needsChown, false);
    assert.equal(svc.inspect(rec).UID, 1234);
  });

  test('lookup by name and unique prefix; list sorted', async () => {
    const {svc} = setup();
    await svc.create({name: 'alpha'});
    await svc.create({name: 'alps'});
    await svc.create({name: 'beta'});
    assert.equal(svc.resolve('b').name, 'beta');
    assert.throws(() => svc.resolve('al'), (e) => isSkiffError(e, 'conflict'));
    assert.throws(() => svc.resolve('gamma'), (e) => isSkiffError(e, 'not-found') && /no volume with name "gamma" found: no such volume/.test(e.message));
    assert.equal(svc.exists('alpha'), true);
    assert.equal(svc.exists('alp'), false, 'exists wants the full name');
    assert.deepEqual(svc.list().map((v) => v.name), ['alpha', 'alps', 'beta']);
  });

  test('remove: in use refused (inUse report), others removed, missing reported', async () => {
    const {svc, users, paths} = setup();
    await svc.create({name: 'used'});
    await svc.create({name: 'free'});
    users.set('used', ['c0ffee']);
    const reports = await svc.remove(['used', 'free', 'missing']);
    assert.equal(reports.length, 3);
    assert.equal(reports[0].inUse, true);
    assert.ok(reports[0].error instanceof VolumeInUseError);
    assert.match(reports[0].error?.message ?? '', /being used by the following container\(s\): c0ffee/);
    assert.equal(reports[1].name, 'free');
    assert.equal(reports[1].error, undefined);
    assert.ok(isSkiffError(reports[2].error, 'not-found'));
    assert.deepEqual(svc.list().map((v) => v.name), ['used']);
    assert.deepEqual(fs.readdirSync(paths.tmpDir), []);
  });

  test('remove --force removes the users first through the callback, then the volume', async () => {
    const {svc, users} = setup();
    await svc.create({name: 'used'});
    users.set('used', ['c1', 'c2']);
    const removed: string[][] = [];
    const reports = await svc.remove(['used'], {
      force: true,
      removeContainers: async (ids) => {
        removed.push(ids);
        users.delete('used');
      },
    });
    assert.deepEqual(removed, [['c1', 'c2']]);
    assert.equal(reports[0].error, undefined);
    assert.equal(svc.exists('used'), false);
    await svc.create({name: 'stuck'});
    users.set('stuck', ['c3']);
    const forcedNoCallback = await svc.remove(['stuck'], {force: true});
    assert.equal(forcedNoCallback[0].inUse, true, 'without a way to remove the containers, force cannot remove it');
  });

  test('remove --all and prune skip volumes in use; prune honours label filters', async () => {
    const {svc, users} = setup();
    await svc.create({name: 'a', labels: {keep: 'yes'}});
    await svc.create({name: 'b'});
    await svc.create({name: 'c'});
    users.set('c', ['x']);
    assert.deepEqual(await svc.prune(['label!=keep']), ['b']);
    assert.deepEqual(await svc.prune(), ['a']);
    assert.deepEqual(svc.list().map((v) => v.name), ['c']);
    await assert.rejects(svc.prune(['dangling=true']), /"dangling" is an invalid volume filter/);
    const all = await svc.remove([], {all: true});
    assert.equal(all[0].inUse, true);
  });

  test('list filters: name (regex), label, label!, driver, opt, dangling, until, since', async () => {
    const {svc, users} = setup();
    await svc.create({name: 'web-data', labels: {app: 'web', tier: 'front'}});
    await svc.create({name: 'db-data', labels: {app: 'db'}, options: {type: 'tmpfs', device: 'tmpfs', o: 'size=1m'}});
    await new Promise((r) => setTimeout(r, 5));
    await svc.create({name: 'cache'});
    users.set('db-data', ['c1']);
    const names = (f: string[]) => svc.filter(svc.list(), f).map((v) => v.name);
    assert.deepEqual(names(['name=data$']), ['db-data', 'web-data']);
    assert.deepEqual(names(['name=^web', 'name=^cache']), ['cache', 'web-data'], 'same key ORs');
    assert.deepEqual(names(['label=app']), ['db-data', 'web-data']);
    assert.deepEqual(names(['label=app=web', 'label=tier']), ['web-data'], 'labels AND');
    assert.deepEqual(names(['label=app=db', 'label=tier']), []);
    assert.deepEqual(names(['label!=app']), ['cache']);
    assert.deepEqual(names(['name=data', 'label=app=db']), ['db-data'], 'different keys AND');
    assert.deepEqual(names(['driver=local']).length, 3);
    assert.deepEqual(names(['opt=type=tmpfs']), ['db-data']);
    assert.deepEqual(names(['opt=device']), ['db-data']);
    assert.deepEqual(names(['dangling=true']), ['cache', 'web-data']);
    assert.deepEqual(names(['dangling=0']), ['db-data']);
    assert.deepEqual(names(['since=db-data']), ['cache']);
    assert.deepEqual(names(['until=' + new Date(Date.now() + 60_000).toISOString()]).length, 3);
    assert.deepEqual(names(['until=1h']), []);
    assert.throws(() => names(['dangling=maybe']), /not a valid value/);
    assert.throws(() => names(['color=red']), /"color" is an invalid volume filter/);
    assert.throws(() => names(['novalue']), /KEY=VALUE/);
  });

  test('filter function directly: scope', () => {
    const keep = buildVolumeFilter(['scope=local'], {dangling: () => true, resolve: () => assert.fail()});
    assert.equal(keep({name: 'x', driver: 'local', createdAt: new Date().toISOString(), labels: {}, options: {}, anonymous: false, needsCopyUp: true, needsChown: true, mountCount: 0}), true);
  });

  test('create and remove wait for the volume lock held by another process', async () => {
    const {svc, paths} = setup();
    fs.mkdirSync(paths.locksDir, {recursive: true});
    const holdFor = (ms: number) => {
      const child = spawn('flock', [paths.lockFile('volume-locked'), 'sleep', String(ms / 1000)], {stdio: 'ignore'});
      return new Promise<void>((r) => child.on('exit', () => r()));
    };
    const waitHeld = async () => {
      for (;;) {
        const l = tryLockFile(paths.lockFile('volume-locked'));
        if (!l) return;
        l.release();
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    let exited = holdFor(300);
    await waitHeld();
    let done = false;
    const p = svc.create({name: 'locked'}).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(done, false, 'create waits for the lock');
    await exited;
    await p;
    assert.equal(svc.exists('locked'), true);
    exited = holdFor(300);
    await waitHeld();
    const start = Date.now();
    await svc.remove(['locked']);
    assert.ok(Date.now() - start >= 100, 'remove waited for the lock');
    await exited;
    assert.equal(svc.exists('locked'), false);
  });

  test('leftovers of killed creates and removals are swept unless their lock is held', async () => {
    const {svc, paths} = setup();
    fs.mkdirSync(path.join(paths.tmpDir, 'volume-v1-0123abcd', '_data'), {recursive: true});
    fs.mkdirSync(path.join(paths.tmpDir, 'removing-volume-v2-0123abcd'), {recursive: true});
    fs.mkdirSync(path.join(paths.tmpDir, 'layer-unrelated'), {recursive: true});
    const busy = tryLockFile(paths.lockFile('volume-v2'));
    assert.deepEqual(svc.cleanupTemp(), ['volume-v1-0123abcd']);
    busy?.release();
    assert.deepEqual(svc.cleanupTemp(), ['removing-volume-v2-0123abcd']);
    assert.deepEqual(fs.readdirSync(paths.tmpDir), ['layer-unrelated']);
  });
});

describe('copy-up', {skip: !isRoot && 'needs root (chown)'}, () => {
  function rootfs(dir: string): string {
    const r = path.join(dir, 'rootfs');
    fs.mkdirSync(path.join(r, 'var/lib/app/sub'), {recursive: true});
    fs.writeFileSync(path.join(r, 'var/lib/app/conf'), 'cfg');
    fs.chownSync(path.join(r, 'var/lib/app/conf'), 33, 33);
    fs.chmodSync(path.join(r, 'var/lib/app/conf'), 0o640);
    fs.writeFileSync(path.join(r, 'var/lib/app/sub/x'), 'x');
    fs.linkSync(path.join(r, 'var/lib/app/sub/x'), path.join(r, 'var/lib/app/sub/x-hard'));
    fs.symlinkSync('/etc/shadow', path.join(r, 'var/lib/app/abs-link'));
    lsetxattr(path.join(r, 'var/lib/app/conf'), 'user.k', Buffer.from('v'));
    fs.chownSync(path.join(r, 'var/lib/app'), 33, 44);
    fs.chmodSync(path.join(r, 'var/lib/app'), 0o750);
    fs.mkdirSync(path.join(r, 'etc'));
    fs.writeFileSync(path.join(r, 'etc/inside'), 'in rootfs');
    fs.symlinkSync('/var/lib/app', path.join(r, 'data'));
    fs.symlinkSync('../../../../../../etc', path.join(r, 'escape'));
    return r;
  }

  test('copies the image content into an empty volume once, with owners, modes, xattrs, links', async () => {
    const {svc, dir} = setup();
    const r = rootfs(dir);
    await svc.create({name: 'v'});
    assert.equal(await svc.copyUpFromImage('v', r, '/var/lib/app'), true);
    const data = svc.mountpoint('v');
    assert.deepEqual(fs.readdirSync(data).sort(), ['abs-link', 'conf', 'sub']);
    const conf = fs.lstatSync(path.join(data, 'conf'));
    assert.deepEqual([conf.uid, conf.gid, conf.mode & 0o777], [33, 33, 0o640]);
    assert.equal(lgetxattr(path.join(data, 'conf'), 'user.k')?.toString(), 'v');
    assert.equal(fs.readlinkSync(path.join(data, 'abs-link')), '/etc/shadow', 'symlink copied, not followed');
    assert.equal(fs.statSync(path.join(data, 'sub/x')).ino, fs.statSync(path.join(data, 'sub/x-hard')).ino);
    const root = fs.statSync(data);
    assert.deepEqual([root.uid, root.gid, root.mode & 0o777], [33, 44, 0o750], '_data takes the directory owner and mode');
    const ins = svc.inspect(svc.resolve('v'));
    assert.equal(ins.NeedsCopyUp, false);
    assert.equal(ins.NeedsChown, false);
    fs.rmSync(path.join(data, 'conf'));
    assert.equal(await svc.copyUpFromImage('v', r, '/var/lib/app'), false, 'only on first use');
    assert.equal(fs.existsSync(path.join(data, 'conf')), false);
  });

  test('a volume that already has content is not overwritten', async () => {
    const {svc, dir} = setup();
    const r = rootfs(dir);
    await svc.create({name: 'v'});
    fs.writeFileSync(path.join(svc.mountpoint('v'), 'mine'), 'm');
    assert.equal(await svc.copyUpFromImage('v', r, '/var/lib/app'), false);
    assert.deepEqual(fs.readdirSync(svc.mountpoint('v')), ['mine']);
  });

  test('symlinks in the container path resolve inside the rootfs, never on the host', async () => {
    const {svc, dir} = setup();
    const r = rootfs(dir);
    await svc.create({name: 'via-link'});
    assert.equal(await svc.copyUpFromImage('via-link', r, '/data'), true);
    assert.ok(fs.existsSync(path.join(svc.mountpoint('via-link'), 'conf')));
    await svc.create({name: 'escape'});
    assert.equal(await svc.copyUpFromImage('escape', r, '/escape'), true);
    assert.deepEqual(fs.readdirSync(svc.mountpoint('escape')), ['inside'], '.. stops at the rootfs root: the rootfs /etc, not the host /etc');
  });

  test('nocopy volumes and missing paths copy nothing', async () => {
    const {svc, dir} = setup();
    const r = rootfs(dir);
    await svc.create({name: 'nc', options: {o: 'nocopy'}});
    assert.equal(await svc.copyUpFromImage('nc', r, '/var/lib/app'), false);
    assert.deepEqual(fs.readdirSync(svc.mountpoint('nc')), []);
    await svc.create({name: 'missing'});
    assert.equal(await svc.copyUpFromImage('missing', r, '/no/such/dir'), false);
    assert.equal(svc.inspect(svc.resolve('missing')).NeedsCopyUp, false);
    await assert.rejects(svc.copyUpFromImage('missing', r, 'relative'), /absolute/);
    await assert.rejects(svc.copyUpFromImage('nope', r, '/x'), (e) => isSkiffError(e, 'not-found'));
  });
});

describe('device-backed volumes', {skip: !isRoot && 'needs root (mount)'}, () => {
  test('tmpfs volume mounted on first use, unmounted by the last user; MountCount tracks users', async () => {
    const {svc} = setup();
    await svc.create({name: 'tmp', options: {type: 'tmpfs', device: 'tmpfs', o: 'size=1m,nodev'}});
    const mp = await svc.mount('tmp');
    assert.equal(isMounted(mp), true);
    await svc.mount('tmp');
    assert.equal(svc.inspect(svc.resolve('tmp')).MountCount, 2);
    await svc.unmount('tmp');
    assert.equal(isMounted(mp), true, 'still used');
    await svc.unmount('tmp');
    assert.equal(isMounted(mp), false);
    assert.equal(svc.inspect(svc.resolve('tmp')).MountCount, 0);
  });

  test('bind volume shows the device directory; removal unmounts it', async () => {
    const {svc, dir} = setup();
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'f'), 'f');
    await svc.create({name: 'b', options: {device: src, o: 'bind'}});
    const mp = await svc.mount('b');
    assert.equal(fs.readFileSync(path.join(mp, 'f'), 'utf8'), 'f');
    const r = await svc.remove(['b']);
    assert.equal(r[0].error, undefined);
    assert.equal(isMounted(mp), false);
    assert.equal(fs.readFileSync(path.join(src, 'f'), 'utf8'), 'f', 'the bind source is untouched');
  });
});
