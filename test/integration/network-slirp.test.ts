/**
 * --network slirp4netns through the real CLI and the real slirp4netns:
 * tap0 with 10.0.2.100 and a default route via 10.0.2.2, /etc files,
 * inspect, published ports (fixed and random host ports) through its API,
 * host loopback refused by default and reachable with
 * allow_host_loopback=true, DNS forwarding at 10.0.2.3, and no process,
 * API socket, log or netns mount left after rm -f, a crash of the
 * container, or kill -9 of conmon followed by a skiff command. Then the
 * same for --network pasta (Debian package passt), when it is installed.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';
import {leftovers} from '../helpers/network';
import {findBinary} from '../../src/lib/runtime/host';
import {freePort} from '../helpers/registry';

let bb: BusyboxStore;

before(async () => {
  bb = await busyboxStore();
});

after(async () => {
  if (!bb) return;
  await bb.store.run(['rm', '-a', '-f', '-t', '0']);
  await bb.close();
});

const run = (args: string[]) => bb.store.run(args);

async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  assert.equal(r.code, 0, `skiff ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function eventually(fn: () => Promise<void> | void, tries = 40): Promise<void> {
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


/** Two consecutive free ports on 127.0.0.1. */
async function freeRange(): Promise<number> {
  for (;;) {
    const a = await freePort();
    const ok2 = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(a + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok2 && a < 65535) return a;
  }
}

/** Running (not zombie) slirp4netns processes whose command line names this store's runroot, with their arguments. */
function slirpProcs(): Array<{pid: number; args: string[]}> {
  const out: Array<{pid: number; args: string[]}> = [];
  for (const p of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const args = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (path.basename(args[0]) !== 'slirp4netns' || !args.some((a) => a.includes(bb.store.runroot))) continue;
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      out.push({pid: Number(p), args});
    } catch {
      /* gone */
    }
  }
  return out;
}

/** What the host holds for one slirp4netns container: its process, API socket, log, netns mount. */
function slirpLeftovers(id: string): string[] {
  const key = id.slice(0, 16);
  const out = leftovers(bb.store, id);
  for (const p of slirpProcs()) if (p.args.some((a) => a.includes(key))) out.push(`slirp4netns process ${p.pid}`);
  const dir = path.join(bb.store.runroot, 'slirp4netns');
  if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) if (f.startsWith(key)) out.push(`file ${f}`);
  return out;
}

const SERVE = 'mkdir /www && echo hello-slirp > /www/index.html && exec httpd -f -p 80 -h /www';

