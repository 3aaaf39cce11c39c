/**
 * Networking through the real CLI, the real CNI plugins and aardvark-dns:
 * default bridge network, none/host, published ports reached from the host
 * (127.0.0.1 and the host's own address), name resolution between
 * containers, network commands, connect/disconnect, and no leaked veths,
 * iptables rules, netns mounts or leases after kill -9 and rm -f. The host's
 * iptables rules are per network (5 for a bridge network, 2 DROPs for an
 * internal one): they come with the network (the default one: with its
 * first container) and go with `network rm`; containers add none unless
 * they publish ports.
 *
 * Each test network gets a random bridge name and subnet, so parallel runs
 * on this host do not collide, and is removed at the end.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {execFileSync, spawn} from 'node:child_process';
import {randomBytes, randomInt} from 'node:crypto';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';
import {addressRules, networkRules} from '../helpers/network';

let bb: BusyboxStore;
const networks: string[] = [];

before(async () => {
  bb = await busyboxStore();
});

after(async () => {
  if (!bb) return;
  await bb.store.run(['rm', '-a', '-f', '-t', '0']);
  for (const n of networks) await bb.store.run(['network', 'rm', '-f', n]);
  const pidFile = path.join(bb.store.runroot, 'networks', 'aardvark-dns', 'aardvark.pid');
  if (fs.existsSync(pidFile)) {
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  await bb.close();
});

const run = (args: string[], opts?: {timeoutMs?: number}) => bb.store.run(args, opts);

async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  assert.equal(r.code, 0, `skiff ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A fresh network with its own bridge and a random 10.2xx.y.0/24 subnet. */
async function newNetwork(extra: string[] = []): Promise<{name: string; bridge: string; prefix: string}> {
  const tag = randomBytes(3).toString('hex');
  const name = `nt${tag}`;
  const bridge = `skt${tag}`;
  for (let attempt = 0; ; attempt++) {
    const prefix = `10.${200 + randomInt(50)}.${randomInt(250)}`;
    const r = await run(['network', 'create', '--subnet', `${prefix}.0/24`, '--interface-name', bridge, ...extra, name]);
    if (r.code === 0) {
      networks.push(name);
      return {name, bridge, prefix};
    }
    if (attempt > 5 || !/already used/.test(r.stderr)) assert.fail(r.stderr);
  }
}

/** Poll until fn passes (containers need a moment to start listening). */
async function eventually(fn: () => Promise<void>, tries = 40): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function httpGet(url: string): Promise<string> {
  const res = await fetch(url, {signal: AbortSignal.timeout(3000)});
  return res.text();
}

/** The host's IPv4 address on its default-route interface. */
function hostAddress(): string {
  const route = execFileSync('ip', ['-4', 'route', 'show', 'default'], {encoding: 'utf8'});
  const dev = /dev (\S+)/.exec(route)?.[1];
  assert.ok(dev, 'the host has a default route');
  const addr = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', dev], {encoding: 'utf8'});
  return /inet (\d+\.\d+\.\d+\.\d+)/.exec(addr)![1];
}

/** Everything the host holds for one container: iptables rules naming it, its netns mount, its host-local lease. */
function leftovers(id: string, ip?: string): string[] {
  const out: string[] = [];
  for (const table of ['nat', 'filter']) {
    const rules = execFileSync('iptables-save', ['-t', table], {encoding: 'utf8'});
    if (rules.includes(id)) out.push(`iptables ${table} rules naming ${id.slice(0, 12)}`);
    // The firewall plugin's rules name the address only.
    if (ip && new RegExp(`[ /]${ip.replace(/\./g, '\\.')}(/32)?\\s`).test(rules)) out.push(`iptables ${table} rules for ${ip}`);
  }
  const netns = path.join(bb.store.runroot, 'netns', id);
  if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(netns)) out.push(`netns mount ${netns}`);
  if (fs.existsSync(netns)) out.push(`netns file ${netns}`);
  const ipam = path.join(bb.store.runroot, 'networks', 'ipam');
  if (fs.existsSync(ipam)) {
    for (const net of fs.readdirSync(ipam)) {
      for (const f of fs.readdirSync(path.join(ipam, net))) {
        const p = path.join(ipam, net, f);
        if (fs.statSync(p).isFile() && fs.readFileSync(p, 'utf8').startsWith(id)) out.push(`lease ${net}/${f}`);
      }
    }
  }
  return out;
}

