/**
 * Per-network iptables rules: what a bridge network needs from the host's
 * firewall, installed once per network instead of once per container.
 *
 * The CNI bridge plugin's ipMasq and the firewall plugin each add rules per
 * container (a CNI-<hash> nat chain and POSTROUTING jump; CNI-FORWARD
 * accepts by address) and remove them at DEL: about a dozen iptables runs,
 * with dumps, on every start and stop. The rules only ever name the
 * container's address inside the network's subnet, so rules naming the
 * subnet serve every container of the network; netavark (podman 4's
 * default) does the same with a NETAVARK-<hash> chain per network and
 * NETAVARK_FORWARD accepts per subnet.
 *
 * Layout: two chains of skiff's own, created on first use and never
 * removed (like netavark's jump rules), jumped from the built-in chains:
 *   nat    POSTROUTING -j SKIFF-POSTROUTING
 *          SKIFF-POSTROUTING -s SUBNET -d SUBNET -j RETURN
 *          SKIFF-POSTROUTING -s SUBNET ! -d 224.0.0.0/4 -j MASQUERADE
 *   filter FORWARD (first) -j SKIFF-FORWARD
 *          SKIFF-FORWARD -d SUBNET ctstate RELATED,ESTABLISHED -j ACCEPT
 *          SKIFF-FORWARD -d SUBNET ctstate DNAT -j ACCEPT   (published ports)
 *          SKIFF-FORWARD -s SUBNET -j ACCEPT
 * so containers reach out (and published ports reach in) even on hosts
 * whose FORWARD policy is DROP. An --internal network gets no masquerade
 * and, at the top of SKIFF-FORWARD, drops of anything leaving or entering
 * its subnet through the host.
 *
 * Every per-network rule carries the comment
 *   "skiff network NAME ID12 OWNER"
 * OWNER is the store's root (or #<hash> of it when it does not fit), so a
 * rule says which store's network it serves: `system check` finds the rules
 * of networks that no longer exist (removed, or their store deleted) and the
 * missing rules of networks that do. Two stores whose networks share a
 * subnet (each store's default network) each have their own, identical,
 * rules; removing one set leaves the other working.
 *
 * A marker file runroot/networks/firewall/<name> (the network ID) records
 * that the rules were installed since the runroot was made, which on a
 * real host is since boot (/run is a tmpfs): joining a network costs one
 * file read, and after a reboot the first container reinstalls the rules.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {spawnSync} from 'node:child_process';
import type {NetworkRecord} from './types';
import {SkiffError} from '../util/errors';
import type {Lock} from '../state/lock';

export const FORWARD_CHAIN = 'SKIFF-FORWARD';
export const NAT_CHAIN = 'SKIFF-POSTROUTING';
const JUMP_COMMENT = 'skiff network rules';
const COMMENT_RE = /^skiff network ([a-zA-Z0-9][a-zA-Z0-9_.-]*) ([0-9a-f]{12}) (.+)$/;

type Table = 'nat' | 'filter';

/** One rule: its table, chain and its text as iptables-save prints it (without "-A CHAIN"). */
export interface Rule {
  table: Table;
  chain: string;
  spec: string;
  /** -I CHAIN 1 instead of -A (DROPs of internal networks must come before any network's ACCEPTs). */
  first?: boolean;
}

/** The rules of one network found on the host. */
export interface RuleSet {
  name: string;
  id12: string;
  owner: string;
  rules: Rule[];
}

export class FirewallError extends SkiffError {
  constructor(message: string) {
    super('internal', message);
  }
}

