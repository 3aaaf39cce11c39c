/**
 * CNI: render a network record as a conflist and run its plugins the way
 * libcni does (the plugin binaries from containernetworking-plugins, with
 * CNI_COMMAND/CNI_CONTAINERID/CNI_NETNS/CNI_IFNAME/CNI_PATH in the
 * environment and the plugin's config on stdin). ADD runs the list in order,
 * feeding each plugin the previous result; DEL runs it in reverse with the
 * result ADD returned, and keeps going past errors so nothing is left
 * behind. runtimeConfig keys reach only plugins that declare the matching
 * capability, as in libcni.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {spawn, spawnSync} from 'node:child_process';
import type {NetworkRecord, PortMapping} from './types';
import {SkiffError, invalidInput} from '../util/errors';

export const CNI_VERSION = '1.0.0';

const PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin', '/usr/libexec/cni', '/usr/local/lib/cni'];

export function cniPath(env: NodeJS.ProcessEnv = process.env): string[] {
  return env.SKIFF_CNI_PATH ? env.SKIFF_CNI_PATH.split(':') : PLUGIN_DIRS;
}

function findPlugin(type: string, dirs: string[]): string {
  for (const d of dirs) {
    const p = path.join(d, type);
    if (fs.existsSync(p)) return p;
  }
  throw invalidInput(`CNI plugin "${type}" not found in ${dirs.join(':')}: install containernetworking-plugins`);
}

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: Array<Record<string, unknown> & {type: string}>;
}

/**
 * The conflist for a network: bridge (or macvlan) with host-local IPAM, then
 * portmap and tuning. No masquerade in the bridge plugin and no firewall
 * plugin: those rules are per network (firewall.ts), not per container.
 */
export function renderConflist(net: NetworkRecord, ipamDataDir: string): Conflist {
  const ranges = net.subnets.map((s) => [
    {
      subnet: s.subnet,
      gateway: s.gateway,
      ...(s.lease_range ? {rangeStart: s.lease_range.start_ip, rangeEnd: s.lease_range.end_ip} : {}),
    },
  ]);
  const ipam = {
    type: 'host-local',
    ...(net.internal ? {} : {routes: [{dst: '0.0.0.0/0'}]}),
    ranges,
    dataDir: ipamDataDir,
  };
  const plugins: Conflist['plugins'] = [];
  if (net.driver === 'macvlan') {
    plugins.push({type: 'macvlan', master: net.network_interface, ...(net.options.mode ? {mode: net.options.mode} : {}), ...(net.options.mtu ? {mtu: Number(net.options.mtu)} : {}), capabilities: {ips: true}, ipam});
  } else {
    plugins.push({
      type: 'bridge',
      bridge: net.network_interface,
      isGateway: true,
      ipMasq: false,
      hairpinMode: true,
      ...(net.options.mtu ? {mtu: Number(net.options.mtu)} : {}),
      ...(net.options.vlan ? {vlan: Number(net.options.vlan)} : {}),
      capabilities: {ips: true},
      ipam,
    });
    plugins.push({type: 'portmap', capabilities: {portMappings: true}});
  }
  plugins.push({type: 'tuning', capabilities: {mac: true}});
  return {cniVersion: CNI_VERSION, name: net.name, plugins};
}

/**
 * The list one container needs: portmap only when it publishes ports, tuning
 * only when it asks for a MAC address. Without those inputs both plugins
 * pass the result through on ADD, but each costs a process on ADD and on DEL,
 * and portmap's DEL runs iptables several times even with no port. The list
 * given to ADD is the one kept for DEL, so both always run the same plugins.
 */
export function trimConflist(list: Conflist, needs: {ports: boolean; mac: boolean}): Conflist {
  return {...list, plugins: list.plugins.filter((p) => !((p.type === 'portmap' && !needs.ports) || (p.type === 'tuning' && !needs.mac)))};
}

export interface CniRuntime {
  containerId: string;
  netns: string;
  ifname: string;
  /** runtimeConfig values, given to plugins that declare the capability. */
  runtimeConfig: {portMappings?: Array<{hostPort: number; containerPort: number; protocol: string; hostIP?: string}>; ips?: string[]; mac?: string};
  args?: Record<string, string>;
}

export class CniError extends SkiffError {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super('internal', message);
  }
}

function pluginStdin(list: Conflist, plugin: Conflist['plugins'][number], rt: CniRuntime, prevResult: unknown): string {
  const conf: Record<string, unknown> = {...plugin, name: list.name, cniVersion: list.cniVersion};
  const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rt.runtimeConfig)) if (caps[k] && v !== undefined && !(Array.isArray(v) && v.length === 0)) runtimeConfig[k] = v;
  delete conf.capabilities;
  if (Object.keys(runtimeConfig).length) conf.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined) conf.prevResult = prevResult;
  return JSON.stringify(conf);
}