describe('--network slirp4netns', () => {
  test('tap0 has 10.0.2.100/24 and a default route via 10.0.2.2; /etc files and inspect as podman; rm -f leaves nothing', async () => {
    const id = (await ok(['run', '-d', '--name', 'sl-basic', '--network', 'slirp4netns', bb.image, 'sleep', '300'])).trim();
    const inside = await ok(['exec', 'sl-basic', 'sh', '-c', 'busybox ip -4 -o addr show tap0; echo ==; cat /proc/net/route; echo ==; cat /sys/class/net/tap0/mtu; echo ==; cat /etc/resolv.conf; echo ==; cat /etc/hosts']);
    const [addr, route, mtu, resolv, hosts] = inside.split('==\n');
    assert.match(addr, /tap0\s+inet 10\.0\.2\.100\/24 /);
    // Default route (destination 0) through 10.0.2.2 (little-endian hex 0202000A).
    assert.match(route, /^tap0\s+00000000\s+0202000A\s/m);
    assert.equal(mtu.trim(), '65520');
    assert.match(await ok(['exec', 'sl-basic', 'busybox', 'ip', '-o', 'link', 'show', 'lo']), /<LOOPBACK,UP,LOWER_UP>/);
    assert.equal(resolv.split('\n')[0], 'nameserver 10.0.2.3');
    assert.match(hosts, new RegExp(`^10\\.0\\.2\\.100\\t${id.slice(0, 12)} sl-basic$`, 'm'));
    assert.doesNotMatch(hosts, /^10\.0\.2\.2\s/m, 'host.containers.internal is not the loopback-forwarding gateway by default');
    const ns = JSON.parse(await ok(['inspect', '--format', '{{json .NetworkSettings}}', 'sl-basic']));
    assert.equal(ns.IPAddress, '');
    assert.equal(ns.Networks, undefined);
    assert.equal(ns.SandboxKey, path.join(bb.store.runroot, 'netns', id));
    assert.equal((await ok(['inspect', '--format', '{{.HostConfig.NetworkMode}}', 'sl-basic'])).trim(), 'slirp4netns');
    const procs = slirpProcs().filter((p) => p.args.some((a) => a.includes(id.slice(0, 16))));
    assert.equal(procs.length, 1, 'one slirp4netns for the container');
    for (const flag of ['--configure', '--mtu=65520', '--disable-host-loopback', '--enable-sandbox', '--enable-seccomp', '--netns-type=path']) assert.ok(procs[0].args.includes(flag), `${flag} in ${procs[0].args.join(' ')}`);
    assert.ok(slirpLeftovers(id).length >= 3, 'the leak check sees the running container');
    // --dns replaces the forwarder.
    assert.equal(await ok(['run', '--rm', '--network', 'slirp4netns', '--dns', '192.0.2.53', bb.image, 'cat', '/etc/resolv.conf']), 'nameserver 192.0.2.53\n');
    await ok(['rm', '-f', '-t', '0', 'sl-basic']);
    assert.deepEqual(slirpLeftovers(id), []);
  });

  test('-p HOSTPORT:80 and a random host port reach busybox httpd through the slirp4netns API; port and ps list them', async () => {
    const hostPort = await freePort();
    const id = (await ok(['run', '-d', '--name', 'sl-web', '--network', 'slirp4netns', '-p', `127.0.0.1:${hostPort}:80`, '-p', '127.0.0.1::81', bb.image, 'sh', '-c', `httpd -p 81 -h /tmp; ${SERVE}`])).trim();
    await eventually(async () => assert.equal(await httpGet(`http://127.0.0.1:${hostPort}/index.html`), 'hello-slirp\n'));
    const port = await ok(['port', 'sl-web']);
    assert.match(port, new RegExp(`^80/tcp -> 127\\.0\\.0\\.1:${hostPort}$`, 'm'));
    const m = /^81\/tcp -> 127\.0\.0\.1:(\d+)$/m.exec(port);
    assert.ok(m, port);
    assert.notEqual(Number(m[1]), 0);
    await eventually(async () => assert.match(await httpGet(`http://127.0.0.1:${m[1]}/`), /404|Not Found/));
    assert.match(await ok(['ps', '--format', '{{.Names}} {{.Ports}}']), new RegExp(`sl-web 127\\.0\\.0\\.1:${hostPort}->80/tcp`));
    const ns = JSON.parse(await ok(['inspect', '--format', '{{json .NetworkSettings.Ports}}', 'sl-web']));
    assert.deepEqual(ns['80/tcp'], [{HostIp: '127.0.0.1', HostPort: String(hostPort)}]);
    // A range publishes each port.
    const r0 = await freeRange();
    await ok(['run', '-d', '--name', 'sl-range', '--network', 'slirp4netns', '-p', `127.0.0.1:${r0}-${r0 + 1}:80-81`, bb.image, 'sh', '-c', `httpd -p 81 -h /tmp; ${SERVE}`]);
    assert.equal(await ok(['port', 'sl-range']), `80/tcp -> 127.0.0.1:${r0}\n81/tcp -> 127.0.0.1:${r0 + 1}\n`);
    await eventually(async () => assert.equal(await httpGet(`http://127.0.0.1:${r0}/index.html`), 'hello-slirp\n'));
    await eventually(async () => assert.match(await httpGet(`http://127.0.0.1:${r0 + 1}/`), /404|Not Found/));
    await ok(['rm', '-f', '-t', '0', 'sl-range']);
    // The default host address is 0.0.0.0 (-p PORT:80), as with the bridge.
    const any = await freePort();
    await ok(['run', '-d', '--name', 'sl-any', '--network', 'slirp4netns', '-p', `${any}:80`, bb.image, 'sh', '-c', SERVE]);
    assert.equal((await ok(['port', 'sl-any', '80'])).trim(), `0.0.0.0:${any}`);
    await eventually(async () => assert.equal(await httpGet(`http://127.0.0.1:${any}/index.html`), 'hello-slirp\n'));
    // A host port already taken fails the start (125), and leaves nothing.
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '0.0.0.0', () => r()));
    const taken = (busy.address() as net.AddressInfo).port;
    const r = await run(['run', '-d', '--name', 'sl-taken', '--network', 'slirp4netns', '-p', `${taken}:80`, bb.image, 'sleep', '60']);
    busy.close();
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /cannot expose port 0\.0\.0\.0:\d+\/tcp with slirp4netns/);
    const takenId = (await ok(['inspect', '--format', '{{.Id}}', 'sl-taken'])).trim();
    assert.deepEqual(slirpLeftovers(takenId), []);
    await ok(['rm', '-f', '-t', '0', 'sl-web', 'sl-any', 'sl-taken']);
    assert.deepEqual(slirpLeftovers(id), []);
    await assert.rejects(httpGet(`http://127.0.0.1:${hostPort}/index.html`));
  });

  test('the host loopback (10.0.2.2) is refused by default and reached with allow_host_loopback=true', async () => {
    const srv = net.createServer((c) => c.end('pong-from-host\n'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      const probe = `nc -w 3 10.0.2.2 ${port} </dev/null; echo rc=$?`;
      const denied = await ok(['run', '--rm', '--network', 'slirp4netns', bb.image, 'sh', '-c', probe]);
      assert.doesNotMatch(denied, /pong-from-host/);
      assert.doesNotMatch(denied, /rc=0/);
      const allowed = await ok(['run', '--rm', '--network', 'slirp4netns:allow_host_loopback=true', bb.image, 'sh', '-c', `${probe}; grep host.containers.internal /etc/hosts`]);
      assert.match(allowed, /pong-from-host\nrc=0\n/);
      assert.match(allowed, /^10\.0\.2\.2\thost\.containers\.internal/m);
    } finally {
      srv.close();
    }
    assert.deepEqual(slirpProcs(), []);
  });

  test('DNS: 10.0.2.3 forwards to the host resolver', async (t) => {
    const server = fs.readFileSync('/etc/resolv.conf', 'utf8').split('\n').map((l) => /^nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(l)?.[1]).find((ip) => ip && !ip.startsWith('127.'));
    if (!server || !(await dnsAnswers(server))) {
      t.skip(`the host resolver ${server ?? '(none in /etc/resolv.conf)'} does not answer here, so forwarding cannot be observed`);
      return;
    }
    // Any answer (NXDOMAIN included) proves the query went through; no forwarding means a timeout.
    const out = await ok(['run', '--rm', '--network', 'slirp4netns', bb.image, 'sh', '-c', 'nslookup example.com 10.0.2.3 2>&1; true']);
    assert.match(out, /Server:\s+10\.0\.2\.3/);
    assert.doesNotMatch(out, /timed out|no servers could be reached/);
  });

  test('a crash of the container and kill -9 of conmon leave no slirp4netns, socket or netns; system check knows it', async () => {
    const id = (await ok(['run', '-d', '--network', 'slirp4netns', '-p', `127.0.0.1:${await freePort()}:80`, bb.image, 'sleep', '300'])).trim();
    const pid = Number((await ok(['inspect', '--format', '{{.State.Pid}}', id])).trim());
    assert.ok(slirpLeftovers(id).length > 0);
    process.kill(pid, 'SIGKILL');
    await eventually(async () => assert.equal((await ok(['inspect', '--format', '{{.State.Status}}', id])).trim(), 'exited'));
    await eventually(() => assert.deepEqual(slirpLeftovers(id), []));
    // Started again after the crash: one fresh slirp4netns.
    await ok(['start', id]);
    assert.equal(slirpProcs().filter((p) => p.args.some((a) => a.includes(id.slice(0, 16)))).length, 1);
    await ok(['rm', '-f', '-t', '0', id]);
    assert.deepEqual(slirpLeftovers(id), []);

    // conmon killed: its exit command never runs; the next skiff command that reconciles tears down.
    const id2 = (await ok(['run', '-d', '--network', 'slirp4netns', bb.image, 'sleep', '300'])).trim();
    process.kill(Number((await ok(['inspect', '--format', '{{.State.ConmonPid}}', id2])).trim()), 'SIGKILL');
    await ok(['rm', '-f', '-t', '0', id2]);
    assert.deepEqual(slirpLeftovers(id2), []);

    // ... and system check finds and repairs it.
    const id3 = (await ok(['run', '-d', '--network', 'slirp4netns', bb.image, 'sleep', '300'])).trim();
    process.kill(Number((await ok(['inspect', '--format', '{{.State.ConmonPid}}', id3])).trim()), 'SIGKILL');
    const check = await run(['system', 'check']);
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.ok(slirpLeftovers(id3).some((l) => l.startsWith('slirp4netns process')), 'check alone changes nothing');
    await ok(['system', 'check', '--repair']);
    assert.deepEqual(slirpLeftovers(id3), []);
    await ok(['rm', '-f', id3]);
    assert.deepEqual(slirpProcs(), []);
  });

  test('bad options: exit 125 with one line', async () => {
    for (const args of [
      ['--network', 'slirp4netns:bad_option=1'],
      ['--network', 'slirp4netns:port_handler=rootlesskit'],
      ['--network', 'slirp4netns:mtu=x'],
      ['--network', 'slirp4netns,bridge'],
      ['--network', 'slirp4netns', '--ip', '10.0.2.5'],
    ]) {
      const r = await run(['create', ...args, bb.image, 'true']);
      assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^Error: [^\n]+\n$/);
    }
    assert.match((await run(['create', '--network', 'slirp4netns:bad_option=1', bb.image, 'true'])).stderr, /unknown slirp4netns option "bad_option"/);
    assert.equal((await ok(['ps', '-a', '-q'])).trim(), '');
  });
});