/** The store's token in rule comments: its root, or a hash of it when the root cannot be quoted or is too long. */
export function ownerToken(root: string): string {
  return /^[\x21-\x7e ]{1,160}$/.test(root) && !/["\\]/.test(root) ? root : `#${(require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(root).digest('hex').slice(0, 16)}`;
}

function comment(net: Pick<NetworkRecord, 'name' | 'id'>, owner: string): string {
  return `skiff network ${net.name} ${net.id.slice(0, 12)} ${owner}`;
}

/** The rules a network needs (none for macvlan: its traffic does not pass the host's IP stack). */
export function networkRules(net: NetworkRecord, owner: string): Rule[] {
  if (net.driver !== 'bridge') return [];
  const c = `-m comment --comment "${comment(net, owner)}"`;
  const out: Rule[] = [];
  for (const {subnet} of net.subnets) {
    if (subnet.includes(':')) continue; // IPv4 only (ipv6_enabled is always false)
    if (net.internal) {
      out.push({table: 'filter', chain: FORWARD_CHAIN, spec: `-s ${subnet} ! -d ${subnet} ${c} -j DROP`, first: true});
      out.push({table: 'filter', chain: FORWARD_CHAIN, spec: `! -s ${subnet} -d ${subnet} ${c} -j DROP`, first: true});
      continue;
    }
    out.push({table: 'nat', chain: NAT_CHAIN, spec: `-s ${subnet} -d ${subnet} ${c} -j RETURN`});
    out.push({table: 'nat', chain: NAT_CHAIN, spec: `-s ${subnet} ! -d 224.0.0.0/4 ${c} -j MASQUERADE`});
    out.push({table: 'filter', chain: FORWARD_CHAIN, spec: `-d ${subnet} -m conntrack --ctstate RELATED,ESTABLISHED ${c} -j ACCEPT`});
    out.push({table: 'filter', chain: FORWARD_CHAIN, spec: `-d ${subnet} -m conntrack --ctstate DNAT ${c} -j ACCEPT`});
    out.push({table: 'filter', chain: FORWARD_CHAIN, spec: `-s ${subnet} ${c} -j ACCEPT`});
  }
  return out;
}

const JUMPS: Rule[] = [
  {table: 'nat', chain: 'POSTROUTING', spec: `-m comment --comment "${JUMP_COMMENT}" -j ${NAT_CHAIN}`},
  {table: 'filter', chain: 'FORWARD', spec: `-m comment --comment "${JUMP_COMMENT}" -j ${FORWARD_CHAIN}`, first: true},
];

/** What iptables-save shows of the nat and filter tables: chains and "-A" lines by table. */
interface Dump {
  chains: Record<Table, Set<string>>;
  rules: Record<Table, string[]>;
}

function run(cmd: string, args: string[], input?: string): {status: number | null; stdout: string; stderr: string; error?: Error} {
  return spawnSync(cmd, args, {input, encoding: 'utf8', timeout: 60_000});
}

function dump(): Dump {
  const d: Dump = {chains: {nat: new Set(), filter: new Set()}, rules: {nat: [], filter: []}};
  for (const table of ['nat', 'filter'] as const) {
    const r = run('iptables-save', ['-t', table]);
    if (r.error || r.status !== 0) throw new FirewallError(`iptables-save -t ${table}: ${r.error?.message ?? r.stderr.trim()}: skiff needs iptables for bridge networks`);
    for (const line of r.stdout.split('\n')) {
      if (line.startsWith(':')) d.chains[table].add(line.slice(1).split(' ')[0]);
      else if (line.startsWith('-A ')) d.rules[table].push(line.slice(3));
    }
  }
  return d;
}

const has = (d: Dump, r: Rule) => d.rules[r.table].includes(`${r.chain} ${r.spec}`);

/** Apply -A/-I/-D lines through one iptables-restore --noflush (one process for any number of rules). */
function restore(lines: Array<{table: Table; line: string}>): void {
  if (lines.length === 0) return;
  let text = '';
  for (const table of ['nat', 'filter'] as const) {
    const mine = lines.filter((l) => l.table === table);
    if (mine.length) text += `*${table}\n${mine.map((l) => l.line).join('\n')}\nCOMMIT\n`;
  }
  const r = run('iptables-restore', ['-w', '--noflush'], text);
  if (r.error || r.status !== 0) throw new FirewallError(`iptables-restore: ${r.error?.message ?? r.stderr.trim()}`);
}

function deletes(sets: RuleSet[]): Array<{table: Table; line: string}> {
  return sets.flatMap((s) => s.rules.map((r) => ({table: r.table, line: `-D ${r.chain} ${r.spec}`})));
}

function addLine(r: Rule): {table: Table; line: string} {
  return {table: r.table, line: r.first ? `-I ${r.chain} 1 ${r.spec}` : `-A ${r.chain} ${r.spec}`};
}

/** Rules of skiff's chains grouped by the network their comment names. */
function ruleSets(d: Dump): RuleSet[] {
  const sets = new Map<string, RuleSet>();
  for (const table of ['nat', 'filter'] as const) {
    for (const text of d.rules[table]) {
      const chain = text.split(' ')[0];
      if (chain !== NAT_CHAIN && chain !== FORWARD_CHAIN) continue;
      const m = / -m comment --comment "((?:[^"\\]|\\.)*)"/.exec(text);
      const cm = m ? COMMENT_RE.exec(m[1]) : null;
      if (!cm) continue;
      const key = m![1];
      let s = sets.get(key);
      if (!s) sets.set(key, (s = {name: cm[1], id12: cm[2], owner: cm[3], rules: []}));
      s.rules.push({table, chain, spec: text.slice(chain.length + 1)});
    }
  }
  return [...sets.values()];
}