/** util-linux setpriv (Debian: util-linux, like unshare), for --pdeathsig. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv'].find((p) => fs.existsSync(p));

interface PluginRun {
  cmd: string;
  argv: string[];
  input: string;
  env: NodeJS.ProcessEnv;
}

function pluginRun(command: 'ADD' | 'DEL' | 'CHECK', list: Conflist, plugin: Conflist['plugins'][number], rt: CniRuntime, prevResult: unknown): PluginRun {
  const dirs = cniPath();
  const bin = findPlugin(ipamDelegate(command, plugin, rt) ?? plugin.type, dirs);
  const args = {IgnoreUnknown: '1', ...(rt.args ?? {})};
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt.containerId,
    CNI_NETNS: rt.netns,
    CNI_IFNAME: rt.ifname,
    CNI_PATH: dirs.join(':'),
    CNI_ARGS: Object.entries(args).map(([k, v]) => `${k}=${v}`).join(';'),
    // The plugins are short single-task Go programs: one P starts fewer threads (~20% less CPU per run here).
    GOMAXPROCS: '1',
  };
  // A plugin must not outlive a killed skiff: an orphaned ADD finishing after
  // the cleanup's DEL would leave a lease and masquerade rules nothing records.
  // A DEL left running only finishes the release, so it runs without the wrapper.
  const [cmd, argv] = SETPRIV && command !== 'DEL' ? [SETPRIV, ['--pdeathsig', 'KILL', '--', bin]] : [bin, []];
  return {cmd, argv, input: pluginStdin(list, plugin, rt, prevResult), env};
}

/**
 * DEL without a namespace (CNI_NETNS empty: the runtime says it is gone) of
 * a bridge or macvlan plugin with IPAM: all such a plugin does (bridge and
 * macvlan 1.1's cmdDel) is to exec its IPAM plugin with the same stdin and
 * environment, so skiff execs that plugin itself and saves a Go program's
 * start. Returns the plugin type to run instead, if any.
 */
function ipamDelegate(command: 'ADD' | 'DEL' | 'CHECK', plugin: Conflist['plugins'][number], rt: CniRuntime): string | undefined {
  if (command !== 'DEL' || rt.netns !== '' || (plugin.type !== 'bridge' && plugin.type !== 'macvlan')) return undefined;
  const ipamType = (plugin.ipam as {type?: unknown} | undefined)?.type;
  return typeof ipamType === 'string' && /^[a-zA-Z0-9_.-]+$/.test(ipamType) ? ipamType : undefined;
}

/** The plugin's answer: the error CNI's JSON names, else its result (ADD) or the previous one. */
function pluginOutcome(command: 'ADD' | 'DEL' | 'CHECK', list: Conflist, plugin: Conflist['plugins'][number], prevResult: unknown, r: {error?: Error; status: number | null; stdout: string; stderr: string}): unknown {
  if (r.error) throw new CniError(`CNI plugin ${plugin.type} ${command}: ${r.error.message}`);
  if (r.status !== 0) {
    let msg = (r.stderr || r.stdout || '').trim();
    let code: number | undefined;
    try {
      const e = JSON.parse(r.stdout) as {code?: number; msg?: string; details?: string};
      code = e.code;
      msg = [e.msg, e.details].filter(Boolean).join(': ');
    } catch {
      /* not JSON */
    }
    throw new CniError(`CNI plugin ${plugin.type} ${command} on network ${list.name} failed: ${msg || `exit status ${r.status}`}`, code);
  }
  if (command !== 'ADD') return prevResult;
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new CniError(`CNI plugin ${plugin.type} ADD returned no JSON result`);
  }
}

const PLUGIN_TIMEOUT_MS = 60_000;

function execPlugin(command: 'ADD' | 'DEL' | 'CHECK', list: Conflist, plugin: Conflist['plugins'][number], rt: CniRuntime, prevResult: unknown): unknown {
  const run = pluginRun(command, list, plugin, rt, prevResult);
  const r = spawnSync(run.cmd, run.argv, {input: run.input, env: run.env, encoding: 'utf8', timeout: PLUGIN_TIMEOUT_MS});
  return pluginOutcome(command, list, plugin, prevResult, r);
}

/**
 * The same as execPlugin without blocking the event loop, so the caller can
 * go on with other work (the container's mounts and `runc create`) while the
 * plugin runs.
 */
