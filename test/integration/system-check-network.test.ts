/**
 * system check and network state: a running container's netns mount and
 * leases are its own (never a finding, never unmounted by --repair); a
 * netns mount or a lease left by a container that no longer exists is
 * found and removed by --repair. The per-network iptables rules of a
 * network whose record vanished (a crash inside `network rm`) are a
 * leftover removed by --repair; missing rules of an existing network are
 * reinstalled (network-firewall.test.ts).
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {execFileSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';
import {leftovers, networkRules, newNetwork, type TestNetwork} from '../helpers/network';

let bb: BusyboxStore;
let net: TestNetwork | undefined;

before(async () => {
  bb = await busyboxStore();
});

after(async () => {
  if (!bb) return;
  await bb.store.run(['rm', '-a', '-f', '-t', '0']);
  if (net) await bb.store.run(['network', 'rm', '-f', net.name]);
  await bb.close();
});

describe('system check: network state', () => {
  test('a running container on a network with -p is sound; leftovers of a removed one are found and repaired', async () => {
    const s = bb.store;
    net = await newNetwork(s);
    const r = await s.run(['run', '-d', '--network', net.name, '-p', '80', bb.image, 'sleep', '300']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const check = await s.run(['system', 'check']);
    assert.deepEqual([check.code, check.stdout], [0, ''], 'a running container is not a finding');
    const repair = await s.run(['system', 'check', '--repair']);
    assert.deepEqual([repair.code, repair.stdout], [0, '']);
    const ns = path.join(s.runroot, 'netns', id);
    assert.ok(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(ns), 'its netns stays mounted');
    const ip = (await s.run(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', id])).stdout.trim();
    assert.match((await s.run(['run', '--rm', '--network', `container:${id}`, bb.image, 'cat', '/proc/net/fib_trie'])).stdout, new RegExp(`\\b${ip.replace(/\./g, '\\.')}\\n`));

    // What a removal killed between its record and its network teardown could leave: a netns mount and a lease.
    const ghost = randomBytes(32).toString('hex');
    const ghostNs = path.join(s.runroot, 'netns', ghost);
    fs.writeFileSync(ghostNs, '');
    execFileSync('unshare', [`--net=${ghostNs}`, 'true']);
    const lease = path.join(s.runroot, 'networks', 'ipam', net.name, `${net.prefix}.250`);
    fs.writeFileSync(lease, `${ghost}\r\neth0`);
    const found = await s.run(['system', 'check']);
    assert.equal(found.code, 1, found.stderr);
    assert.match(found.stdout, new RegExp(`^netns ${ghost.slice(0, 12)}: network namespace of a container that no longer exists$`, 'm'));
    assert.match(found.stdout, new RegExp(`^lease ${net.name}/${net.prefix.replace(/\./g, '\\.')}\\.250: held by container ${ghost.slice(0, 12)}, which no longer exists$`, 'm'));
    assert.equal(found.stdout.trim().split('\n').length, 2, found.stdout);
    const fixed = await s.run(['system', 'check', '--repair']);
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
    assert.match(fixed.stdout, /network namespace of a container that no longer exists: unmounted and removed/);
    assert.match(fixed.stdout, /which no longer exists: released/);
    assert.deepEqual(leftovers(s, ghost), []);
    assert.ok(!fs.existsSync(lease));
    const clean = await s.run(['system', 'check']);
    assert.deepEqual([clean.code, clean.stdout], [0, '']);
    // The running container kept its network through all of it.
    assert.equal((await s.run(['inspect', '--format', '{{.State.Status}}', id])).stdout.trim(), 'running');
    assert.ok(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(ns));
    assert.equal((await s.run(['rm', '-f', '-t', '0', id])).code, 0);
    assert.deepEqual(leftovers(s, id, ip), []);
  });

  test('the firewall rules of a network whose record is gone are found and removed; other networks keep theirs', async () => {
    const s = bb.store;
    const gone = await newNetwork(s);
    const kept = await newNetwork(s);
    const id = (await s.run(['network', 'inspect', '--format', '{{.ID}}', gone.name])).stdout.trim();
    const rules = networkRules(s, gone.name);
    assert.equal(rules.length, 5, rules.join('\n'));
    // What `network rm` killed after removing the record but before the rules would leave.
    fs.rmSync(path.join(s.root, 'networks', `${gone.name}.json`));
    const found = await s.run(['system', 'check']);
    assert.equal(found.code, 1, found.stderr);
    assert.equal(found.stdout, `firewall rules of network ${gone.name} (${id.slice(0, 12)}): 5 iptables rules of a network that no longer exists\n`);
    const fixed = await s.run(['system', 'check', '--repair']);
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
    // A test running alongside that installs a network's rules may have removed
    // these first: firewall.ts drops the rule sets of networks whose record is
    // gone, whichever store they belong to. Then nothing is left to repair.
    if (fixed.stdout !== '') assert.match(fixed.stdout, /no longer exists: removed$/m);
    assert.deepEqual(networkRules(s, gone.name), []);
    assert.equal(networkRules(s, kept.name).length, 5);
    assert.deepEqual(await s.run(['system', 'check']).then((r) => [r.code, r.stdout]), [0, '']);
    if (fs.existsSync(`/sys/class/net/${gone.bridge}`)) execFileSync('ip', ['link', 'delete', gone.bridge]);
    assert.equal((await s.run(['network', 'rm', kept.name])).code, 0);
    assert.deepEqual(networkRules(s, kept.name), []);
  });
});
