/** -p/--publish and -P: parsed into single-port mappings; host port 0 is chosen at start. */
import * as net from 'node:net';
import {invalidInput} from '../util/errors';
import type {PortMapping} from './types';

function portRange(s: string, spec: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw invalidInput(`invalid port format for --publish "${spec}": "${s}" is not a port or a range`);
  const a = Number(m[1]);
  const b = m[2] !== undefined ? Number(m[2]) : a;
  if (a < 1 || a > 65535 || b < 1 || b > 65535) throw invalidInput(`invalid port format for --publish "${spec}": port numbers must be between 1 and 65535`);
  if (b < a) throw invalidInput(`invalid port format for --publish "${spec}": range end is before its start`);
  return [a, b];
}

/** One -p value: [[ip:][hostPort]:]containerPort[/tcp|udp], ports may be ranges of equal length. */
export function parsePublish(spec: string): PortMapping[] {
  let rest = spec;
  let protocols: Array<'tcp' | 'udp'> = ['tcp'];
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    const list = p.split(',');
    if (list.some((x) => x !== 'tcp' && x !== 'udp')) throw invalidInput(`invalid port format for --publish "${spec}": unknown protocol "${p}" (tcp or udp)`);
    protocols = list as Array<'tcp' | 'udp'>;
  }
  let hostIp = '';
  let hostPart = '';
  let ctrPart: string;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(rest);
  if (v6) {
    throw invalidInput(`invalid port format for --publish "${spec}": IPv6 host addresses are not supported yet`);
  }
  const parts = rest.split(':');
  if (parts.length === 1) ctrPart = parts[0];
  else if (parts.length === 2) [hostPart, ctrPart] = parts;
  else if (parts.length === 3) [hostIp, hostPart, ctrPart] = parts;
  else throw invalidInput(`invalid port format for --publish "${spec}"`);
  if (hostIp && !net.isIPv4(hostIp)) throw invalidInput(`invalid port format for --publish "${spec}": "${hostIp}" is not an IPv4 address`);
  const [c0, c1] = portRange(ctrPart, spec);
  const out: PortMapping[] = [];
  let h0 = 0;
  if (hostPart !== '') {
    const [a, b] = portRange(hostPart, spec);
    if (b - a !== c1 - c0) throw invalidInput(`invalid port format for --publish "${spec}": host and container port ranges have different lengths`);
    h0 = a;
  }
  for (const protocol of protocols) {
    for (let i = 0; i <= c1 - c0; i++) out.push({hostIp, hostPort: h0 ? h0 + i : 0, containerPort: c0 + i, protocol});
  }
  return out;
}

/** -P: every EXPOSEd port of the image ("80/tcp") on a random host port. */
export function exposedPorts(exposed: Record<string, unknown> | undefined, extra: string[] = []): PortMapping[] {
  const out: PortMapping[] = [];
  for (const k of [...Object.keys(exposed ?? {}), ...extra]) {
    const [port, proto = 'tcp'] = k.split('/');
    const [a, b] = portRange(port, k);
    for (let p = a; p <= b; p++) out.push({hostIp: '', hostPort: 0, containerPort: p, protocol: proto === 'udp' ? 'udp' : 'tcp'});
  }
  return out;
}

export function checkDuplicates(ports: PortMapping[]): void {
  const seen = new Set<string>();
  for (const p of ports) {
    if (!p.hostPort) continue;
    const k = `${p.hostIp || '0.0.0.0'}:${p.hostPort}/${p.protocol}`;
    if (seen.has(k)) throw invalidInput(`host port ${p.hostPort}/${p.protocol} is published more than once`);
    seen.add(k);
  }
}

/** A free host port for each mapping without one (the kernel's choice, by binding port 0). */
export async function resolveHostPorts(ports: PortMapping[]): Promise<PortMapping[]> {
  const out: PortMapping[] = [];
  for (const p of ports) {
    if (p.hostPort) {
      out.push(p);
      continue;
    }
    out.push({...p, hostPort: await freePort(p.protocol, p.hostIp || '0.0.0.0')});
  }
  return out;
}

function freePort(protocol: 'tcp' | 'udp', host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    if (protocol === 'udp') {
      // Loaded here: node:dgram is not snapshot-safe, and only -p .../udp needs it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const dgram = require('node:dgram') as typeof import('node:dgram');
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, host, () => {
        const port = s.address().port;
        s.close(() => resolve(port));
      });
      return;
    }
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** podman's Ports map: "80/tcp" → [{HostIp, HostPort}]. */
export function portsMap(ports: PortMapping[]): Record<string, Array<{HostIp: string; HostPort: string}>> {
  const out: Record<string, Array<{HostIp: string; HostPort: string}>> = {};
  for (const p of ports) (out[`${p.containerPort}/${p.protocol}`] ??= []).push({HostIp: p.hostIp, HostPort: String(p.hostPort)});
  return out;
}

/** ps's PORTS column: "0.0.0.0:8080->80/tcp, ...". */
export function portsText(ports: PortMapping[]): string {
  return ports.map((p) => `${p.hostIp || '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ');
}

/** ps --format json's Ports entries (podman 4.3 field names). */
export function portsJson(ports: PortMapping[]) {
  return ports.map((p) => ({host_ip: p.hostIp, container_port: p.containerPort, host_port: p.hostPort, range: 1, protocol: p.protocol}));
}
