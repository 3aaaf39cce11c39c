/**
 * Device nodes and the device cgroup allow-list. Unprivileged containers
 * start from "deny everything" (podman adds the rule `a *:* rwm` deny) and
 * get the character devices every container needs, the same list runc and
 * crun allow on their own (libcontainer/specconv AllowedDevices): null,
 * zero, full, random, urandom, tty, ptmx and the devpts ptys. --device
 * entries add a node and an allow rule with the requested access.
 * --privileged gets every host device node and an allow-all rule.
 */
import type {OciDevice, OciDeviceRule} from './oci-types';

/** A host device node, already stat'ed (see host.ts statDevice). */
export interface DeviceNode {
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** A --device entry resolved on the host. */
export interface ResolvedDevice {
  containerPath: string;
  permissions: string;
  node: DeviceNode;
}

/** A host device for --privileged: path inside and outside are the same. */
export interface HostDevice extends DeviceNode {
  path: string;
}

export const DEFAULT_ALLOWED_DEVICES: readonly OciDeviceRule[] = [
  {allow: true, type: 'c', major: 1, minor: 3, access: 'rwm'}, // null
  {allow: true, type: 'c', major: 1, minor: 5, access: 'rwm'}, // zero
  {allow: true, type: 'c', major: 1, minor: 7, access: 'rwm'}, // full
  {allow: true, type: 'c', major: 1, minor: 8, access: 'rwm'}, // random
  {allow: true, type: 'c', major: 1, minor: 9, access: 'rwm'}, // urandom
  {allow: true, type: 'c', major: 5, minor: 0, access: 'rwm'}, // tty
  {allow: true, type: 'c', major: 5, minor: 2, access: 'rwm'}, // ptmx
  {allow: true, type: 'c', major: 136, access: 'rwm'}, // pts/*
];

export function buildDevices(
  privileged: boolean,
  requested: readonly ResolvedDevice[],
  hostDevices: readonly HostDevice[],
): {devices: OciDevice[]; rules: OciDeviceRule[]} {
  const devices = new Map<string, OciDevice>();
  let rules: OciDeviceRule[];
  if (privileged) {
    for (const d of hostDevices) devices.set(d.path, {path: d.path, type: d.type, major: d.major, minor: d.minor, fileMode: d.fileMode, uid: d.uid, gid: d.gid});
    rules = [{allow: true, access: 'rwm'}];
  } else {
    rules = [{allow: false, access: 'rwm'}, ...DEFAULT_ALLOWED_DEVICES.map((r) => ({...r}))];
  }
  for (const r of requested) {
    const n = r.node;
    devices.set(r.containerPath, {path: r.containerPath, type: n.type, major: n.major, minor: n.minor, fileMode: n.fileMode, uid: n.uid, gid: n.gid});
    if (!privileged) rules.push({allow: true, type: n.type, major: n.major, minor: n.minor, access: r.permissions});
  }
  return {devices: [...devices.values()], rules};
}
