/**
 * Networks: records in root/networks/<name>.json (podman's JSON shape),
 * rendered to CNI conflists when a container joins. The default network
 * `skiff` (bridge skiff0, the first free 10.89.x.0/24) is written on first
 * use. Joining and leaving run the real CNI plugins into the container's
 * network namespace; host-local keeps its leases under
 * runroot/networks/ipam/<name>, and aardvark-dns's config lives in
 * runroot/networks/aardvark-dns/.
 *
 * Locks (the network-* slot, after container-<id>): `network--list` guards
 * the set of records (create/rm/default); `network-<name>` is held across a
 * container's CNI ADD/DEL on that network (several networks: in name
 * order; shared unless the list has portmap, see lock()); `network--dns` is taken last, around aardvark-dns changes.
 * network create and rm take `network-<name>` inside `network--list`;
 * the firewall lock (/run/lock/skiff-iptables.lock, host-wide: the chains
 * are shared by all stores) is taken inside `network-<name>`, last.
 *
 * Host firewall rules are per network (firewall.ts): installed at create
 * (lazily, on first use, for the default network and after a reboot) and
 * removed at rm; a container's ADD/DEL touches iptables only for -p.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import {spawnSync} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import type {Paths} from '../state/paths';
import {lockFile, type Lock} from '../state/lock';
import {writeFileAtomic} from '../state/atomic';
import {conflict, invalidInput, messageOf, notFound} from '../util/errors';
import {log} from '../util/log';
import type {ContainerNetState, NetworkAttachment, NetworkRecord, NetworkRequest, PortMapping} from './types';
import {cniAdd, cniDel, isLegacyConflist, portMappingsFor, purgeMasquerade, renderConflist, trimConflist, type CniRuntime, type Conflist} from './cni';
import {NetworkFirewall, firewallLockPath} from './firewall';
import {isNsMounted, netnsEndsWithMount, removeNetns} from './netns';
import {Aardvark} from './aardvark';
import {contains, firstHost, formatCidr, hostRoutes, overlaps, parseCidr, type Cidr} from './ipnet';

export const DEFAULT_NETWORK = 'skiff';
export const DEFAULT_BRIDGE = 'skiff0';
/** How long a dropped namespace's veths may take to vanish before skiff deletes them itself. */
const VETH_GONE_MS = 3000;
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface CreateNetworkOptions {
  name?: string;
  driver?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  disableDns?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  interfaceName?: string;
  ignore?: boolean;
}

export class NetworkService {
  constructor(
    private readonly paths: Paths,
    /** IDs of containers whose config names this network. */
    readonly usedBy: (name: string) => string[] = () => [],
  ) {}

  private fw?: NetworkFirewall;

  /** The per-network iptables rules of this store. */
  get firewall(): NetworkFirewall {
    return (this.fw ??= new NetworkFirewall(this.paths.root, this.paths.runroot, () => lockFile(firewallLockPath(this.paths.lockFile('network--firewall'), this.paths.rootless)), !this.paths.rootless));
  }

  private file(name: string): string {
    return path.join(this.paths.networksDir, `${name}.json`);
  }

  /** host-local's dataDir: it keeps each network's leases (and its own lock) in a subdirectory named after the network. */
  get ipamDir(): string {
    return path.join(this.paths.runroot, 'networks', 'ipam');
  }

  get dns(): Aardvark {
    return new Aardvark(path.join(this.paths.runroot, 'networks', 'aardvark-dns'));
  }

  /**
   * `network-<name>`: exclusive for what changes the network (create, rm,
   * its rules, stray leases), shared for containers joining and leaving:
   * the plugins are made for concurrent runs (host-local has its own lock,
   * the bridge plugin tolerates a bridge made meanwhile, installing the
   * rules is idempotent under the firewall lock), so parallel starts on one
   * network do not queue behind each other's ADD. A list with portmap takes
   * it exclusive: portmap checks for its top-level jumps before inserting
   * them, and two at once could both insert one.
   */
  lock(name: string, mode: 'shared' | 'exclusive' = 'exclusive'): Promise<Lock> {
    return lockFile(this.paths.lockFile(`network-${name}`), {mode});
  }

