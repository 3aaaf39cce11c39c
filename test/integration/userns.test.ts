/**
 * A container's own user namespace as root: --uidmap/--gidmap and
 * --userns=auto[:size=N] (podman's rules); the image's files keep their
 * owners through fuse-overlayfs. nomap and keep-id are rootless-only and
 * tested in rootless.test.ts; here, as root, they are errors.
 * --userns=auto needs a "containers" entry in /etc/subuid and /etc/subgid:
 * the test adds one if the host has none (and says so).
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';

const isRoot = process.getuid?.() === 0;
let bb: BusyboxStore;
const run = (args: string[]) => bb.store.run(args);

function ensureContainersRanges(): void {
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (/^containers:/m.test(text)) continue;
    fs.appendFileSync(file, `${text && !text.endsWith('\n') ? '\n' : ''}containers:1000000:1000000\n`);
    console.log(`# userns test: added containers:1000000:1000000 to ${file} (--userns=auto allocates from it)`);
  }
}

function mapOf(pid: number, file: 'uid_map' | 'gid_map'): number[][] {
  return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
}

describe('container user namespaces (root)', {skip: isRoot ? false : 'needs root'}, () => {
  before(async () => {
    bb = await busyboxStore();
    // runc mounts the rootfs from inside the container's user namespace: skiff makes the
    // directories on the way searchable itself (the store's temp directory is 0700).
    assert.equal(fs.statSync(bb.store.dir).mode & 0o011, 0, 'the test store starts unsearchable');
    ensureContainersRanges();
  });
  after(async () => {
    await run(['rm', '-af', '-t', '0']);
    await bb?.close();
  });

  test('--uidmap/--gidmap: root inside is the mapped host id; the image files keep their owners', async () => {
    const r = await run(['run', '--rm', '--uidmap', '0:200000:65536', '--gidmap', '0:300000:65536', bb.image, 'sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; stat -c "%u:%g %n" /bin/busybox /etc']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
    assert.deepEqual(lines.slice(0, 4), ['0', '0', '0 200000 65536', '0 300000 65536']);
    assert.match(r.stdout, /^0:0 \/bin\/busybox$/m);
    // The process, seen from the host, runs as the mapped ids.
    const id = (await run(['run', '-d', '--network', 'none', '--uidmap', '0:200000:65536', bb.image, 'sleep', '300'])).stdout.trim();
    const pid = Number((await run(['inspect', '--format', '{{.State.Pid}}', id])).stdout.trim());
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.match(status, /^Uid:\s+200000\s/m);
    assert.match(status, /^Gid:\s+200000\s/m, 'the gid map defaults to the uid map');
    const ex = await run(['exec', id, 'id', '-u']);
    assert.equal(ex.stdout.trim(), '0', 'exec joins the container user namespace');
    assert.equal((await run(['rm', '-f', '-t', '0', id])).code, 0);
  });

  test('--userns=auto: distinct ranges from /etc/subuid "containers", 1024 ids by default, size=N', async () => {
    const a = (await run(['run', '-d', '--network', 'none', '--userns', 'auto', bb.image, 'sleep', '300'])).stdout.trim();
    const b = (await run(['run', '-d', '--network', 'none', '--userns', 'auto:size=2048', bb.image, 'sleep', '300'])).stdout.trim();
    const pid = async (c: string) => Number((await run(['inspect', '--format', '{{.State.Pid}}', c])).stdout.trim());
    const ma = mapOf(await pid(a), 'uid_map');
    const mb = mapOf(await pid(b), 'uid_map');
    assert.equal(ma.length, 1);
    assert.equal(ma[0][0], 0);
    assert.equal(ma[0][2], 1024);
    assert.equal(mb[0][2], 2048);
    const [sa, sb] = [ma[0][1], mb[0][1]];
    assert.ok(sa + 1024 <= sb || sb + 2048 <= sa, `ranges overlap: ${sa}+1024, ${sb}+2048`);
    assert.equal(mapOf(await pid(a), 'gid_map')[0][2], 1024);
    const r = await run(['exec', a, 'sh', '-c', 'id -u; stat -c %u /bin/busybox']);
    assert.equal(r.stdout, '0\n0\n');
    assert.equal((await run(['rm', '-f', '-t', '0', a, b])).code, 0);
  });

  test('--userns=auto on the bridge: exec joins the container\'s namespaces, the address is in /etc/hosts, teardown is exact', async () => {
    const id = (await run(['run', '-d', '--userns', 'auto', bb.image, 'sleep', '300'])).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ip = (await run(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', id])).stdout.trim();
    assert.match(ip, /^10\.89\.\d+\.\d+$/);
    const pid = Number((await run(['inspect', '--format', '{{.State.Pid}}', id])).stdout.trim());
    const r = await run(['exec', id, 'sh', '-c', 'id -u; ip -4 -o addr show eth0; grep -c "^' + ip.replace(/\./g, '\\.') + '\\s" /etc/hosts; cat /proc/self/uid_map']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], '0');
    assert.match(lines[1], new RegExp(`eth0\\s+inet ${ip.replace(/\./g, '\\.')}/`));
    assert.equal(lines[2], '1', 'the hosts file names the container at its address');
    assert.equal(lines[3].trim().split(/\s+/)[2], '1024', 'exec runs in the container user namespace');
    assert.equal(fs.statSync(`/proc/${pid}/ns/net`).ino, fs.statSync(`${bb.store.runroot}/netns/${id}`).ino, 'runroot/netns/ID is the container\'s namespace');
    const netns = `${bb.store.runroot}/netns/${id}`;
    assert.ok(fs.existsSync(netns), 'the namespace is kept on runroot/netns/ID');
    assert.equal((await run(['rm', '-f', '-t', '0', id])).code, 0);
    assert.ok(!fs.existsSync(netns), 'the netns file is removed');
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(netns), 'the netns is unmounted');
    const ipam = `${bb.store.runroot}/networks/ipam/skiff`;
    const leases = fs.existsSync(ipam) ? fs.readdirSync(ipam).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
    assert.deepEqual(leases, [], 'the address is released');
  });

  test('bad values: one line, exit 125, nothing created', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--userns', 'nomap'], /^Error: nomap is only supported in rootless mode$/m],
      [['--userns', 'keep-id'], /^Error: keep-id is only supported in rootless mode$/m],
      [['--uidmap', '0:1'], /^Error: invalid --uidmap "0:1": use CONTAINER_ID:HOST_ID:SIZE$/m],
      [['--uidmap', '0:100000:10', '--uidmap', '5:200000:3'], /^Error: invalid --uidmap: 0:100000:10 and 5:200000:3 overlap$/m],
      [['--userns', 'auto', '--uidmap', '0:100000:10'], /^Error: --userns=auto cannot be combined with --uidmap\/--gidmap$/m],
      [['--userns', 'auto:size=x'], /^Error: invalid --userns option "size=x"/m],
      [['--userns', 'ns:/proc/1/ns/user'], /^Error: --userns=ns:\/proc\/1\/ns\/user is not supported/m],
    ];
    for (const [flags, msg] of cases) {
      const r = await run(['run', '--rm', ...flags, bb.image, 'true']);
      assert.equal(r.code, 125, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg, flags.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.equal((await run(['ps', '-aq'])).stdout, '');
  });
});