/** Host interfaces by ifindex (a container's eth0 names its host-side veth peer in iflink). */
function hostIfindexes(): Set<number> {
  // Parallel tests add and delete veths: an entry listed may be gone (ENOENT, or EINVAL mid-teardown) when read.
  const out = new Set<number>();
  for (const n of fs.readdirSync('/sys/class/net')) {
    try {
      out.add(Number(fs.readFileSync(`/sys/class/net/${n}/ifindex`, 'utf8')));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('networking', () => {
  test('default network: an address on the skiff bridge; none has only lo; host sees the host interfaces', async () => {
    const addr = await ok(['run', '--rm', bb.image, 'sh', '-c', 'ip -o -4 addr show eth0']);
    assert.match(addr, /inet 10\.89\.\d+\.\d+\/24/);
    const inspect = JSON.parse(await ok(['network', 'inspect', 'skiff']))[0];
    assert.equal(inspect.network_interface, 'skiff0');
    assert.equal(inspect.driver, 'bridge');
    assert.match(inspect.subnets[0].subnet, /^10\.89\.\d+\.0\/24$/);
    // The default network's rules were installed by its first container (and stay: it cannot be removed).
    assert.equal(networkRules(bb.store, 'skiff').length, 5, networkRules(bb.store, 'skiff').join('\n'));
    assert.equal(fs.readFileSync(path.join(bb.store.runroot, 'networks', 'firewall', 'skiff'), 'utf8'), inspect.id);
    const none = await ok(['run', '--rm', '--network', 'none', bb.image, 'ls', '/sys/class/net']);
    assert.deepEqual(none.trim().split(/\s+/), ['lo']);
    // veths, test bridges and network-macvlan.test.ts's parent links (skfd*) come and go with other tests: compare the stable interfaces.
    const stable = (names: string[]) => names.filter((n) => !/^(veth|skt|skc|skfd)/.test(n)).sort();
    const host = await ok(['run', '--rm', '--net', 'host', bb.image, 'ls', '/sys/class/net']);
    assert.deepEqual(stable(host.trim().split(/\s+/)), stable(fs.readdirSync('/sys/class/net')));
  });

  test('bad -p, unknown networks and misplaced network flags exit 125 before anything is created', async () => {
    for (const args of [
      ['-p', '70000:80'],
      ['-p', 'abc'],
      ['-p', '8080-8081:80'],
      ['-p', '1.2.3:80:80'],
      ['-p', '80/sctp'],
      ['--network', 'no-such-net'],
      ['--network', 'none', '-p', '8080:80'],
      ['--network', 'host', '--ip', '10.0.0.2'],
      ['--ip', '300.1.1.1'],
      ['--mac-address', 'zz'],
      ['--network', 'none,host'],
    ]) {
      const r = await run(['create', ...args, bb.image, 'true']);
      assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^Error: /);
    }
    assert.equal((await ok(['ps', '-a', '-q'])).trim(), '');
  });

  test('published ports reach the container from 127.0.0.1 and from the host address; port, ps and inspect show them', async () => {
    const net = await newNetwork();
    const hostPort = 20000 + randomInt(20000);
    const id = (
      await ok(['run', '-d', '--name', 'web', '--network', net.name, '-p', `${hostPort}:8080`, '-p', '8081', '--expose', '9000', bb.image, 'sh', '-c', 'echo hello-web > /tmp/index.html; httpd -p 8081 -h /tmp; httpd -f -p 8080 -h /tmp'])
    ).trim();
    await eventually(async () => assert.equal(await httpGet(`http://127.0.0.1:${hostPort}/index.html`), 'hello-web\n'));
    assert.equal(await httpGet(`http://${hostAddress()}:${hostPort}/index.html`), 'hello-web\n');
    const port = await ok(['port', 'web']);
    const m = /^8081\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(port);
    assert.ok(m, port);
    assert.match(port, new RegExp(`^8080/tcp -> 0\\.0\\.0\\.0:${hostPort}$`, 'm'));
    assert.equal(await ok(['port', 'web', '8080']), `0.0.0.0:${hostPort}\n`);
    await eventually(async () => assert.equal(await httpGet(`http://127.0.0.1:${m![1]}/index.html`), 'hello-web\n'));
    const ps = await ok(['ps', '--format', '{{.Names}} {{.Ports}}']);
    assert.match(ps, new RegExp(`web 0\\.0\\.0\\.0:${hostPort}->8080/tcp`));
    const ns = JSON.parse(await ok(['inspect', '--format', '{{json .NetworkSettings}}', 'web']));
    assert.deepEqual(ns.Ports[`8080/tcp`], [{HostIp: '', HostPort: String(hostPort)}]);
    assert.equal(ns.Networks[net.name].Gateway, `${net.prefix}.1`);
    assert.match(ns.IPAddress, new RegExp(`^${net.prefix.replace(/\./g, '\\.')}\\.\\d+$`));
    assert.equal(ns.IPPrefixLen, 24);
    assert.match(ns.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const peer = Number(await ok(['run', '--rm', '--network', `container:${id}`, bb.image, 'cat', '/sys/class/net/eth0/iflink']));
    assert.ok(hostIfindexes().has(peer), 'the host side of the veth pair exists');
    await ok(['rm', '-f', '-t', '0', 'web']);
    assert.deepEqual(leftovers(id, ns.IPAddress), []);
    await assert.rejects(httpGet(`http://127.0.0.1:${hostPort}/index.html`));
    assert.ok(!hostIfindexes().has(peer), 'the container veth is gone');
    // -P publishes --expose'd ports on random host ports.
    await ok(['run', '-d', '--name', 'puball', '--network', net.name, '--expose', '7000', '-P', bb.image, 'sleep', '60']);
    assert.match(await ok(['port', 'puball']), /^7000\/tcp -> 0\.0\.0\.0:\d+\n$/);
    await ok(['rm', '-f', '-t', '0', 'puball']);
  });

  test('containers on a user network find each other by name and alias through aardvark-dns; /etc files follow the flags', async () => {
    const net = await newNetwork();
    await ok(['run', '-d', '--name', 'srv', '--network', net.name, '--network-alias', 'web-alias', '--hostname', 'srvhost', bb.image, 'sh', '-c', 'echo from-srv > /tmp/index.html; httpd -f -p 80 -h /tmp']);
    // busybox wget crashes in this static image; nc resolves names through the libc resolver as well.
    const script = 'for n in srv web-alias; do printf "GET /index.html HTTP/1.0\\r\\n\\r\\n" | nc $n 80 | tail -n 1 | grep . || exit 1; done; nslookup srv; cat /etc/resolv.conf /etc/hosts; hostname';
    let out = '';
    await eventually(async () => {
      out = await ok(['run', '--rm', '--network', net.name, '--hostname', 'client', '--add-host', 'db.example:10.1.2.3', '--dns-option', 'ndots:2', bb.image, 'sh', '-c', script]);
    }, 10);
    assert.equal(out.split('\n').filter((l) => l === 'from-srv').length, 2, out);
    assert.match(out, new RegExp(`nameserver ${net.prefix.replace(/\./g, '\\.')}\\.1\\n`));
    assert.match(out, /search dns\.podman/);
    assert.match(out, /options ndots:2/);
    assert.match(out, /10\.1\.2\.3\tdb\.example/);
    assert.match(out, new RegExp(`${net.prefix.replace(/\./g, '\\.')}\\.\\d+\\tclient `));
    assert.match(out, /\nclient\n$/);
    // ping by alias (busybox ping needs a raw socket here). Retried as the lookups above: each new
    // container's ADD reloads aardvark-dns, and a query that lands in the reload can go unanswered.
    await eventually(async () => {
      assert.match(await ok(['run', '--rm', '--cap-add', 'NET_RAW', '--network', net.name, bb.image, 'sh', '-c', 'ping -c 1 -W 3 web-alias']), /1 packets received/);
    }, 5);
    // --dns replaces the network's server; a network with --disable-dns uses the host's servers.
    const custom = await ok(['run', '--rm', '--network', net.name, '--dns', '9.9.9.9', '--dns-search', 'example.org', bb.image, 'cat', '/etc/resolv.conf']);
    assert.equal(custom, 'search example.org\nnameserver 9.9.9.9\n');
    const nodns = await newNetwork(['--disable-dns']);
    const rc = await ok(['run', '--rm', '--network', nodns.name, bb.image, 'cat', '/etc/resolv.conf']);
    assert.doesNotMatch(rc, new RegExp(`nameserver ${nodns.prefix.replace(/\./g, '\\.')}`));
    // Two networks at once: an interface on each, and --ip/--mac-address on a single one.
    const two = await ok(['run', '--rm', '--network', `${net.name},${nodns.name}`, bb.image, 'ls', '/sys/class/net']);
    assert.deepEqual(two.trim().split(/\s+/).sort(), ['eth0', 'eth1', 'lo']);
    const fixed = await ok(['run', '--rm', '--network', nodns.name, '--ip', `${nodns.prefix}.77`, '--mac-address', '02:42:ac:11:00:99', bb.image, 'sh', '-c', 'ip -o addr show eth0']);
    assert.match(fixed, new RegExp(`inet ${nodns.prefix.replace(/\./g, '\\.')}\\.77/24`));
    assert.match(await ok(['run', '--rm', '--network', nodns.name, '--mac-address', '02:42:ac:11:00:99', bb.image, 'cat', '/sys/class/net/eth0/address']), /^02:42:ac:11:00:99\n$/);
    const bad = await run(['run', '--rm', '--network', nodns.name, '--ip', '10.0.0.5', bb.image, 'true']);
    assert.equal(bad.code, 125, bad.stderr);
    await ok(['rm', '-f', '-t', '0', 'srv']);
  });

  test('a CNI ADD that fails while the rootfs is mounted and runc create runs leaves nothing behind', async () => {
    // The ADD runs alongside the mounts and `runc create`: its failure must
    // still undo both and release nothing that belongs to another container.
    const net = await newNetwork(['--disable-dns']);
    const ip = `${net.prefix}.50`;
    const holder = (await ok(['run', '-d', '--network', net.name, '--ip', ip, bb.image, 'sleep', '300'])).trim();
    const r = await run(['run', '--name', 'dupip', '--network', net.name, '--ip', ip, bb.image, 'true']);
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, new RegExp(ip.replace(/\./g, '\\.')));
    const id = (await ok(['inspect', '--format', '{{.Id}}', 'dupip'])).trim();
    assert.notEqual((await ok(['inspect', '--format', '{{.State.Status}}', 'dupip'])).trim(), 'running');
    assert.deepEqual(leftovers(id), []);
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(id), 'nothing of it is mounted');
    // The holder keeps its lease and its address.
    assert.equal(fs.readFileSync(path.join(bb.store.runroot, 'networks', 'ipam', net.name, ip), 'utf8').split(/\s/)[0], holder);
    assert.match(await ok(['exec', holder, 'sh', '-c', 'ip -o -4 addr show eth0']), new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`));
    await ok(['rm', '-f', '-t', '0', 'dupip', holder]);
    assert.deepEqual(leftovers(holder, ip), []);
  });

  test('teardown: the veth is gone when run --rm returns, and a namespace another container is in keeps the DEL inside it', async () => {
    const net = await newNetwork(['--disable-dns']);
    // The namespace dies with its mount (the DEL only releases the address): its veth must be gone when the CLI returns.
    const r = await run(['--log-level', 'debug', 'run', '--rm', '--network', net.name, bb.image, 'sh', '-c', 'cat /sys/class/net/eth0/iflink; ip -o -4 addr show eth0']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /unmounted before the DELs: the kernel removed veth/);
    const out = r.stdout.split('\n');
    const peer = Number(out[0]);
    const ip = /inet (\S+)\//.exec(out[1])![1];
    assert.ok(peer > 0, out.join('\n'));
    assert.ok(!hostIfindexes().has(peer), 'the host side of the veth is gone when run --rm returns');
    assert.ok(!fs.existsSync(path.join(bb.store.runroot, 'networks', 'ipam', net.name, ip)), 'the lease is released');
    assert.deepEqual(fs.readdirSync(path.join(bb.store.runroot, 'netns')), []);
    // Another container lives in the owner's namespace: removing the owner deletes its veth inside the
    // namespace (the full DEL) at once, and the guest keeps running with lo only.
    const owner = (await ok(['run', '-d', '--network', net.name, bb.image, 'sleep', '300'])).trim();
    const [ownerIp] = (await ok(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', owner])).trim().split(' ');
    const guest = (await ok(['run', '-d', '--network', `container:${owner}`, bb.image, 'sleep', '300'])).trim();
    const ownerPeer = Number(await ok(['exec', guest, 'cat', '/sys/class/net/eth0/iflink']));
    assert.ok(hostIfindexes().has(ownerPeer));
    const rm = await run(['--log-level', 'debug', 'rm', '-f', '-t', '0', owner]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.doesNotMatch(rm.stderr, /unmounted before the DELs|outlived its mount/);
    assert.ok(!hostIfindexes().has(ownerPeer), "the owner's veth is gone although its namespace lives on");
    assert.deepEqual(leftovers(owner, ownerIp), []);
    assert.deepEqual((await ok(['exec', guest, 'ls', '/sys/class/net'])).trim().split(/\s+/), ['lo']);
    await ok(['rm', '-f', '-t', '0', guest]);
  });

  test('containers join and leave a network under its shared lock; publishing ports takes it exclusive', async () => {
    const net = await newNetwork(['--disable-dns']);
    const lockPath = path.join(bb.store.root, 'locks', `network-${net.name}.lock`);
    fs.mkdirSync(path.dirname(lockPath), {recursive: true});
    // Another container's ADD in flight, as far as the lock goes: a shared holder.
    const holder = spawn('flock', ['--shared', '--no-fork', lockPath, 'sleep', '120'], {stdio: 'ignore'});
    try {
      // Until the holder has it, an exclusive try succeeds.
      await eventually(async () => assert.throws(() => execFileSync('flock', ['--nonblock', '--exclusive', lockPath, 'true'])), 20);
      const r = await run(['run', '--rm', '--network', net.name, bb.image, 'true'], {timeoutMs: 30_000});
      assert.equal(r.code, 0, `a plain join waits for no other join: ${r.stderr}`);
      // portmap's ADD is not made for concurrent runs: -p waits for the holder.
      const started = run(['run', '--rm', '--network', net.name, '-p', `127.0.0.1:${20000 + randomInt(20000)}:80`, bb.image, 'true'], {timeoutMs: 60_000});
      const first = await Promise.race([started.then(() => 'finished'), new Promise((res) => setTimeout(() => res('waiting'), 3000))]);
      assert.equal(first, 'waiting', 'a run with -p waits for the network lock');
      holder.kill('SIGTERM');
      const p = await started;
      assert.equal(p.code, 0, p.stderr);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  test('connect and disconnect a running container; network rm refuses in-use networks unless -f', async () => {
    const a = await newNetwork();
    const b = await newNetwork();
    const id = (await ok(['run', '-d', '--name', 'hopper', '--network', a.name, bb.image, 'sleep', '300'])).trim();
    await ok(['network', 'connect', '--alias', 'hop', b.name, 'hopper']);
    const ifs = await ok(['run', '--rm', '--network', `container:${id}`, bb.image, 'ls', '/sys/class/net']);
    assert.deepEqual(ifs.trim().split(/\s+/).sort(), ['eth0', 'eth1', 'lo']);
    const insp = JSON.parse(await ok(['inspect', '--format', '{{json .NetworkSettings.Networks}}', 'hopper']));
    assert.deepEqual(Object.keys(insp).sort(), [a.name, b.name].sort());
    const hosts = fs.readFileSync(path.join(bb.store.root, 'containers', id, 'userdata', 'hosts'), 'utf8');
    assert.match(hosts, new RegExp(`${b.prefix.replace(/\./g, '\\.')}\\.\\d+\\t`));
    // By name through aardvark-dns on the new network.
    await eventually(async () => assert.match(await ok(['run', '--rm', '--network', b.name, bb.image, 'sh', '-c', 'nslookup hop']), new RegExp(`Address: ${b.prefix.replace(/\./g, '\\.')}`)), 10);
    const dup = await run(['network', 'connect', b.name, 'hopper']);
    assert.equal(dup.code, 125);
    await ok(['network', 'disconnect', a.name, 'hopper']);
    const after1 = await ok(['run', '--rm', '--network', `container:${id}`, bb.image, 'ls', '/sys/class/net']);
    assert.deepEqual(after1.trim().split(/\s+/).sort(), ['eth1', 'lo']);
    const inUse = await run(['network', 'rm', b.name]);
    assert.equal(inUse.code, 2, inUse.stderr);
    assert.equal((await ok(['network', 'rm', '-f', b.name])).trim(), b.name);
    assert.equal((await run(['container', 'exists', 'hopper'])).code, 1, 'rm -f removed the container');
    assert.equal((await run(['network', 'exists', b.name])).code, 1);
    assert.ok(!fs.existsSync(`/sys/class/net/${b.bridge}`), 'the bridge went with the network');
    assert.deepEqual(networkRules(bb.store, b.name), [], 'the rules went with the network');
    assert.deepEqual(leftovers(id), []);
    const missing = await run(['network', 'rm', 'nonexistent-net']);
    assert.equal(missing.code, 1);
  });

  test('network create/ls/inspect/exists/prune', async () => {
    const tag = randomBytes(3).toString('hex');
    const name = `nc${tag}`;
    const third = 200 + randomInt(50);
    const r = await run(['network', 'create', '--subnet', `10.${third}.9.0/24`, '--gateway', `10.${third}.9.254`, '--ip-range', `10.${third}.9.128/25`, '--internal', '--label', 'team=net', '-o', 'mtu=1400', '--interface-name', `skc${tag}`, name]);
    assert.equal(r.code, 0, r.stderr);
    networks.push(name);
    // An internal network: no masquerade, and DROPs of anything crossing the host to or from its subnet.
    const rules = networkRules(bb.store, name);
    assert.equal(rules.length, 2, rules.join('\n'));
    for (const r of rules) assert.match(r, new RegExp(`^filter -A SKIFF-FORWARD .*10\\.${third}\\.9\\.0/24.* -j DROP$`));
    const n = JSON.parse(await ok(['network', 'inspect', name]))[0];
    assert.equal(n.name, name);
    assert.equal(n.internal, true);
    assert.equal(n.dns_enabled, true);
    assert.deepEqual(n.labels, {team: 'net'});
    assert.deepEqual(n.options, {mtu: '1400'});
    assert.deepEqual(n.subnets, [{subnet: `10.${third}.9.0/24`, gateway: `10.${third}.9.254`, lease_range: {start_ip: `10.${third}.9.128`, end_ip: `10.${third}.9.254`}}]);
    assert.equal(await ok(['network', 'inspect', '--format', '{{.NetworkInterface}} {{.Driver}} {{.Internal}}', name]), `skc${tag} bridge true\n`);
    const ip = await ok(['run', '--rm', '--network', name, bb.image, 'sh', '-c', 'ip -o -4 addr show eth0; ip route; cat /sys/class/net/eth0/mtu']);
    assert.match(ip, new RegExp(`inet 10\\.${third}\\.9\\.(12[89]|1[3-9]\\d|2\\d\\d)/24`), 'the address comes from the ip-range');
    assert.doesNotMatch(ip, /default/, 'an internal network has no default route');
    assert.match(ip, /\n1400\n$/);
    const dupe = await run(['network', 'create', '--subnet', `10.${third}.9.0/25`, `x${tag}`]);
    assert.equal(dupe.code, 125, 'overlapping subnet');
    assert.equal((await run(['network', 'create', name])).code, 125, 'duplicate name');
    assert.equal((await run(['network', 'create', '--subnet', 'nonsense', `y${tag}`])).code, 125);
    assert.equal((await run(['network', 'create', '--driver', 'overlay', `z${tag}`])).code, 125);
    assert.equal((await ok(['network', 'create', '--ignore', name])).trim(), name);
    const ls = await ok(['network', 'ls']);
    assert.match(ls, /^NETWORK ID\s+NAME\s+DRIVER\n/);
    assert.match(ls, new RegExp(`^[0-9a-f]{12}\\s+${name}\\s+bridge$`, 'm'));
    assert.match(ls, /^[0-9a-f]{12}\s+skiff\s+bridge$/m);
    assert.equal(await ok(['network', 'ls', '-q', '--filter', `name=^${name}$`]), `${name}\n`);
    assert.equal(await ok(['network', 'ls', '--filter', 'label=team=net', '--format', '{{.Name}}']), `${name}\n`);
    const json = JSON.parse(await ok(['network', 'ls', '--format', 'json']));
    assert.ok(json.some((x: {name: string}) => x.name === name));
    assert.equal((await run(['network', 'exists', name])).code, 0);
    assert.equal((await run(['network', 'exists', `nope${tag}`])).code, 1);
    const missing = await run(['network', 'inspect', `nope${tag}`]);
    assert.equal(missing.code, 125);
    const pruned = await ok(['network', 'prune', '-f']);
    assert.match(pruned, new RegExp(`^${name}$`, 'm'));
    assert.doesNotMatch(pruned, /^skiff$/m);
    assert.equal((await run(['network', 'exists', name])).code, 1);
    assert.deepEqual(networkRules(bb.store, name), [], 'prune removed the rules');
    assert.equal((await run(['network', 'rm', 'skiff'])).code, 125, 'the default network stays');
  });

  test('kill -9 of the container and of conmon leaves nothing behind; 20 parallel runs get distinct addresses', async () => {
    const net = await newNetwork();
    const id = (await ok(['run', '-d', '--network', net.name, '-p', `${20000 + randomInt(20000)}:80`, bb.image, 'sleep', '300'])).trim();
    const [pidText, ip] = (await ok(['inspect', '--format', '{{.State.Pid}} {{.NetworkSettings.IPAddress}}', id])).trim().split(' ');
    assert.ok(leftovers(id, ip).length > 0, 'the leak check sees a running container');
    process.kill(Number(pidText), 'SIGKILL');
    await eventually(async () => assert.equal((await ok(['inspect', '--format', '{{.State.Status}}', id])).trim(), 'exited'));
    await eventually(async () => assert.deepEqual(leftovers(id, ip), []));
    await ok(['rm', id]);
    // conmon killed: its exit command never runs; rm -f reconciles and tears down.
    const id2 = (await ok(['run', '-d', '--network', net.name, bb.image, 'sleep', '300'])).trim();
    const [conmon, ip2] = (await ok(['inspect', '--format', '{{.State.ConmonPid}} {{.NetworkSettings.IPAddress}}', id2])).trim().split(' ');
    process.kill(Number(conmon), 'SIGKILL');
    await ok(['rm', '-f', '-t', '0', id2]);
    assert.deepEqual(leftovers(id2, ip2), []);

    const before = networkRules(bb.store, net.name);
    assert.equal(before.length, 5, before.join('\n'));
    assert.deepEqual(addressRules(net), []);
    const runs = await Promise.all(Array.from({length: 20}, (_, i) => run(['run', '-d', '--name', `par${i}`, '--network', net.name, bb.image, 'sleep', '300'], {timeoutMs: 180_000})));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const ids = runs.map((r) => r.stdout.trim());
    const addrs = await Promise.all(ids.map(async (c) => (await ok(['inspect', '--format', `{{(index .NetworkSettings.Networks "${net.name}").IPAddress}}`, c])).trim()));
    assert.equal(new Set(addrs).size, 20, `duplicate addresses: ${addrs.join(' ')}`);
    // 20 running containers, no per-container rule: the network's 5 serve them all.
    assert.deepEqual(networkRules(bb.store, net.name), before);
    assert.deepEqual(addressRules(net), []);
    const dump = execFileSync('iptables-save', {encoding: 'utf8'});
    for (const c of ids) assert.ok(!dump.includes(c), `a rule names container ${c.slice(0, 12)}`);
    await ok(['rm', '-f', '-t', '0', ...ids]);
    for (const c of ids) assert.deepEqual(leftovers(c), []);
    assert.deepEqual(networkRules(bb.store, net.name), before);
    assert.deepEqual(addressRules(net), []);
  });
});