  list(): NetworkRecord[] {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.paths.networksDir).filter((n) => n.endsWith('.json'));
    } catch {
      /* none yet */
    }
    const out: NetworkRecord[] = [];
    for (const n of names) {
      try {
        out.push(JSON.parse(fs.readFileSync(path.join(this.paths.networksDir, n), 'utf8')) as NetworkRecord);
      } catch {
        /* half-written files are never renamed in; ignore strays */
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** By name, full ID or unique ID prefix; the default network exists implicitly. */
  find(input: string): NetworkRecord | undefined {
    const all = this.list();
    const byName = all.find((n) => n.name === input);
    if (byName) return byName;
    if (/^[0-9a-f]{3,64}$/.test(input)) {
      const m = all.filter((n) => n.id.startsWith(input));
      if (m.length === 1) return m[0];
      if (m.length > 1) throw conflict(`more than one network matches "${input}": be more specific`);
    }
    return undefined;
  }

  get(input: string): NetworkRecord {
    const n = this.find(input);
    if (n) return n;
    throw notFound(`unable to find network with name or ID ${input}: network not found`);
  }

  /** The record for a name given to --network; the default network is created on first use. */
  async resolve(input: string): Promise<NetworkRecord> {
    if (input === 'bridge' || input === DEFAULT_NETWORK) return this.ensureDefault();
    return this.get(input);
  }

  async ensureDefault(): Promise<NetworkRecord> {
    const existing = this.find(DEFAULT_NETWORK);
    if (existing) return existing;
    const lock = await lockFile(this.paths.lockFile('network--list'));
    try {
      const again = this.find(DEFAULT_NETWORK);
      if (again) return again;
      return this.createLocked({name: DEFAULT_NETWORK, interfaceName: DEFAULT_BRIDGE, disableDns: true}, true);
    } finally {
      lock.release();
    }
  }

  async create(opts: CreateNetworkOptions): Promise<NetworkRecord> {
    const lock = await lockFile(this.paths.lockFile('network--list'));
    try {
      const existed = opts.name !== undefined && this.find(opts.name)?.name === opts.name;
      const rec = this.createLocked(opts, false);
      if (!existed && rec.driver === 'bridge') {
        const netLock = await this.lock(rec.name);
        try {
          await this.firewall.install(rec);
        } catch (err) {
          // No network without its rules: undo the record.
          fs.rmSync(this.file(rec.name), {force: true});
          throw err;
        } finally {
          netLock.release();
        }
      }
      return rec;
    } finally {
      lock.release();
    }
  }

  private createLocked(opts: CreateNetworkOptions, isDefault: boolean): NetworkRecord {
    const all = this.list();
    const driver = opts.driver ?? 'bridge';
    if (driver !== 'bridge' && driver !== 'macvlan') throw invalidInput(`unsupported driver ${driver}: use bridge or macvlan`);
    let name = opts.name;
    if (name !== undefined) {
      if (!NAME_RE.test(name)) throw invalidInput(`network name ${name} invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument`);
      if (!isDefault && (name === 'bridge' || name === 'none' || name === 'host' || name === DEFAULT_NETWORK)) throw conflict(`cannot create network with name "${name}" because it conflicts with a valid network mode: network already exists`);
      const ex = all.find((n) => n.name === name);
      if (ex) {
        if (opts.ignore) return ex;
        throw conflict(`network name ${name} already used: network already exists`);
      }
    } else {
      for (let i = 1; ; i++) if (!all.some((n) => n.name === `skiff${i}`)) {
        name = `skiff${i}`;
        break;
      }
    }
    for (const k of Object.keys(opts.options ?? {})) {
      if (!['mtu', 'vlan', 'parent', 'mode', 'isolate'].includes(k)) throw invalidInput(`unsupported bridge network option ${k}`);
    }
    const options = {...(opts.options ?? {})};
    if (options.mode !== undefined && !(driver === 'macvlan' && ['bridge', 'private', 'vepa', 'passthru'].includes(options.mode))) {
      throw invalidInput(driver === 'macvlan' ? `unknown macvlan mode ${options.mode}: use bridge, private, vepa or passthru` : 'the mode option is for macvlan networks only');
    }
    // Interface: the bridge to create, or for macvlan the parent device.
    let iface = opts.interfaceName ?? (driver === 'macvlan' ? options.parent : undefined);
    if (driver === 'macvlan') {
      iface ??= defaultRouteDevice();
      if (!iface || !fs.existsSync(`/sys/class/net/${iface}`)) throw invalidInput(`macvlan parent interface ${iface ?? '(none)'} does not exist`);
    } else if (iface !== undefined) {
      if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(iface)) throw invalidInput(`bridge name ${iface} invalid: at most 15 characters of [a-zA-Z0-9_.-]`);
      const other = all.find((n) => n.network_interface === iface && n.driver === 'bridge');
      if (other) throw conflict(`bridge name ${iface} already in use by network ${other.name}`);
    } else {
      for (let i = 1; ; i++) {
        const cand = `skiff${i}`;
        if (!all.some((n) => n.network_interface === cand) && !fs.existsSync(`/sys/class/net/${cand}`)) {
          iface = cand;
          break;
        }
      }
    }
    const taken = all.flatMap((n) => n.subnets.map((s) => parseCidr(s.subnet)));
    const routes = hostRoutes().filter((r) => r.dev !== iface);
    let cidr: Cidr;
    if (opts.subnet) {
      cidr = parseCidr(opts.subnet);
      if (cidr.prefix > 30) throw invalidInput(`subnet ${opts.subnet} is too small`);
      const clash = all.find((n) => n.subnets.some((s) => overlaps(parseCidr(s.subnet), cidr)));
      if (clash) throw conflict(`subnet ${formatCidr(cidr)} is already used on the host or by another config (network ${clash.name})`);
      const r = routes.find((x) => overlaps(x.cidr, cidr));
      if (r && driver === 'bridge') throw conflict(`subnet ${formatCidr(cidr)} is already used on the host or by another config (route via ${r.dev})`);
    } else {
      if (opts.gateway || opts.ipRange) throw invalidInput('--gateway and --ip-range need --subnet');
      const free = freeSubnet(taken, routes.map((r) => r.cidr), isDefault ? 0 : 1);
      if (!free) throw conflict('no free 10.89.x.0/24 subnet left for a new network: pass --subnet');
      cidr = free;
    }
    const gateway = opts.gateway ?? firstHost(cidr);
    if (!contains(cidr, gateway)) throw invalidInput(`gateway ${gateway} is not in subnet ${formatCidr(cidr)}`);
    let lease: NetworkRecord['subnets'][number]['lease_range'];
    if (opts.ipRange) {
      const r = parseCidr(opts.ipRange, 'ip-range');
      if (!overlaps(r, cidr) || r.prefix < cidr.prefix) throw invalidInput(`ip-range ${opts.ipRange} is not inside subnet ${formatCidr(cidr)}`);
      const start = r.base === cidr.base ? firstHost(r).split('.').map(Number) : null;
      lease = {start_ip: start ? start.join('.') : formatCidr(r).split('/')[0], end_ip: lastUsable(r)};
    }
    const rec: NetworkRecord = {
      name: name!,
      id: createHash('sha256').update(`${name}\0${randomBytes(16).toString('hex')}`).digest('hex'),
      driver,
      network_interface: iface!,
      created: new Date().toISOString(),
      subnets: [{subnet: formatCidr(cidr), gateway, ...(lease ? {lease_range: lease} : {})}],
      ipv6_enabled: false,
      internal: opts.internal ?? false,
      dns_enabled: driver === 'bridge' && !opts.disableDns,
      labels: opts.labels ?? {},
      options,
      ipam_options: {driver: 'host-local'},
    };
    fs.mkdirSync(this.paths.networksDir, {recursive: true, mode: 0o700});
    writeFileAtomic(this.file(rec.name), JSON.stringify(rec, null, 2) + '\n', {mode: 0o644});
    return rec;
  }

  /** Remove records; containers using them make it fail unless `force`, which the caller handles by removing them first. */
  async remove(name: string): Promise<void> {
    const rec = this.get(name);
    if (rec.name === DEFAULT_NETWORK) throw invalidInput(`default network ${rec.name} cannot be removed`);
    const lock = await lockFile(this.paths.lockFile('network--list'));
    try {
      const users = this.usedBy(rec.name);
      if (users.length) throw conflict(`"${rec.name}" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used`);
      if (rec.driver === 'bridge') {
        const netLock = await this.lock(rec.name);
        try {
          await this.firewall.remove(rec);
        } finally {
          netLock.release();
        }
      }
      fs.rmSync(this.file(rec.name), {force: true});
      fs.rmSync(path.join(this.ipamDir, rec.name), {recursive: true, force: true});
      const dnsLock = await lockFile(this.paths.lockFile('network--dns'));
      try {
        this.dns.dropNetwork(rec.name);
      } finally {
        dnsLock.release();
      }
      if (rec.driver === 'bridge' && fs.existsSync(`/sys/class/net/${rec.network_interface}`)) {
        // The bridge plugin never deletes its bridge; a removed network should not leave one behind.
        spawnSync('ip', ['link', 'delete', rec.network_interface, 'type', 'bridge']);
      }
    } finally {
      lock.release();
    }
  }

  // --- containers joining and leaving ---------------------------------------------------

  /**
   * CNI ADD of a container on one network (the caller holds container-<id>);
   * registers its names with aardvark-dns when the network has DNS.
   */
  async attach(net: NetworkRecord, c: {id: string; name: string; netns: string; ifname: string; request: NetworkRequest; ports: PortMapping[]; beforeAdd?: (conflist: Conflist) => void}): Promise<NetworkAttachment> {
    const list = trimConflist(renderConflist(net, this.ipamDir), {ports: c.ports.length > 0, mac: !!c.request.mac});
    c.beforeAdd?.(list);
    const rt: CniRuntime = {
      containerId: c.id,
      netns: c.netns,
      ifname: c.ifname,
      runtimeConfig: {
        portMappings: portMappingsFor(c.ports),
        ips: c.request.ips?.map((ip) => `${ip}/${parseCidr(net.subnets[0].subnet).prefix}`),
        mac: c.request.mac,
      },
      args: {K8S_POD_NAME: c.name},
    };
    for (const ip of c.request.ips ?? []) {
      if (!net.subnets.some((s) => contains(parseCidr(s.subnet), ip))) throw invalidInput(`requested static ip ${ip} not in any subnet on network ${net.name}`);
    }
    const lock = await this.lock(net.name, joinMode(list));
    let result: unknown;
    try {
      await this.firewall.ensure(net);
      result = await cniAdd(list, rt);
    } finally {
      lock.release();
    }
    const att = {...attachmentFrom(result, c.ifname, c.request.aliases ?? []), conflist: list};
    if (net.dns_enabled && att.ip) {
      const dnsLock = await lockFile(this.paths.lockFile('network--dns'));
      try {
        this.dns.add(net.name, net.subnets[0].gateway, {id: c.id, ip: att.ip, names: [c.name, ...(c.request.aliases ?? []), c.id.slice(0, 12)]});
      } finally {
        dnsLock.release();
      }
    }
    return att;
  }

  /**
   * After a container's last DEL: host-local leases still naming it (an ADD
   * or DEL a kill interrupted can leave one no record knows) are released.
   */
  async releaseLeases(containerId: string): Promise<string[]> {
    const released: string[] = [];
    let nets: string[] = [];
    try {
      nets = fs.readdirSync(this.ipamDir);
    } catch {
      return released;
    }
    for (const net of nets) {
      const dir = path.join(this.ipamDir, net);
      const mine = (): string[] => {
        try {
          return fs.readdirSync(dir).filter((f) => {
            try {
              return fs.readFileSync(path.join(dir, f), 'utf8').startsWith(containerId);
            } catch {
              return false;
            }
          });
        } catch {
          return [];
        }
      };
      if (mine().length === 0) continue;
      const lock = await this.lock(net);
      try {
        for (const f of mine()) {
          fs.rmSync(path.join(dir, f), {force: true});
          released.push(`${net}/${f}`);
        }
      } finally {
        lock.release();
      }
    }
    return released;
  }

  /**
   * First step of a container's network teardown (its processes are gone).
   * The bridge plugin's DEL deletes the container's veth inside the
   * namespace, and deleting a link waits for the kernel's RCU grace periods
   * (20-50 ms here, the larger part of a DEL). A namespace that nothing but
   * its mount holds takes its veths with it when it is unmounted, in the
   * kernel's own cleanup: so when every network is a plain bridge (+portmap)
   * attachment, this unmounts the namespace, waits until the host sides of
   * the veths are gone, and returns true; the DELs then run with an empty
   * CNI_NETNS, which the bridge plugin answers by releasing the address only
   * (CNI: a runtime passes no namespace once it is gone). The address is
   * released after the veths are gone, so a new container never meets the
   * old one on the bridge. Anything else (slirp4netns, pasta, tuning, legacy
   * lists, an interrupted ADD, a namespace another process is in) keeps the
   * full DEL in the namespace (false).
   */
  async dropNamespace(net: ContainerNetState): Promise<boolean> {
    if (net.slirp || net.pasta || Object.keys(net.pending ?? {}).length > 0) return false;
    const hostVeths: string[] = [];
    for (const att of Object.values(net.networks)) {
      const list = att.conflist as Conflist | undefined;
      if (!list || !list.plugins.every((p) => (p.type === 'bridge' && p.ipMasq !== true) || p.type === 'portmap')) return false;
      const bridge = list.plugins.find((p) => p.type === 'bridge')?.bridge;
      const ifaces = ((att.result ?? {}) as {interfaces?: Array<{name?: string; sandbox?: string}>}).interfaces ?? [];
      for (const i of ifaces) if (i.name && !i.sandbox && i.name !== bridge) hostVeths.push(i.name);
    }
    if (!isNsMounted(net.netns)) return true; // gone already (a reboot, an earlier teardown cut short): DEL without it
    if (!netnsEndsWithMount(net.netns)) return false;
    removeNetns(net.netns);
    const present = () => hostVeths.filter((v) => fs.existsSync(`/sys/class/net/${v}`));
    for (let waited = 0; waited < VETH_GONE_MS && present().length > 0; waited += 2) await new Promise((r) => setTimeout(r, 2));
    for (const v of present()) {
      // Something unseen (an open descriptor) keeps the namespace: deleting one end of a veth pair deletes both.
      log.warn(`network namespace ${net.netns} outlived its mount: deleting ${v} from the host side`);
      spawnSync('ip', ['link', 'delete', v]);
    }
    log.debug(`network namespace ${net.netns} unmounted before the DELs: the kernel removed ${hostVeths.join(', ') || 'no veth'}`);
    return true;
  }

  /** CNI DEL (every plugin, errors logged) and the aardvark-dns entry. A network removed meanwhile is rebuilt from the attachment. */
  async detach(name: string, c: {id: string; netns: string; att: NetworkAttachment; ports: PortMapping[]}): Promise<void> {
    const net = this.find(name);
    const list = (c.att.conflist as Conflist | undefined) ?? (net ? renderConflist(net, this.ipamDir) : undefined);
    if (list) {
      const lock = await this.lock(name, joinMode(list));
      try {
        const errs = cniDel(list, {containerId: c.id, netns: c.netns, ifname: c.att.interface, runtimeConfig: {portMappings: portMappingsFor(c.ports)}}, c.att.result);
        for (const e of errs) log.warn(messageOf(e));
        // Records of skiff versions whose ADD made per-container masquerade rules.
        if (!c.att.conflist || isLegacyConflist(list)) purgeMasquerade(c.id, list.name);
      } finally {
        lock.release();
      }
    }
    const dnsLock = await lockFile(this.paths.lockFile('network--dns'));
    try {
      this.dns.remove(name, c.id);
    } finally {
      dnsLock.release();
    }
  }
}