function execPluginAsync(command: 'ADD' | 'DEL', list: Conflist, plugin: Conflist['plugins'][number], rt: CniRuntime, prevResult: unknown): Promise<unknown> {
  let run: PluginRun;
  try {
    run = pluginRun(command, list, plugin, rt, prevResult);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(run.cmd, run.argv, {env: run.env, stdio: ['pipe', 'pipe', 'pipe'], timeout: PLUGIN_TIMEOUT_MS});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let spawnError: Error | undefined;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      spawnError = e;
      // Never started: no 'close' is guaranteed to follow.
      if (child.pid === undefined) reject(new CniError(`CNI plugin ${plugin.type} ${command}: ${e.message}`));
    });
    // A plugin that exits without reading all of its stdin is judged by its status, not by EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(run.input);
    child.on('close', (status, signal) => {
      try {
        const error = spawnError ?? (signal ? new Error(`killed by ${signal}`) : undefined);
        resolve(pluginOutcome(command, list, plugin, prevResult, {error, status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8')}));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** ADD through the whole list; on a failure the plugins already run are undone (DEL) before the error is thrown. */
export async function cniAdd(list: Conflist, rt: CniRuntime): Promise<unknown> {
  let result: unknown;
  for (const plugin of list.plugins) {
    try {
      result = await execPluginAsync('ADD', list, plugin, rt, result);
    } catch (err) {
      cniDel(list, rt, result);
      throw err;
    }
  }
  return result;
}

/** DEL in reverse order; every plugin runs even if an earlier one failed. Returns the errors. */
export function cniDel(list: Conflist, rt: CniRuntime, prevResult: unknown): Error[] {
  const errors: Error[] = [];
  for (const plugin of [...list.plugins].reverse()) {
    try {
      execPlugin('DEL', list, plugin, rt, prevResult);
    } catch (err) {
      errors.push(err as Error);
    }
  }
  return errors;
}

export function cniCheck(list: Conflist, rt: CniRuntime, prevResult: unknown): void {
  for (const plugin of list.plugins) execPlugin('CHECK', list, plugin, rt, prevResult);
}

/** podman's runtimeConfig portMappings from the container's published ports. */
export function portMappingsFor(ports: PortMapping[]): CniRuntime['runtimeConfig']['portMappings'] {
  return ports.map((p) => ({hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, ...(p.hostIp ? {hostIP: p.hostIp} : {})}));
}

/** A list recorded by a skiff whose ADD made per-container rules (bridge ipMasq, the firewall plugin): its DEL needs purgeMasquerade. */
export function isLegacyConflist(list: Conflist): boolean {
  return list.plugins.some((p) => p.type === 'firewall' || (p.type === 'bridge' && p.ipMasq === true));
}

/**
 * Only for records of older skiff versions (isLegacyConflist). The bridge plugin finds the addresses whose masquerade rules it removes
 * on the container's interface, so a DEL after the namespace vanished (a
 * reboot, a runroot removed), or after an ADD killed between creating its
 * chain and adding the POSTROUTING jump, leaves rules behind. After every
 * DEL: remove the nat POSTROUTING rules whose comment names this container
 * (on this network, when given) and the CNI-<hash> chains holding such rules.
 */
export function purgeMasquerade(containerId: string, network?: string): void {
  const dump = spawnSync('iptables-save', ['-t', 'nat'], {encoding: 'utf8'});
  if (dump.status !== 0) return;
  const tag = network ? `name: \\"${network}\\" id: \\"${containerId}\\"` : `id: \\"${containerId}\\"`;
  const lines = dump.stdout.split('\n').filter((l) => l.startsWith('-A ') && l.includes(tag));
  if (lines.length === 0) return;
  const chains = new Set<string>();
  for (const l of lines) {
    const chain = l.split(' ')[1];
    if (chain === 'POSTROUTING') {
      const target = / -j (CNI-[0-9a-f]{24})$/.exec(l)?.[1];
      if (target) chains.add(target);
      spawnSync('iptables', ['-w', '-t', 'nat', '-D', ...splitRule(l.slice(3))]);
    } else if (/^CNI-[0-9a-f]{24}$/.test(chain)) chains.add(chain);
  }
  for (const c of chains) {
    spawnSync('iptables', ['-w', '-t', 'nat', '-F', c]);
    spawnSync('iptables', ['-w', '-t', 'nat', '-X', c]);
  }
}

/** iptables-save rule text → argv (double-quoted fields with \" escapes). */
function splitRule(rule: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m;
  while ((m = re.exec(rule))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
  return out;
}
