/**
 * The per-network iptables rules (src/lib/network/firewall.ts) at work, with
 * an "outside host": a network namespace (a private nsfs mount, not under
 * /run/netns where other tools come and go) joined to the host by a veth pair
 * (10.251.R.0/24: host .1, outside .2) running a TCP server that answers
 * each connection with the address it came from.
 *
 * - With the host's FORWARD policy DROP (set here, restored after): the
 *   default network and a user network reach the outside server, and it sees
 *   the host's address (masquerade); a published port answers from
 *   127.0.0.1, the host's address and the outside host (DNAT, forwarded).
 *   Deleting the network's FORWARD rules by hand breaks that (the test can
 *   fail), and `system check --repair` puts them back.
 * - An --internal network: nothing crosses the host, even for a container
 *   that adds a default route itself and an outside host that routes back.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {randomBytes, randomInt} from 'node:crypto';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';
import {addressRules, networkRules, newNetwork, type TestNetwork} from '../helpers/network';

let bb: BusyboxStore;
const nets: TestNetwork[] = [];
const tag = randomBytes(3).toString('hex');
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-fw-'));
const NS = path.join(DIR, 'outside');
const R = randomInt(250);
const HOST_IP = `10.251.${R}.1`;
const OUT_IP = `10.251.${R}.2`;
const PORT = 20000 + randomInt(20000);
let server: ChildProcess | undefined;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
/** A command on the outside host. */
const outside = (cmd: string, args: string[]) => sh('nsenter', [`--net=${NS}`, cmd, ...args]);

before(async () => {
  bb = await busyboxStore();
  fs.writeFileSync(NS, '');
  sh('unshare', [`--net=${NS}`, 'true']);
  // Both ends named veth* so other tests comparing host interfaces skip them.
  sh('ip', ['link', 'add', `vethsk${tag}`, 'type', 'veth', 'peer', 'name', `vethsko${tag}`]);
  sh('ip', ['link', 'set', `vethsko${tag}`, 'netns', NS]);
  sh('ip', ['addr', 'add', `${HOST_IP}/24`, 'dev', `vethsk${tag}`]);
  sh('ip', ['link', 'set', `vethsk${tag}`, 'up']);
  outside('ip', ['addr', 'add', `${OUT_IP}/24`, 'dev', `vethsko${tag}`]);
  outside('ip', ['link', 'set', `vethsko${tag}`, 'up']);
  outside('ip', ['link', 'set', 'lo', 'up']);
  const js = `require('net').createServer((s) => s.end(s.remoteAddress.replace('::ffff:', '') + '\\n')).listen(${PORT}, '0.0.0.0', () => console.log('ready'))`;
  server = spawn('nsenter', [`--net=${NS}`, process.execPath, '-e', js], {stdio: ['ignore', 'pipe', 'inherit']});
  await new Promise<void>((resolve, reject) => {
    server!.stdout!.once('data', () => resolve());
    server!.once('exit', (code) => reject(new Error(`outside server exited ${code}`)));
  });
});

after(async () => {
  server?.kill('SIGKILL');
  // The namespace (and the veth pair with it) goes when its mount and the server are gone.
  try {
    sh('umount', ['-l', NS]);
  } catch {
    /* never mounted */
  }
  try {
    sh('ip', ['link', 'delete', `vethsk${tag}`]);
  } catch {
    /* gone with the namespace */
  }
  fs.rmSync(DIR, {recursive: true, force: true});
  if (!bb) return;
  await bb.store.run(['rm', '-a', '-f', '-t', '0']);
  for (const n of nets) await bb.store.run(['network', 'rm', '-f', n.name]);
  await bb.close();
});