/** The network lock's mode for a container's ADD/DEL (see NetworkService.lock). */
function joinMode(list: Conflist): 'shared' | 'exclusive' {
  return !isLegacyConflist(list) && list.plugins.every((p) => p.type === 'bridge' || p.type === 'macvlan' || p.type === 'tuning') ? 'shared' : 'exclusive';
}

function attachmentFrom(result: unknown, ifname: string, aliases: string[]): NetworkAttachment {
  const r = (result ?? {}) as {interfaces?: Array<{name: string; mac?: string; sandbox?: string}>; ips?: Array<{address: string; gateway?: string; interface?: number}>};
  const ifaces = r.interfaces ?? [];
  const ip4 = (r.ips ?? []).find((i) => net.isIPv4(i.address.split('/')[0]));
  const own = ifaces.find((i) => i.name === ifname && i.sandbox) ?? (ip4?.interface !== undefined ? ifaces[ip4.interface] : undefined);
  return {
    interface: ifname,
    ip: ip4 ? ip4.address.split('/')[0] : '',
    prefixLen: ip4 ? Number(ip4.address.split('/')[1]) : 0,
    gateway: ip4?.gateway ?? '',
    mac: own?.mac ?? '',
    aliases,
    result,
  };
}

function freeSubnet(taken: Cidr[], routes: Cidr[], from: number): Cidr | undefined {
  for (let i = from; i < 256; i++) {
    const c = parseCidr(`10.89.${i}.0/24`);
    if (taken.some((t) => overlaps(t, c)) || routes.some((r) => overlaps(r, c))) continue;
    return c;
  }
  return undefined;
}

function lastUsable(c: Cidr): string {
  const n = (c.base | (c.prefix === 32 ? 0 : (0xffffffff >>> c.prefix))) >>> 0;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, (n & 255) - 1].join('.');
}

function defaultRouteDevice(): string | undefined {
  try {
    for (const line of fs.readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1] === '00000000' && f[7] === '00000000') return f[0];
    }
  } catch {
    /* no routes */
  }
  return undefined;
}

/** A record under podman's Go field names, for --format templates. */
export function networkTemplateView(n: NetworkRecord) {
  return {
    Name: n.name,
    ID: n.id,
    Driver: n.driver,
    NetworkInterface: n.network_interface,
    Created: n.created,
    Subnets: n.subnets.map((s) => ({Subnet: s.subnet, Gateway: s.gateway, LeaseRange: s.lease_range ? {StartIP: s.lease_range.start_ip, EndIP: s.lease_range.end_ip} : null})),
    IPv6Enabled: n.ipv6_enabled,
    Internal: n.internal,
    DNSEnabled: n.dns_enabled,
    Labels: n.labels,
    Options: n.options,
    IPAMOptions: n.ipam_options,
  };
}
