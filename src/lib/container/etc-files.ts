/**
 * The per-container /etc/hosts, /etc/hostname and /etc/resolv.conf, built
 * the way podman builds them (containers/common libnetwork/etchosts and
 * resolvconf). The generators are pure: file contents in, file contents
 * out. writeEtcFiles() is the one impure step: it reads the host's files
 * and writes the results (atomically) into the container's directory, from
 * where the runtime bind-mounts them.
 *
 * hosts: --add-host entries first, then the base file (the host's
 * /etc/hosts, podman's default base_hosts_file), then "localhost" for
 * 127.0.0.1 and ::1 and, with --network none, the container's hostname and
 * name for both, each only for names not already present, so a user's
 * entry always wins.
 *
 * resolv.conf: the host's search, nameserver and options lines; with a
 * private network namespace, loopback nameservers (127.0.0.0/8, ::1, e.g.
 * systemd-resolved's 127.0.0.53) are dropped because nothing listens there
 * inside the container, and if none remain podman's defaults (8.8.8.8,
 * 8.8.4.4) are used. --dns replaces the nameservers, --dns-search the search
 * list ("." for none), --dns-option the options. With --network host and no
 * --dns* flags the host's file is used as it is.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import {readTextIfExists, writeFileAtomic} from '../state/atomic';
import {invalidInput} from '../util/errors';

/** none and host as such; every other mode is a private namespace with interfaces (bridge, container, ns, slirp4netns, pasta). */
export type NetworkMode = 'none' | 'host' | 'bridge' | 'container' | 'ns' | 'slirp4netns' | 'pasta';

export interface HostEntry {
  ip: string;
  names: string[];
}

export interface HostsParams {
  hostname: string;
  /** The container's name (also resolvable with --network none, as podman). */
  name?: string;
  network: NetworkMode;
  /** --add-host values: "name:ip", "name=ip", names separated by ';'; "[v6]" brackets allowed. */
  addHosts?: string[];
  /** Contents of the base hosts file (the host's /etc/hosts); undefined for none. */
  baseHosts?: string;
  /** Address for host.containers.internal / host-gateway, when known. */
  hostGatewayIp?: string;
  /** The container's own addresses on its networks (bridge): each gets "IP hostname name". */
  ownIps?: string[];
}

export interface ResolvParams {
  network: NetworkMode;
  /** Contents of the host's resolv.conf (undefined when it has none). */
  hostResolvConf?: string;
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** Name servers of the container's networks (aardvark-dns at the gateway): they replace the host's, unless --dns is given. */
  networkDns?: string[];
  /** A forwarder of the network (slirp4netns' 10.0.2.3): listed before the host's servers, unless --dns is given (podman's order). */
  leadingDns?: string[];
}

export const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

function stripBrackets(ip: string): string {
  return ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
}

/** One --add-host value. The separator is the first ':' or '=' (so IPv6 addresses keep their colons). */
export function parseAddHost(spec: string, hostGatewayIp?: string): HostEntry {
  const m = /^([^:=]*)[:=](.*)$/.exec(spec);
  if (!m) throw invalidInput(`invalid --add-host "${spec}": expected HOST:IP`);
  const names = m[1].split(';');
  if (m[1] === '' || names.some((n) => n === '')) throw invalidInput(`invalid --add-host "${spec}": the hostname is empty`);
  for (const n of names) {
    if (!/^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/.test(n)) throw invalidInput(`invalid --add-host "${spec}": "${n}" is not a valid hostname`);
  }
  let ip = stripBrackets(m[2]);
  if (ip === '') throw invalidInput(`invalid --add-host "${spec}": the IP address is empty`);
  if (ip === 'host-gateway') {
    if (!hostGatewayIp) throw invalidInput(`invalid --add-host "${spec}": host-gateway has no address with this network mode`);
    ip = hostGatewayIp;
  }
  if (net.isIP(ip) === 0) throw invalidInput(`invalid --add-host "${spec}": "${ip}" is not an IP address`);
  return {ip, names};
}

/** Entries of a hosts file: comments dropped, lines without a name skipped. */
export function parseHostsFile(content: string): HostEntry[] {
  const out: HostEntry[] = [];
  for (const raw of content.split('\n')) {
    const line = raw.includes('#') ? raw.slice(0, raw.indexOf('#')) : raw;
    const fields = line.trim().split(/\s+/).filter(Boolean);
    if (fields.length < 2) continue;
    out.push({ip: fields[0], names: fields.slice(1)});
  }
  return out;
}

const line = (e: HostEntry) => `${e.ip}\t${e.names.join(' ')}\n`;

