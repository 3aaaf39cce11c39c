/**
 * From create/run flags and the image to the container record's config:
 * docker's entrypoint/command rules, environment, mounts, security and
 * resources, all validated here so a bad flag fails before anything is
 * written. Pure except for reading --env-file/--label-file and checking
 * that bind sources exist.
 */
import * as fs from 'node:fs';
import {randomBytes} from 'node:crypto';
import type {ImageConfig} from '../image/manifest';
import type {ContainerConfig, MountRequest, RestartPolicy} from './types';
import {
  checkDuplicateDestinations,
  checkSysctlNamespaces,
  normalizeCapabilities,
  parseCpus,
  parseDevice,
  parseEnvFile,
  parseLabelFile,
  parseLabels,
  parseLogOpt,
  parseMemoryFlags,
  parseMount,
  parseRestart,
  parseSecurityOpt,
  parseSize,
  parseStopSignal,
  parseSysctl,
  parseTmpfs,
  parseUlimit,
  parseVolume,
  resolveEnv,
} from './options';
import {invalidInput} from '../util/errors';
import {parsePublish, exposedPorts, checkDuplicates as checkPortDuplicates} from '../network/ports';
import type {NetworkRequest} from '../network/types';
import {parseSlirpOptions} from '../network/slirp-options';
import {parsePastaOptions} from '../network/pasta';
import {log} from '../util/log';
import {parseUserns} from '../rootless/keep-id';
import {rootlessIds} from '../rootless/userns';
import {autoSize, explicitMappings, rootlessExplicitMappings} from './idmap';

/** The create/run flags as parsed by oclif (see src/cli/create-flags.ts). */
export interface CreateFlags {
  name?: string;
  entrypoint?: string;
  env?: string[];
  'env-file'?: string[];
  workdir?: string;
  user?: string;
  'group-add'?: string[];
  hostname?: string;
  label?: string[];
  'label-file'?: string[];
  annotation?: string[];
  interactive?: boolean;
  tty?: boolean;
  volume?: string[];
  mount?: string[];
  tmpfs?: string[];
  'read-only'?: boolean;
  'read-only-tmpfs'?: boolean;
  'shm-size'?: string;
  'cap-add'?: string[];
  'cap-drop'?: string[];
  privileged?: boolean;
  'security-opt'?: string[];
  sysctl?: string[];
  device?: string[];
  memory?: string;
  'memory-swap'?: string;
  'memory-reservation'?: string;
  cpus?: string;
  'cpu-shares'?: number;
  'cpuset-cpus'?: string;
  'cpuset-mems'?: string;
  'pids-limit'?: number;
  ulimit?: string[];
  cgroups?: string;
  'cgroup-parent'?: string;
  userns?: string;
  uidmap?: string[];
  gidmap?: string[];
  network?: string[];
  net?: string[];
  ip?: string;
  'mac-address'?: string;
  'network-alias'?: string[];
  publish?: string[];
  'publish-all'?: boolean;
  expose?: string[];
  dns?: string[];
  'dns-search'?: string[];
  'dns-option'?: string[];
  'add-host'?: string[];
  rm?: boolean;
  init?: boolean;
  'stop-signal'?: string;
  'stop-timeout'?: number;
  restart?: string;
  cidfile?: string;
  pidfile?: string;
  'conmon-pidfile'?: string;
  sdnotify?: string;
  'log-driver'?: string;
  'log-opt'?: string[];
  runtime?: string;
}

export interface ConfigInput {
  flags: CreateFlags;
  /** Arguments after the image: the command. */
  command: string[];
  image: {id: string; name: string; config: ImageConfig};
  /** Mounts of --volumes-from containers, already resolved by the caller. */
  volumesFrom?: MountRequest[];
  cwd: string;
  hostEnv: Record<string, string | undefined>;
  defaults: {runtime: string; storageDriver: 'overlay' | 'vfs'; network?: string};
  name: string;
}

/** --entrypoint: a JSON array, or one string (the whole entrypoint); "" clears it. */
export function parseEntrypoint(s: string): string[] {
  const t = s.trim();
  if (t.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      throw invalidInput(`invalid --entrypoint ${JSON.stringify(s)}: not a valid JSON array`);
    }
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidInput(`invalid --entrypoint ${JSON.stringify(s)}: expected an array of strings`);
    return v as string[];
  }
  return s === '' ? [] : [s];
}

