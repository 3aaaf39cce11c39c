/**
 * Network leak checks shared by the fault suites (the same checks
 * test/integration/network.test.ts makes): a test-private network with a
 * random bridge name and subnet, and everything the host holds for one
 * container (iptables rules, netns mount, host-local lease).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {execFileSync} from 'node:child_process';
import {randomBytes, randomInt} from 'node:crypto';
import type {Store} from './skiff';

export interface TestNetwork {
  name: string;
  bridge: string;
  /** "10.x.y": the /24 is prefix.0/24. */
  prefix: string;
}

/** A fresh network with its own bridge and a random 10.2xx.y.0/24 subnet. */
export async function newNetwork(s: Store, extra: string[] = []): Promise<TestNetwork> {
  const tag = randomBytes(3).toString('hex');
  const name = `nt${tag}`;
  const bridge = `skt${tag}`;
  for (let attempt = 0; ; attempt++) {
    const prefix = `10.${200 + randomInt(50)}.${randomInt(250)}`;
    const r = await s.run(['network', 'create', '--subnet', `${prefix}.0/24`, '--interface-name', bridge, ...extra, name]);
    if (r.code === 0) return {name, bridge, prefix};
    if (attempt > 5 || !/already used/.test(r.stderr)) throw new Error(`network create: ${r.stderr}`);
  }
}

/** Everything the host holds for one container: iptables rules naming it (or its address), its netns mount, its leases. */
export function leftovers(s: Store, id: string, ip?: string): string[] {
  const out: string[] = [];
  for (const table of ['nat', 'filter']) {
    const rules = execFileSync('iptables-save', ['-t', table], {encoding: 'utf8'});
    if (rules.includes(id)) out.push(`iptables ${table} rules naming ${id.slice(0, 12)}`);
    if (ip && new RegExp(`[ /]${ip.replace(/\./g, '\\.')}(/32)?\\s`).test(rules)) out.push(`iptables ${table} rules for ${ip}`);
  }
  const netns = path.join(s.runroot, 'netns', id);
  if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(netns)) out.push(`netns mount ${netns}`);
  if (fs.existsSync(netns)) out.push(`netns file ${netns}`);
  for (const l of leases(s)) if (l.id === id) out.push(`lease ${l.net}/${l.ip}`);
  return out;
}

/** The host-local leases of the store: network, address, holder. */
export function leases(s: Store): Array<{net: string; ip: string; id: string}> {
  const ipam = path.join(s.runroot, 'networks', 'ipam');
  const out: Array<{net: string; ip: string; id: string}> = [];
  if (!fs.existsSync(ipam)) return out;
  for (const net of fs.readdirSync(ipam)) {
    for (const f of fs.readdirSync(path.join(ipam, net))) {
      const p = path.join(ipam, net, f);
      const id = /^[0-9a-f]{64}/.exec(fs.statSync(p).isFile() ? fs.readFileSync(p, 'utf8') : '')?.[0];
      if (id) out.push({net, ip: f, id});
    }
  }
  return out;
}

/** The per-network iptables rules (skiff's chains) naming the store's network `name`, as iptables-save prints them. */
export function networkRules(s: Store, name: string): string[] {
  const out: string[] = [];
  for (const table of ['nat', 'filter']) {
    for (const l of execFileSync('iptables-save', ['-t', table], {encoding: 'utf8'}).split('\n')) {
      if (l.startsWith('-A ') && l.includes(`--comment "skiff network ${name} `) && l.includes(` ${s.root}"`)) out.push(`${table} ${l}`);
    }
  }
  return out;
}

/**
 * iptables rules naming a single address of the test network (per-container
 * rules: portmap's DNAT of a published port, or the per-container masquerade
 * and firewall-plugin rules skiff no longer makes). With no container on the
 * network, there must be none.
 */
export function addressRules(net: TestNetwork): string[] {
  const re = new RegExp(`[ /:]${net.prefix.replace(/\./g, '\\.')}\\.(?!0/24)\\d+`);
  const out: string[] = [];
  for (const table of ['nat', 'filter']) {
    for (const l of execFileSync('iptables-save', ['-t', table], {encoding: 'utf8'}).split('\n')) if (l.startsWith('-A ') && re.test(l)) out.push(`${table} ${l}`);
  }
  return out;
}

/**
 * Network leftovers of every container in `ids` that no longer exists in the
 * store (`existing`), plus netns entries of none; with `net` and no container
 * left on it: rules naming its addresses, and its per-network rules must be
 * the 5 a bridge network has (masquerade: 2, FORWARD: 3).
 */
export function leaksOfRemoved(s: Store, ids: Iterable<string>, existing: Set<string>, net?: TestNetwork): string[] {
  const out: string[] = [];
  for (const id of ids) if (!existing.has(id)) out.push(...leftovers(s, id));
  if (net) {
    for (const r of addressRules(net)) out.push(`per-container rule: ${r}`);
    const own = networkRules(s, net.name);
    if (own.length !== 5) out.push(`network ${net.name} has ${own.length} per-network rules, not 5: ${own.join(' | ')}`);
  }
  const dir = path.join(s.runroot, 'netns');
  if (fs.existsSync(dir)) for (const n of fs.readdirSync(dir)) if (!existing.has(n)) out.push(`netns ${n.slice(0, 12)} of a removed container`);
  for (const l of leases(s)) if (!existing.has(l.id)) out.push(`lease ${l.net}/${l.ip} of removed ${l.id.slice(0, 12)}`);
  return [...new Set(out)];
}