export function generateHosts(p: HostsParams): string {
  const user = [...(p.addHosts ?? []).map((h) => parseAddHost(h, p.hostGatewayIp)), ...(p.baseHosts ? parseHostsFile(p.baseHosts) : [])];
  const taken = new Set(user.flatMap((e) => e.names));
  let out = user.map(line).join('');
  const own: HostEntry[] = [
    {ip: '127.0.0.1', names: ['localhost']},
    {ip: '::1', names: ['localhost']},
  ];
  if (p.hostGatewayIp) own.push({ip: p.hostGatewayIp, names: ['host.containers.internal', 'host.docker.internal']});
  for (const ip of p.ownIps ?? []) {
    own.push({ip, names: [...new Set([p.hostname, ...(p.name ? [p.name] : [])])].filter(Boolean)});
  }
  if (p.network === 'none') {
    const names = [...new Set([p.hostname, ...(p.name ? [p.name] : [])])].filter(Boolean);
    own.push({ip: '127.0.0.1', names}, {ip: '::1', names});
  }
  for (const e of own) {
    const free = e.names.filter((n) => !taken.has(n));
    if (free.length) out += line({ip: e.ip, names: free});
  }
  return out;
}

export function generateHostname(hostname: string): string {
  return hostname + '\n';
}

interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolvConf(content: string): ResolvConf {
  const rc: ResolvConf = {nameservers: [], search: [], options: []};
  for (const raw of content.split('\n')) {
    const fields = raw.trim().split(/\s+/).filter(Boolean);
    if (fields.length === 0 || fields[0].startsWith('#') || fields[0].startsWith(';')) continue;
    const [key, ...rest] = fields;
    if (key === 'nameserver' && rest[0]) rc.nameservers.push(rest[0]);
    // The last search/domain line wins (resolv.conf(5)).
    else if (key === 'search' || key === 'domain') rc.search = rest;
    else if (key === 'options') rc.options.push(...rest);
  }
  return rc;
}

/** 127.0.0.0/8 or ::1 (also as an IPv4-mapped address), which cannot be reached from a private network namespace. */
export function isLoopback(ip: string): boolean {
  const bare = ip.replace(/%.*$/, '');
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (!net.isIPv6(bare)) return false;
  const lower = bare.toLowerCase();
  if (lower.startsWith('::ffff:') && net.isIPv4(lower.slice(7))) return lower.slice(7).startsWith('127.');
  return /^(0{0,4}:){2,7}0{0,3}1$/.test(lower) || lower === '::1';
}

export function generateResolvConf(p: ResolvParams): string {
  const overridden = (p.dns?.length ?? 0) > 0 || (p.dnsSearch?.length ?? 0) > 0 || (p.dnsOptions?.length ?? 0) > 0;
  if (p.network === 'host' && !overridden && p.hostResolvConf !== undefined) return p.hostResolvConf;
  const host = parseResolvConf(p.hostResolvConf ?? '');
  for (const ns of p.dns ?? []) if (net.isIP(ns.replace(/%.*$/, '')) === 0) throw invalidInput(`invalid --dns "${ns}": not an IP address`);
  let nameservers = p.dns?.length ? [...p.dns] : p.networkDns?.length ? [...p.networkDns] : host.nameservers;
  if (p.network !== 'host' && !p.dns?.length) {
    nameservers = nameservers.filter((ns) => !isLoopback(ns));
    if (p.leadingDns?.length) nameservers = [...p.leadingDns, ...nameservers.filter((ns) => !p.leadingDns!.includes(ns))];
    if (nameservers.length === 0) nameservers = [...DEFAULT_NAMESERVERS];
  }
  // podman adds "dns.podman" (aardvark-dns strips it) so short names resolve through the network's server.
  const viaNetwork = !p.dns?.length && (p.networkDns?.length ?? 0) > 0;
  const search = p.dnsSearch?.length ? p.dnsSearch : viaNetwork ? ['dns.podman', ...host.search] : host.search;
  const options = p.dnsOptions?.length ? p.dnsOptions : host.options;
  let out = '';
  if (search.length && search.join(' ').trim() !== '.') out += `search ${search.join(' ')}\n`;
  for (const ns of nameservers) out += `nameserver ${ns}\n`;
  if (options.length) out += `options ${options.join(' ')}\n`;
  return out;
}

export interface EtcFilesInput {
  hostname: string;
  name?: string;
  network: NetworkMode;
  addHosts?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  hostGatewayIp?: string;
  ownIps?: string[];
  networkDns?: string[];
  leadingDns?: string[];
}

export interface HostFiles {
  hosts: string;
  resolvConf: string;
  /** systemd-resolved's list of the real upstream servers, used when resolvConf names only its stub. */
  resolvedUpstream: string;
}

const DEFAULT_HOST_FILES: HostFiles = {hosts: '/etc/hosts', resolvConf: '/etc/resolv.conf', resolvedUpstream: '/run/systemd/resolve/resolv.conf'};

/** The container's hosts file: its own entries over the host's hosts file. */
export function containerHosts(input: Omit<HostsParams, 'baseHosts'>, hostFiles: HostFiles = DEFAULT_HOST_FILES): string {
  return generateHosts({...input, baseHosts: readTextIfExists(hostFiles.hosts)});
}