/** Running pasta processes whose command line names this store's runroot. */
function pastaProcs(): Array<{pid: number; args: string[]}> {
  const out: Array<{pid: number; args: string[]}> = [];
  for (const p of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const args = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (!/^(pasta|passt)/.test(path.basename(args[0])) || !args.some((a) => a.includes(bb.store.runroot))) continue;
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      out.push({pid: Number(p), args});
    } catch {
      /* gone */
    }
  }
  return out;
}

function pastaLeftovers(id: string): string[] {
  const key = id.slice(0, 16);
  const out = leftovers(bb.store, id);
  for (const p of pastaProcs()) if (p.args.some((a) => a.includes(key))) out.push(`pasta process ${p.pid}`);
  const dir = path.join(bb.store.runroot, 'pasta');
  if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) if (f.startsWith(key)) out.push(`file ${f}`);
  return out;
}

describe('--network pasta', {skip: findBinary('pasta') ? false : 'pasta is not installed (Debian package passt)'}, () => {
  test('the host address inside, published ports (fixed and random), no leftovers after rm -f, a crash or kill -9 of conmon', async () => {
    const hostPort = await freePort();
    const id = (await ok(['run', '-d', '--name', 'pa-web', '--network', 'pasta', '-p', `127.0.0.1:${hostPort}:80`, '-p', '127.0.0.1::81', bb.image, 'sh', '-c', `httpd -p 81 -h /tmp; ${SERVE}`])).trim();
    await eventually(async () => assert.equal(await httpGet(`http://127.0.0.1:${hostPort}/index.html`), 'hello-slirp\n'));
    const m = /^81\/tcp -> 127\.0\.0\.1:(\d+)$/m.exec(await ok(['port', 'pa-web']));
    assert.ok(m);
    await eventually(async () => assert.match(await httpGet(`http://127.0.0.1:${m[1]}/`), /404|Not Found/));
    // pasta copies the host's address onto the namespace's interface; /etc/hosts names the container there.
    const hostAddrs = Object.values((await import('node:os')).networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal).map((a) => a!.address);
    const inside = await ok(['exec', 'pa-web', 'sh', '-c', 'busybox ip -4 -o addr; echo ==; cat /etc/hosts']);
    const ip = /inet (\d+\.\d+\.\d+\.\d+)\/\d+ scope global/.exec(inside)?.[1];
    assert.ok(ip && hostAddrs.includes(ip), inside);
    assert.match(inside, new RegExp(`^${ip.replace(/\./g, '\\.')}\\t${id.slice(0, 12)} pa-web$`, 'm'));
    assert.equal((await ok(['inspect', '--format', '{{.HostConfig.NetworkMode}}', 'pa-web'])).trim(), 'pasta');
    assert.equal(pastaProcs().filter((p) => p.args.some((a) => a.includes(id.slice(0, 16)))).length, 1);
    await ok(['rm', '-f', '-t', '0', 'pa-web']);
    assert.deepEqual(pastaLeftovers(id), []);
    await assert.rejects(httpGet(`http://127.0.0.1:${hostPort}/index.html`));

    const id2 = (await ok(['run', '-d', '--network', 'pasta', bb.image, 'sleep', '300'])).trim();
    process.kill(Number((await ok(['inspect', '--format', '{{.State.Pid}}', id2])).trim()), 'SIGKILL');
    await eventually(async () => assert.equal((await ok(['inspect', '--format', '{{.State.Status}}', id2])).trim(), 'exited'));
    await eventually(() => assert.deepEqual(pastaLeftovers(id2), []));
    await ok(['rm', id2]);

    const id3 = (await ok(['run', '-d', '--network', 'pasta', bb.image, 'sleep', '300'])).trim();
    process.kill(Number((await ok(['inspect', '--format', '{{.State.ConmonPid}}', id3])).trim()), 'SIGKILL');
    assert.equal((await run(['system', 'check'])).code, 1);
    await ok(['rm', '-f', '-t', '0', id3]);
    assert.deepEqual(pastaLeftovers(id3), []);
    assert.deepEqual(pastaProcs(), []);
  });

  test('options skiff sets itself are refused (125, one line); bad pasta arguments fail the start', async () => {
    const r = await run(['create', '--network', 'pasta:--netns,/tmp/x', bb.image, 'true']);
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /^Error: pasta option --netns is set by skiff[^\n]*\n$/);
    const bad = await run(['run', '--rm', '--network', 'pasta:--no-such-option', bb.image, 'true']);
    assert.equal(bad.code, 125, bad.stderr);
    assert.match(bad.stderr, /pasta failed to set up the network/);
    assert.deepEqual(pastaProcs(), []);
  });
});

/** Does a DNS server answer a query (any rcode) within 2 s? */
function dnsAnswers(server: string): Promise<boolean> {
  const q = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...'example.com'.split('.').map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])), Buffer.from([0, 0, 1, 0, 1])]);
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(false);
    }, 2000);
    s.on('message', (m) => {
      if (m.readUInt16BE(0) !== 0x1234) return;
      clearTimeout(timer);
      s.close();
      resolve(true);
    });
    s.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    s.send(q, 53, server);
  });
}