/**
 * Docker's rule: an --entrypoint replaces the image's ENTRYPOINT and drops
 * its CMD; arguments after the image replace CMD.
 */
export function processArgs(image: ImageConfig, entrypointFlag: string | undefined, command: string[]): {args: string[]; entrypoint: string[] | null; cmd: string[] | null} {
  const entrypoint = entrypointFlag !== undefined ? parseEntrypoint(entrypointFlag) : (image.config?.Entrypoint ?? null);
  const cmd = command.length > 0 ? command : entrypointFlag !== undefined ? null : (image.config?.Cmd ?? null);
  const args = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (args.length === 0) throw invalidInput('no command or entrypoint provided, and no CMD or ENTRYPOINT from image');
  return {args, entrypoint, cmd};
}

function readLines(files: string[] | undefined, parse: (text: string, file: string) => string[], what: string): string[][] {
  return (files ?? []).map((f) => {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (err) {
      throw invalidInput(`${what} ${f}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    return parse(text, f);
  });
}

function kv(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list ?? []) {
    const i = e.indexOf('=');
    if (i <= 0) throw invalidInput(`invalid ${flag} "${e}": expected KEY=VALUE`);
    out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

export function buildConfig(input: ConfigInput): ContainerConfig {
  const f = input.flags;
  const img = input.image.config;
  const id = randomBytes(32).toString('hex');
  const {args, entrypoint, cmd} = processArgs(img, f.entrypoint, input.command);

  const userEnv = resolveEnv(f.env ?? [], readLines(f['env-file'], (t, file) => parseEnvFile(t, file), '--env-file'), input.hostEnv);
  const env = mergeEnv(img.config?.Env ?? [], userEnv);

  const mounts: MountRequest[] = [
    ...(input.volumesFrom ?? []),
    ...(f.volume ?? []).map((v) => parseVolume(v, input.cwd)),
    ...(f.mount ?? []).map((m) => parseMount(m, input.cwd)),
    ...(f.tmpfs ?? []).map((t) => parseTmpfs(t)),
  ];
  // Image VOLUMEs not covered by a user mount become anonymous volumes (podman's default).
  for (const dest of Object.keys(img.config?.Volumes ?? {})) {
    if (!mounts.some((m) => m.destination === dest)) mounts.push({type: 'volume', name: '', destination: dest, options: [], anonymous: true});
  }
  checkDuplicateDestinations(mounts);

  const security = parseSecurityOpt(f['security-opt'] ?? []);
  for (const ig of security.ignored) log.warn(`--security-opt ${ig.option} ignored: ${ig.reason}`);
  const caps = normalizeCapabilities(f['cap-add'] ?? [], f['cap-drop'] ?? []);

  const netConfig = parseNetworkFlags(f, input.defaults.network ?? 'bridge');
  const network = netConfig.mode;
  const ports = [...(f.publish ?? []).flatMap((p) => parsePublish(p)), ...(f['publish-all'] ? exposedPorts(img.config?.ExposedPorts, f.expose ?? []) : [])];
  checkPortDuplicates(ports);
  if (ports.length && network !== 'bridge' && network !== 'slirp4netns' && network !== 'pasta') throw invalidInput(`published ports need a bridge, slirp4netns or pasta network, not --network ${network}`);

  const sysctls = parseSysctl(f.sysctl ?? []);
  checkSysctlNamespaces(sysctls, {hostNetwork: network === 'host'});
  checkBindSources(mounts);

  const restart: RestartPolicy = parseRestart(f.restart ?? 'no');
  if (f.rm && restart.name !== 'no') throw invalidInput('the --rm option conflicts with --restart, when the restartPolicy is not "" and "no"');

  const logDriver = (f['log-driver'] ?? 'k8s-file') as ContainerConfig['logDriver'];
  const resources = {
    ...parseMemoryFlags({memory: f.memory, memorySwap: f['memory-swap'], memoryReservation: f['memory-reservation']}),
    ...(f.cpus !== undefined ? {cpus: parseCpus(f.cpus)} : {}),
    ...(f['cpu-shares'] !== undefined ? {cpuShares: f['cpu-shares']} : {}),
    ...(f['cpuset-cpus'] !== undefined ? {cpusetCpus: f['cpuset-cpus']} : {}),
    ...(f['cpuset-mems'] !== undefined ? {cpusetMems: f['cpuset-mems']} : {}),
    ...(f['pids-limit'] !== undefined ? {pidsLimit: f['pids-limit']} : {}),
  };
  const given = explicitMappings(f.uidmap ?? [], f.gidmap ?? []);
  const explicitMaps = given && rootlessIds() ? rootlessExplicitMappings(given) : given;
  if (explicitMaps && f.userns !== undefined && f.userns !== '' && f.userns !== 'host') throw invalidInput(`--userns=${f.userns} cannot be combined with --uidmap/--gidmap`);
  const userns = explicitMaps ? 'private' : parseUserns(f.userns);
  const idMappings = explicitMaps;
  // keep-id: the user's own ids inside, unless --user says otherwise (podman).
  const keepIdUser = userns === 'keep-id' ? `${rootlessIds()!.uid}:${rootlessIds()!.gid}` : undefined;
  const stopTimeout = f['stop-timeout'] ?? 10;
  if (stopTimeout < 0) throw invalidInput(`invalid --stop-timeout ${stopTimeout}: must not be negative`);

  return {
    id,
    name: input.name,
    created: new Date().toISOString(),
    image: input.image.id,
    imageName: input.image.name,
    args,
    entrypoint,
    cmd,
    env,
    workingDir: f.workdir ?? (img.config?.WorkingDir || '/'),
    user: f.user ?? keepIdUser ?? img.config?.User ?? '',
    groupAdd: f['group-add'] ?? [],
    hostname: f.hostname ?? (network === 'host' ? '' : id.slice(0, 12)),
    labels: {...(img.config?.Labels ?? {}), ...parseLabels(f.label ?? [], readLines(f['label-file'], (t) => parseLabelFile(t), '--label-file'))},
    annotations: kv(f.annotation, '--annotation'),
    tty: f.tty ?? false,
    interactive: f.interactive ?? false,
    mounts,
    readOnly: f['read-only'] ?? false,
    ...(userns ? {userns} : {}),
    ...(idMappings ? {idMappings} : {}),
    ...(userns === 'auto' ? {autoUsernsSize: autoSize(f.userns ?? 'auto')} : {}),
    readOnlyTmpfs: f['read-only-tmpfs'] ?? true,
    shmSize: parseSize(f['shm-size'] ?? '64m', 'shm-size'),
    capAdd: caps.add,
    capDrop: caps.drop,
    privileged: f.privileged ?? false,
    seccomp: security.seccomp ?? 'default',
    noNewPrivileges: security.noNewPrivileges ?? false,
    sysctls,
    devices: (f.device ?? []).map((d) => parseDevice(d)),
    resources,
    ulimits: (f.ulimit ?? []).map((u) => parseUlimit(u)),
    cgroups: (f.cgroups ?? 'enabled') as 'enabled' | 'disabled',
    cgroupParent: f['cgroup-parent'],
    network: netConfig,
    ports,
    dns: f.dns ?? [],
    dnsSearch: f['dns-search'] ?? [],
    dnsOptions: f['dns-option'] ?? [],
    addHosts: f['add-host'] ?? [],
    autoRemove: f.rm ?? false,
    init: f.init ?? false,
    stopSignal: parseStopSignal(f['stop-signal'] ?? img.config?.StopSignal ?? 'SIGTERM'),
    stopTimeout,
    restart,
    logDriver,
    logOpts: parseLogOpt(f['log-opt'] ?? []),
    sdnotify: (f.sdnotify ?? 'container') as ContainerConfig['sdnotify'],
    pidFile: f.pidfile,
    conmonPidFile: f['conmon-pidfile'],
    cidFile: f.cidfile,
    runtime: f.runtime ?? input.defaults.runtime,
    storageDriver: input.defaults.storageDriver,
  };
}

/** podman stats bind sources at create: a missing host path fails then, not at start. */
export function checkBindSources(mounts: readonly MountRequest[]): void {
  for (const m of mounts) {
    if (m.type === 'bind' && !fs.existsSync(m.source)) throw invalidInput(`statfs ${m.source}: no such file or directory`);
  }
}

/** Image env first, user env overriding by name. */
export function mergeEnv(base: string[], over: string[]): string[] {
  const m = new Map<string, string>();
  for (const e of [...base, ...over]) {
    const i = e.indexOf('=');
    m.set(i < 0 ? e : e.slice(0, i), e);
  }
  return [...m.values()];
}

const MAC_RE = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/**
 * --network (repeatable, comma-separated), --ip, --mac-address, --network-alias.
 * A network may carry its own options: NAME:ip=IP,mac=MAC,alias=NAME.
 */
export function parseNetworkFlags(f: CreateFlags, defaultMode: string): ContainerConfig['network'] {
  const given = [...(f.network ?? []), ...(f.net ?? [])];
  // "a,b" lists networks, but "a:ip=x,mac=y" keeps its options together.
  const values: string[] = [];
  for (const v of given.length ? given : [defaultMode]) {
    // slirp4netns:a=1,b=2 and pasta:-t,80 keep their options together.
    if (/^(slirp4netns|pasta)(:|$)/.test(v)) {
      values.push(v);
      continue;
    }
    for (const part of v.split(',')) {
      if (values.length && /^(ip|ip6|mac|alias|interface_name)=/.test(part)) values[values.length - 1] += ',' + part;
      else values.push(part);
    }
  }
  const special = values.filter((v) => v === 'none' || v === 'host' || v === 'private' || /^(slirp4netns|pasta)(:|$)/.test(v) || v.startsWith('container:') || v.startsWith('ns:'));
  if (special.length && values.length > 1) throw invalidInput(`--network ${special[0]} cannot be combined with other networks`);
  const one = special[0];
  const noNet = (what: string) => {
    if (f.ip || f['mac-address'] || f['network-alias']?.length) throw invalidInput(`--ip, --mac-address and --network-alias need a bridge network, not --network ${what}`);
  };
  if (one !== undefined && /^slirp4netns(:|$)/.test(one)) {
    noNet('slirp4netns');
    return {mode: 'slirp4netns', slirp: parseSlirpOptions(one.slice('slirp4netns:'.length))};
  }
  if (one !== undefined && /^pasta(:|$)/.test(one)) {
    noNet('pasta');
    return {mode: 'pasta', pasta: parsePastaOptions(one.slice('pasta:'.length))};
  }
  if (one === 'none' || one === 'host') {
    noNet(one);
    return {mode: one};
  }
  if (one?.startsWith('container:')) {
    noNet(one);
    if (one.length === 10) throw invalidInput('--network container: needs a container name or ID');
    return {mode: 'container', container: one.slice(10)};
  }
  if (one?.startsWith('ns:')) {
    noNet(one);
    if (one.length === 3) throw invalidInput('--network ns: needs a path');
    return {mode: 'ns', path: one.slice(3)};
  }
  const networks: Record<string, NetworkRequest> = {};
  for (const v of values.map((x) => (x === 'private' ? 'bridge' : x))) {
    const i = v.indexOf(':');
    const name = i < 0 ? v : v.slice(0, i);
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw invalidInput(`invalid network name "${name}"`);
    const req: NetworkRequest = {};
    for (const opt of i < 0 ? [] : v.slice(i + 1).split(',')) {
      const [k, val = ''] = [opt.slice(0, opt.indexOf('=') < 0 ? opt.length : opt.indexOf('=')), opt.slice(opt.indexOf('=') + 1)];
      if (k === 'ip') (req.ips ??= []).push(checkIp(val));
      else if (k === 'mac') req.mac = checkMac(val);
      else if (k === 'alias') (req.aliases ??= []).push(val);
      else throw invalidInput(`unknown option "${k}" for network ${name}: use ip, mac or alias`);
    }
    if (networks[name]) throw invalidInput(`network ${name} is given more than once`);
    networks[name] = req;
  }
  const names = Object.keys(networks);
  if ((f.ip || f['mac-address']) && names.length > 1) throw invalidInput('--ip and --mac-address need exactly one network: use NAME:ip=IP,mac=MAC for several');
  const first = networks[names[0]];
  if (f.ip) (first.ips ??= []).push(checkIp(f.ip));
  if (f['mac-address']) first.mac = checkMac(f['mac-address']);
  for (const a of f['network-alias'] ?? []) for (const n of names) (networks[n].aliases ??= []).push(a);
  return {mode: 'bridge', networks};
}

function checkIp(ip: string): string {
  if (!IPV4_RE.test(ip)) throw invalidInput(`invalid IP address "${ip}": only IPv4 addresses are supported`);
  return ip;
}

function checkMac(mac: string): string {
  if (!MAC_RE.test(mac)) throw invalidInput(`invalid MAC address "${mac}"`);
  return mac.toLowerCase();
}
