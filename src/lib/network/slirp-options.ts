/**
 * `--network slirp4netns[:OPTIONS]`: podman's options (containers.conf
 * network_cmd_options), parsed and checked at create. Pure.
 *
 *   allow_host_loopback=true|false  10.0.2.2 reaches the host's 127.0.0.1 (default false)
 *   cidr=CIDR                       the guest network (default 10.0.2.0/24)
 *   enable_ipv6=true|false          IPv6 inside (fd00::/64; default true, as podman 4)
 *   mtu=N                           (default 65520)
 *   outbound_addr=IPv4|IFACE        source address of outgoing connections
 *   outbound_addr6=IPv6|IFACE
 *   port_handler=slirp4netns        rootlesskit's port handler is not available in skiff
 */
import * as net from 'node:net';
import * as os from 'node:os';
import {invalidInput} from '../util/errors';
import {numToIp, parseCidr} from './ipnet';

export interface SlirpOptions {
  allowHostLoopback: boolean;
  cidr?: string;
  enableIpv6: boolean;
  mtu: number;
  outboundAddr?: string;
  outboundAddr6?: string;
}

export const SLIRP_DEFAULT_MTU = 65520;

export function defaultSlirpOptions(): SlirpOptions {
  return {allowHostLoopback: false, enableIpv6: true, mtu: SLIRP_DEFAULT_MTU};
}

function bool(k: string, v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalidInput(`invalid value "${v}" for slirp4netns option ${k}: use true or false`);
}

/** The part after "slirp4netns:" (comma-separated KEY=VALUE; empty for none). */
export function parseSlirpOptions(text: string): SlirpOptions {
  const o = defaultSlirpOptions();
  for (const opt of text ? text.split(',') : []) {
    const i = opt.indexOf('=');
    const k = i < 0 ? opt : opt.slice(0, i);
    const v = i < 0 ? '' : opt.slice(i + 1);
    if (i < 0 || v === '') throw invalidInput(`invalid slirp4netns option "${opt}": expected KEY=VALUE`);
    switch (k) {
      case 'allow_host_loopback':
        o.allowHostLoopback = bool(k, v);
        break;
      case 'enable_ipv6':
        o.enableIpv6 = bool(k, v);
        break;
      case 'cidr': {
        const c = parseCidr(v, 'slirp4netns cidr');
        if (c.prefix < 1 || c.prefix > 25) throw invalidInput(`invalid slirp4netns cidr "${v}": the prefix length must be between 1 and 25`);
        o.cidr = `${numToIp(c.base)}/${c.prefix}`;
        break;
      }
      case 'mtu': {
        const n = /^\d+$/.test(v) ? Number(v) : NaN;
        if (!(n >= 68 && n <= 65521)) throw invalidInput(`invalid slirp4netns mtu "${v}": must be between 68 and 65521`);
        o.mtu = n;
        break;
      }
      case 'outbound_addr':
        o.outboundAddr = outbound(v, 4);
        break;
      case 'outbound_addr6':
        o.outboundAddr6 = outbound(v, 6);
        break;
      case 'port_handler':
        if (v === 'rootlesskit') throw invalidInput('slirp4netns option port_handler=rootlesskit is not available in skiff: use port_handler=slirp4netns (the default)');
        if (v !== 'slirp4netns') throw invalidInput(`invalid slirp4netns port_handler "${v}": use slirp4netns`);
        break;
      default:
        throw invalidInput(`unknown slirp4netns option "${k}": use allow_host_loopback, cidr, enable_ipv6, mtu, outbound_addr, outbound_addr6 or port_handler`);
    }
  }
  if (o.outboundAddr6 && !o.enableIpv6) throw invalidInput('slirp4netns option outbound_addr6 needs enable_ipv6=true');
  return o;
}

/** An address, or an interface name resolved to its first address of that family (as podman). */
function outbound(v: string, family: 4 | 6): string {
  if (net.isIP(v) === family) return v;
  if (net.isIP(v) !== 0) throw invalidInput(`invalid slirp4netns outbound_addr${family === 6 ? '6' : ''} "${v}": not an IPv${family} address`);
  const addrs = os.networkInterfaces()[v];
  if (!addrs) throw invalidInput(`invalid slirp4netns outbound_addr${family === 6 ? '6' : ''} "${v}": no such address or interface`);
  const a = addrs.find((x) => (family === 4 ? x.family === 'IPv4' : x.family === 'IPv6' && !x.address.startsWith('fe80')));
  if (!a) throw invalidInput(`interface ${v} has no IPv${family} address for slirp4netns outbound_addr${family === 6 ? '6' : ''}`);
  return a.address;
}

/** The guest network's fixed addresses: the container at .100, the host (gateway) at .2, DNS at .3. */
export function slirpAddresses(cidr = '10.0.2.0/24'): {ip: string; gateway: string; dns: string; prefixLen: number} {
  const c = parseCidr(cidr);
  return {ip: numToIp(c.base + 100), gateway: numToIp(c.base + 2), dns: numToIp(c.base + 3), prefixLen: c.prefix};
}
