/**
 * macvlan networks through the real CLI and the real CNI macvlan plugin, on
 * a dummy parent link made for the test (a veth pair where the kernel has no
 * dummy driver; so the host's own interfaces are
 * never touched): two containers on a private subnet reach each other by IP,
 * inspect shows their addresses, and removing the containers, the network and
 * the dummy link leaves no lease and no macvlan child behind.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {execFileSync} from 'node:child_process';
import {randomBytes, randomInt} from 'node:crypto';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';

let bb: BusyboxStore;
const parent = `skfd${randomBytes(3).toString('hex')}`;
const netName = `mv${randomBytes(3).toString('hex')}`;

before(async () => {
  bb = await busyboxStore();
  // A dummy link; kernels built without the dummy driver (this VM's) get a veth pair instead.
  try {
    execFileSync('ip', ['link', 'add', parent, 'type', 'dummy'], {stdio: 'pipe'});
  } catch {
    execFileSync('ip', ['link', 'add', parent, 'type', 'veth', 'peer', 'name', `${parent}p`]);
    execFileSync('ip', ['link', 'set', `${parent}p`, 'up']);
  }
  execFileSync('ip', ['link', 'set', parent, 'up']);
});

after(async () => {
  if (bb) {
    await bb.store.run(['rm', '-a', '-f', '-t', '0']);
    await bb.store.run(['network', 'rm', '-f', netName, `${netName}p`]);
  }
  try {
    execFileSync('ip', ['link', 'del', parent], {stdio: 'ignore'});
  } catch {
    /* already gone */
  }
  if (bb) await bb.close();
});

const run = (args: string[]) => bb.store.run(args);

async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  assert.equal(r.code, 0, `skiff ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** macvlan children of the dummy parent (their iflink is the parent's ifindex). */
function children(): string[] {
  if (!fs.existsSync(`/sys/class/net/${parent}`)) return [];
  const idx = fs.readFileSync(`/sys/class/net/${parent}/ifindex`, 'utf8').trim();
  // Parallel tests add and delete veths: an entry listed may be gone (ENOENT, or EINVAL mid-teardown) when read.
  const iflink = (n: string) => {
    try {
      return fs.readFileSync(`/sys/class/net/${n}/iflink`, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  return fs.readdirSync('/sys/class/net').filter((n) => n !== parent && n !== `${parent}p` && iflink(n) === idx);
}

describe('macvlan network', () => {
  test('two containers on a macvlan network over a dummy parent reach each other by IP; rm leaves nothing behind', async () => {
    const prefix = `10.${200 + randomInt(50)}.${randomInt(250)}`;
    const bad = await run(['network', 'create', '-d', 'macvlan', '-o', `parent=${parent}`, '-o', 'mode=sideways', netName]);
    assert.equal(bad.code, 125, bad.stderr);
    assert.match(bad.stderr, /unknown macvlan mode sideways/);
    await ok(['network', 'create', '-d', 'macvlan', '-o', `parent=${parent}`, '-o', 'mode=bridge', '--subnet', `${prefix}.0/24`, netName]);
    const net = JSON.parse(await ok(['network', 'inspect', netName]))[0];
    assert.equal(net.driver, 'macvlan');
    assert.equal(net.network_interface, parent);
    assert.equal(net.subnets[0].subnet, `${prefix}.0/24`);

    await ok(['run', '-d', '--name', 'mvsrv', '--network', netName, '--ip', `${prefix}.10`, bb.image, 'sh', '-c', 'while true; do echo from-mvsrv | nc -l -p 7000; done']);
    await ok(['run', '-d', '--name', 'mvcli', '--network', netName, bb.image, 'sleep', '600']);
    // The container's eth0 is a child of the parent link (its iflink is the parent's ifindex), not a veth.
    const iflink = await ok(['exec', 'mvsrv', 'cat', '/sys/class/net/eth0/iflink']);
    assert.equal(iflink.trim(), fs.readFileSync(`/sys/class/net/${parent}/ifindex`, 'utf8').trim());
    // ... in the mode given with -o mode= (seen with the host's ip inside the container's netns).
    const pid = (await ok(['inspect', '--format', '{{.State.Pid}}', 'mvsrv'])).trim();
    assert.match(execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-d', 'link', 'show', 'eth0'], {encoding: 'utf8'}), /macvlan mode bridge/);

    const addrOf = async (name: string): Promise<string> => {
      const c = JSON.parse(await ok(['inspect', name]))[0];
      const n = c.NetworkSettings.Networks[netName];
      assert.ok(n, `inspect ${name} shows network ${netName}: ${JSON.stringify(c.NetworkSettings)}`);
      return n.IPAddress as string;
    };
    assert.equal(await addrOf('mvsrv'), `${prefix}.10`);
    const cliIp = await addrOf('mvcli');
    assert.match(cliIp, new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.\\d+$`));
    assert.notEqual(cliIp, `${prefix}.10`);
    assert.match(await ok(['exec', 'mvcli', 'sh', '-c', 'ip -o -4 addr show eth0']), new RegExp(`inet ${cliIp.replace(/\./g, '\\.')}/24`));

    let out = '';
    for (let i = 0; i < 40 && !out.includes('from-mvsrv'); i++) {
      const r = await run(['exec', 'mvcli', 'sh', '-c', `nc -w 3 ${prefix}.10 7000 </dev/null`]);
      out = r.stdout;
      if (!out.includes('from-mvsrv')) await new Promise((res) => setTimeout(res, 250));
    }
    assert.match(out, /from-mvsrv/);

    // A second macvlan network on the same parent in private mode: the plugin gets the mode.
    await ok(['network', 'create', '-d', 'macvlan', '-o', `parent=${parent}`, '-o', 'mode=private', '--subnet', `10.${200 + randomInt(50)}.${randomInt(250)}.0/24`, `${netName}p`]);
    await ok(['run', '-d', '--name', 'mvpriv', '--network', `${netName}p`, bb.image, 'sleep', '600']);
    const ppid = (await ok(['inspect', '--format', '{{.State.Pid}}', 'mvpriv'])).trim();
    assert.match(execFileSync('nsenter', [`--net=/proc/${ppid}/ns/net`, 'ip', '-d', 'link', 'show', 'eth0'], {encoding: 'utf8'}), /macvlan mode private/);
    await ok(['rm', '-f', '-t', '0', 'mvsrv', 'mvcli', 'mvpriv']);
    await ok(['network', 'rm', netName, `${netName}p`]);
    assert.deepEqual(children(), []);
    const ipam = path.join(bb.store.runroot, 'networks', 'ipam', netName);
    const leases = fs.existsSync(ipam) ? fs.readdirSync(ipam).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
    assert.deepEqual(leases, []);
    const ls = await ok(['network', 'ls', '--format', '{{.Name}}']);
    assert.doesNotMatch(ls, new RegExp(`^${netName}$`, 'm'));
  });
});