/** The host's resolv.conf as a private namespace should start from: systemd-resolved's upstream list when the file names only loopback servers. */
function hostResolvConfFor(network: NetworkMode, files: HostFiles): string | undefined {
  const main = readTextIfExists(files.resolvConf);
  if (network === 'host' || main === undefined) return main;
  const servers = parseResolvConf(main).nameservers;
  if (servers.length > 0 && servers.every(isLoopback)) return readTextIfExists(files.resolvedUpstream) ?? main;
  return main;
}

/**
 * Write hosts, hostname and resolv.conf into dir (created if missing),
 * each replaced atomically. Returns their paths, for the bind mounts.
 */
export function writeEtcFiles(dir: string, input: EtcFilesInput, hostFiles: HostFiles = DEFAULT_HOST_FILES): {hosts: string; hostname: string; resolvConf: string} {
  const hosts = containerHosts(input, hostFiles);
  const resolv = generateResolvConf({...input, hostResolvConf: hostResolvConfFor(input.network, hostFiles)});
  fs.mkdirSync(dir, {recursive: true, mode: 0o700});
  const out = {hosts: path.join(dir, 'hosts'), hostname: path.join(dir, 'hostname'), resolvConf: path.join(dir, 'resolv.conf')};
  writeFileAtomic(out.hosts, hosts, {mode: 0o644, fsync: false});
  writeFileAtomic(out.hostname, generateHostname(input.hostname), {mode: 0o644, fsync: false});
  writeFileAtomic(out.resolvConf, resolv, {mode: 0o644, fsync: false});
  return out;
}

/**
 * Rewrite hosts and resolv.conf of a container whose network was configured
 * after the runtime created it (its own user namespace): in place, because
 * the runtime already bind-mounted these inodes.
 */
export function rewriteNetworkEtcFiles(dir: string, input: EtcFilesInput, hostFiles: HostFiles = DEFAULT_HOST_FILES): void {
  fs.writeFileSync(path.join(dir, 'hosts'), containerHosts(input, hostFiles));
  fs.writeFileSync(path.join(dir, 'resolv.conf'), generateResolvConf({...input, hostResolvConf: hostResolvConfFor(input.network, hostFiles)}));
}

export interface KeepIdUser {
  name: string;
  uid: number;
  gid: number;
  /** The GECOS field of the user's host entry. */
  gecos: string;
  /** The home directory the container should see (keepIdHome). */
  home: string;
  /** The name of the user's primary group on the host. */
  groupName: string;
}

/**
 * --userns keep-id, as podman: when the image's /etc/passwd has no entry
 * for the user's uid, a copy with `name:*:uid:gid:gecos:home:/bin/sh`
 * appended; when /etc/group has no entry for the gid, a copy with
 * `group:x:gid:name` appended. Undefined for a file that needs no change
 * (or, for passwd, an image that has an entry of that name already).
 * Pure: file contents in, file contents out.
 */
export function keepIdEntries(files: {passwd?: string; group?: string}, u: KeepIdUser): {passwd?: string; group?: string} {
  const fields = (text: string | undefined) => (text ?? '').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => l.split(':'));
  const append = (text: string | undefined, line: string) => `${text ?? ''}${text && !text.endsWith('\n') ? '\n' : ''}${line}\n`;
  const pw = fields(files.passwd);
  const gr = fields(files.group);
  const out: {passwd?: string; group?: string} = {};
  if (!pw.some((f) => f[2] === String(u.uid) || f[0] === u.name)) out.passwd = append(files.passwd, `${u.name}:*:${u.uid}:${u.gid}:${u.gecos}:${u.home}:/bin/sh`);
  if (!gr.some((f) => f[2] === String(u.gid) || f[0] === u.groupName)) out.group = append(files.group, `${u.groupName}:x:${u.gid}:${u.name}`);
  return out;
}

/**
 * podman's home for the added entry: the user's host home directory when it
 * (or a directory above it, / excepted) is a mount destination in the
 * container, else the working directory.
 */
export function keepIdHome(hostHome: string, mountDestinations: string[], workingDir: string): string {
  const dests = new Set(mountDestinations.map((d) => path.posix.normalize(d).replace(/\/+$/, '') || '/'));
  for (let d = path.posix.normalize(hostHome); d !== '/' && d !== '.'; d = path.posix.dirname(d)) if (dests.has(d)) return hostHome;
  return workingDir || '/';
}

/** The host's passwd and group entries for uid/gid (the rootless user), with fallbacks when it has none. */
export function hostUserEntry(uid: number, gid: number, files = {passwd: '/etc/passwd', group: '/etc/group'}): {name: string; gecos: string; home: string; groupName: string} {
  const find = (file: string, id: number) => (readTextIfExists(file) ?? '').split('\n').map((l) => l.split(':')).find((f) => f.length >= 4 && f[2] === String(id));
  const pw = find(files.passwd, uid);
  const gr = find(files.group, gid);
  const name = pw?.[0] || process.env.USER || String(uid);
  return {name, gecos: pw?.[4] ?? '', home: pw?.[5] || process.env.HOME || '/', groupName: gr?.[0] || name};
}