/**
 * skiff's chains are shared by every store on the host, so their lock is
 * host-wide when it can be (root: /run/lock), else the store's.
 */
export function firewallLockPath(storeLock: string, rootless: boolean): string {
  return !rootless && fs.existsSync('/run/lock') ? '/run/lock/skiff-iptables.lock' : storeLock;
}

export class NetworkFirewall {
  readonly owner: string;

  constructor(
    readonly root: string,
    readonly runroot: string,
    /** The lock serialising changes to skiff's chains (two installs would both add a missing jump): host-wide, see firewallLockPath. */
    private readonly lock: () => Promise<Lock>,
    /**
     * Only root can change the host's firewall: false for a rootless store
     * (even inside skiff's user namespace, where the process is uid 0); its
     * bridge networks cannot run containers either.
     */
    readonly enabled = true,
  ) {
    this.owner = ownerToken(root);
  }

  private async locked<T>(fn: () => T): Promise<T> {
    const l = await this.lock();
    try {
      return fn();
    } finally {
      l.release();
    }
  }

  private marker(name: string): string {
    return path.join(this.runroot, 'networks', 'firewall', name);
  }

  /** True when this runroot recorded installing the network's rules (since boot, on a real host). */
  installedMark(net: Pick<NetworkRecord, 'name' | 'id'>): boolean {
    try {
      return fs.readFileSync(this.marker(net.name), 'utf8') === net.id;
    } catch {
      return false;
    }
  }

  /** Before a container joins (under the network's lock): the rules, unless this runroot already installed them. */
  async ensure(net: NetworkRecord): Promise<void> {
    if (!this.enabled || net.driver !== 'bridge' || this.installedMark(net)) return;
    await this.install(net);
  }

  /**
   * Idempotent: adds what is missing (the skiff chains and their jumps, the
   * network's rules) and removes rules with the network's comment that are
   * not what it needs now. Caller holds the network's lock.
   */
  async install(net: NetworkRecord): Promise<void> {
    if (!this.enabled || net.driver !== 'bridge') return;
    await this.locked(() => this.installLocked(net));
  }