async function ok(args: string[]): Promise<string> {
  const r = await bb.store.run(args);
  assert.equal(r.code, 0, `skiff ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** From a container: connect to the outside server; its answer is the source address it saw ('' when nothing came back). */
async function reachOutside(netArgs: string[], prelude = ''): Promise<string> {
  const r = await bb.store.run(['run', '--rm', ...netArgs, bb.image, 'sh', '-c', `${prelude}nc -w 3 ${OUT_IP} ${PORT} </dev/null; true`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

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

function hostAddress(): string {
  const dev = /dev (\S+)/.exec(sh('ip', ['-4', 'route', 'show', 'default']))![1];
  return /inet (\d+\.\d+\.\d+\.\d+)/.exec(sh('ip', ['-4', '-o', 'addr', 'show', 'dev', dev]))![1];
}

/** Delete rules as iptables-save printed them ("TABLE -A CHAIN spec"). */
function deleteRules(rules: string[]): void {
  const input = ['nat', 'filter']
    .map((t) => {
      const mine = rules.filter((r) => r.startsWith(`${t} `)).map((r) => r.slice(t.length + 1).replace(/^-A /, '-D '));
      return mine.length ? `*${t}\n${mine.join('\n')}\nCOMMIT\n` : '';
    })
    .join('');
  execFileSync('iptables-restore', ['--noflush'], {input});
}

function forwardPolicy(): string {
  return /^-P FORWARD (\S+)$/m.exec(sh('iptables', ['-S', 'FORWARD']))![1];
}

describe('per-network firewall rules', () => {
  test('FORWARD policy DROP: containers reach an outside host, masqueraded; published ports answer from 127.0.0.1, the host address and outside', async () => {
    const net = await newNetwork(bb.store);
    nets.push(net);
    const previous = forwardPolicy();
    sh('iptables', ['-P', 'FORWARD', 'DROP']);
    try {
      assert.equal(await reachOutside(['--network', net.name]), HOST_IP, 'a user network reaches out, masqueraded to the host address');
      assert.equal(await reachOutside([]), HOST_IP, 'the default network too');
      const hostPort = 20000 + randomInt(20000);
      const id = (await ok(['run', '-d', '--network', net.name, '-p', `${hostPort}:8080`, bb.image, 'sh', '-c', 'echo fw-web > /tmp/i; exec httpd -f -p 8080 -h /tmp'])).trim();
      const get = async (url: string) => (await fetch(url, {signal: AbortSignal.timeout(3000)})).text();
      await eventually(async () => assert.equal(await get(`http://127.0.0.1:${hostPort}/i`), 'fw-web\n'));
      assert.equal(await get(`http://${hostAddress()}:${hostPort}/i`), 'fw-web\n');
      assert.equal(outside('curl', ['-s', '-m', '5', `http://${HOST_IP}:${hostPort}/i`]), 'fw-web\n', 'from the outside host: DNAT, then FORWARD');
      // Without the network's FORWARD rules the policy drops it all: the checks above can fail.
      const forward = networkRules(bb.store, net.name).filter((r) => r.startsWith('filter '));
      assert.equal(forward.length, 3, forward.join('\n'));
      deleteRules(forward);
      assert.equal(await reachOutside(['--network', net.name]), '', 'no FORWARD rules, no way out');
      assert.throws(() => outside('curl', ['-s', '-m', '3', `http://${HOST_IP}:${hostPort}/i`]));
      const check = await bb.store.run(['system', 'check', '--repair']);
      assert.match(check.stdout, new RegExp(`^network ${net.name}: 3 of its iptables rules \\(masquerade, forwarding\\) are missing: reinstalled$`, 'm'), check.stdout + check.stderr);
      assert.equal(await reachOutside(['--network', net.name]), HOST_IP);
      await ok(['rm', '-f', '-t', '0', id]);
      assert.deepEqual(addressRules(net), [], 'the published port left nothing');
    } finally {
      sh('iptables', ['-P', 'FORWARD', previous]);
    }
  });

  test('--internal: nothing crosses the host, even with a default route added in the container and a route back outside', async () => {
    const net = await newNetwork(bb.store, ['--internal']);
    nets.push(net);
    const open = await newNetwork(bb.store);
    nets.push(open);
    outside('ip', ['route', 'add', `${net.prefix}.0/24`, 'via', HOST_IP]);
    outside('ip', ['route', 'add', `${open.prefix}.0/24`, 'via', HOST_IP]);
    const route = `ip route add default via ${net.prefix}.1 && `;
    assert.equal(await reachOutside(['--network', net.name, '--cap-add', 'NET_ADMIN'], route), '', 'the internal network stays inside');
    // The same trick on a normal network works (masqueraded), so the DROPs are what stops it.
    assert.equal(await reachOutside(['--network', open.name]), HOST_IP);
    const drops = networkRules(bb.store, net.name);
    assert.equal(drops.length, 2, drops.join('\n'));
    deleteRules(drops);
    const leaked = await reachOutside(['--network', net.name, '--cap-add', 'NET_ADMIN'], route);
    assert.match(leaked, new RegExp(`^${net.prefix.replace(/\./g, '\\.')}\\.\\d+$`), 'without its DROPs, an internal container with a route gets out (unmasqueraded)');
    const check = await bb.store.run(['system', 'check', '--repair']);
    assert.match(check.stdout, new RegExp(`^network ${net.name}: 2 of its iptables rules .* reinstalled$`, 'm'), check.stdout + check.stderr);
    assert.equal(await reachOutside(['--network', net.name, '--cap-add', 'NET_ADMIN'], route), '');
  });
});
