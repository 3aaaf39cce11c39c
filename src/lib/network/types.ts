/**
 * Network records (root/networks/<name>.json), in podman 4's network JSON
 * shape (the netavark format, which `podman network inspect` prints), and
 * what a container asked for and got on each network.
 */

export interface Subnet {
  subnet: string;
  gateway: string;
  lease_range?: {start_ip: string; end_ip: string};
}

export interface NetworkRecord {
  name: string;
  id: string;
  driver: 'bridge' | 'macvlan';
  network_interface: string;
  created: string;
  subnets: Subnet[];
  ipv6_enabled: boolean;
  internal: boolean;
  dns_enabled: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  ipam_options: {driver: string};
}

/** A container's request on one network (--network NAME:opts, --ip, --mac-address, --network-alias). */
export interface NetworkRequest {
  ips?: string[];
  mac?: string;
  aliases?: string[];
}

export interface PortMapping {
  hostIp: string;
  /** 0 = pick a free port at start. */
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

/** What CNI ADD gave a container on one network. */
export interface NetworkAttachment {
  interface: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  aliases: string[];
  /** The CNI result, passed back as prevResult to DEL and CHECK. */
  result: unknown;
  /** The conflist ADD ran, so DEL runs the same plugins even if the record changed or went. */
  conflist?: unknown;
}

/** A running container's network state (ContainerState.net). */
export interface ContainerNetState {
  /** The bind-mounted network namespace (runroot/netns/<id>), created by skiff. */
  netns: string;
  networks: Record<string, NetworkAttachment>;
  /** Published ports with host ports resolved. */
  ports: PortMapping[];
  /** Networks whose ADD began but whose result is not recorded yet (a crash there is undone by DEL without a result). */
  pending?: Record<string, {ifname: string; conflist: unknown}>;
  /** --network slirp4netns: the process serving the namespace (stopped at teardown). */
  slirp?: import('./slirp').SlirpState;
  /** --network pasta: likewise. */
  pasta?: import('./pasta').PastaState;
}