  private installLocked(net: NetworkRecord): void {
    let d = dump();
    const created: Array<[Table, string]> = [];
    if (!d.chains.nat.has(NAT_CHAIN)) created.push(['nat', NAT_CHAIN]);
    if (!d.chains.filter.has(FORWARD_CHAIN)) created.push(['filter', FORWARD_CHAIN]);
    for (const [table, chain] of created) {
      const r = run('iptables', ['-w', '-t', table, '-N', chain]);
      // Another process may have made it meanwhile.
      if (r.status !== 0 && !/exists/i.test(r.stderr)) throw new FirewallError(`iptables -t ${table} -N ${chain}: ${r.error?.message ?? r.stderr.trim()}`);
    }
    if (created.length) d = dump();
    const want = networkRules(net, this.owner);
    const wantText = new Set(want.map((r) => `${r.table} ${r.chain} ${r.spec}`));
    const cm = comment(net, this.owner);
    const sets = ruleSets(d);
    const stale = sets
      .filter((s) => s.name === net.name && s.owner === this.owner)
      .flatMap((s) => s.rules)
      .filter((r) => !wantText.has(`${r.table} ${r.chain} ${r.spec}`) || !r.spec.includes(cm));

    const add = [...JUMPS, ...want].filter((r) => !has(d, r));
    // Inserted at the top in reverse, so they keep their order.
    const lines = [...add.filter((r) => r.first).reverse(), ...add.filter((r) => !r.first)].map(addLine);
    restore([...stale.map((r) => ({table: r.table, line: `-D ${r.chain} ${r.spec}`})), ...lines]);
    // While at it (installs are rare): the rules of stores deleted without `network rm` (test stores, removed
    // roots). Best effort, apart: a failure here must not fail the install.
    const gone = deletes(sets.filter((s) => s.owner !== this.owner && orphaned(s, {owner: this.owner, networks: []})));
    try {
      restore(gone);
    } catch {
      /* system check reports what is left */
    }
    fs.mkdirSync(path.dirname(this.marker(net.name)), {recursive: true, mode: 0o700});
    fs.writeFileSync(this.marker(net.name), net.id);
  }

  /** At network rm: every rule naming the network (this store's), and the marker. Chains and jumps stay. */
  async remove(net: Pick<NetworkRecord, 'name' | 'id'>): Promise<void> {
    fs.rmSync(this.marker(net.name), {force: true});
    if (!this.enabled) return;
    await this.locked(() => restore(deletes(ruleSets(dump()).filter((s) => s.owner === this.owner && s.name === net.name && s.id12 === net.id.slice(0, 12)))));
  }

  /** Remove rule sets found by list() (system check); rules already gone are skipped. */
  async removeSets(sets: RuleSet[]): Promise<void> {
    await this.locked(() => {
      const d = dump();
      restore(deletes(sets).filter((l) => d.rules[l.table].includes(l.line.slice(3))));
    });
  }

  /** Every per-network rule set on the host (all stores). */
  list(): RuleSet[] {
    return ruleSets(dump());
  }

  /** The rules `net` needs that the host lacks. */
  missing(net: NetworkRecord, sets: RuleSet[] = this.list()): Rule[] {
    const mine = sets.find((s) => s.owner === this.owner && s.name === net.name && s.id12 === net.id.slice(0, 12));
    const have = new Set((mine?.rules ?? []).map((r) => `${r.table} ${r.chain} ${r.spec}`));
    return networkRules(net, this.owner).filter((r) => !have.has(`${r.table} ${r.chain} ${r.spec}`));
  }
}

/**
 * Whether a rule set found on the host belongs to a network that no longer
 * exists: its store's root names no such network (or one with another ID).
 * Rules of a store known only by hash are judged by that store alone.
 */
export function orphaned(s: RuleSet, own: {owner: string; networks: NetworkRecord[]}): boolean {
  if (s.owner === own.owner) return !own.networks.some((n) => n.name === s.name && n.id.startsWith(s.id12));
  if (s.owner.startsWith('#') || !path.isAbsolute(s.owner)) return false;
  // The other store's network: gone with its record, or with its whole root.
  try {
    const rec = JSON.parse(fs.readFileSync(path.join(s.owner, 'networks', `${s.name}.json`), 'utf8')) as NetworkRecord;
    return !rec.id.startsWith(s.id12);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
