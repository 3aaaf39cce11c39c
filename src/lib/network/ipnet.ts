/** Small IPv4 subnet arithmetic for network configs (CIDR parse, overlap, gateway, host routes). */
import * as fs from 'node:fs';
import * as net from 'node:net';
import {invalidInput} from '../util/errors';

export interface Cidr {
  /** Network address as a 32-bit unsigned number. */
  base: number;
  prefix: number;
}

export function ipToNum(ip: string): number {
  const p = ip.split('.').map(Number);
  return ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3];
}

export function numToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const mask = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export function parseCidr(s: string, what = 'subnet'): Cidr {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m || !net.isIPv4(m[1]) || Number(m[2]) > 32) {
    if (/:/.test(s)) throw invalidInput(`${what} ${s}: IPv6 networks are not supported yet`);
    throw invalidInput(`invalid ${what} "${s}": expected an IPv4 CIDR such as 10.89.1.0/24`);
  }
  const prefix = Number(m[2]);
  return {base: (ipToNum(m[1]) & mask(prefix)) >>> 0, prefix};
}

export const formatCidr = (c: Cidr) => `${numToIp(c.base)}/${c.prefix}`;

export function contains(c: Cidr, ip: string): boolean {
  return net.isIPv4(ip) && ((ipToNum(ip) & mask(c.prefix)) >>> 0) === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

export const firstHost = (c: Cidr) => numToIp(c.base + 1);
export const lastHost = (c: Cidr) => numToIp((c.base | (~mask(c.prefix) >>> 0)) - 1);

/** IPv4 routes of the host (destination and device), from /proc/net/route; the default route is skipped. */
export function hostRoutes(): Array<{cidr: Cidr; dev: string}> {
  let text = '';
  try {
    text = fs.readFileSync('/proc/net/route', 'utf8');
  } catch {
    return [];
  }
  const out: Array<{cidr: Cidr; dev: string}> = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    // The hex fields are the network-order bytes printed as a host-order (little-endian) word.
    const le = (h: string) => Buffer.from(h, 'hex').readUInt32LE(0);
    const m = le(f[7]);
    if (m === 0) continue;
    let prefix = 0;
    for (let v = m; v; v >>>= 1) prefix += v & 1;
    out.push({cidr: {base: le(f[1]) >>> 0, prefix}, dev: f[0]});
  }
  return out;
}
