/**
 * Linux capability names and the sets a container process gets, as podman
 * computes them (pkg/specgen/generate/security_linux.go):
 *
 * - the base set is containers.conf's default_capabilities (containers/common
 *   pkg/config/default.go DefaultCapabilities), plus --cap-add, minus
 *   --cap-drop; "ALL" in add starts from every capability, "ALL" in drop
 *   from none (then the explicit adds);
 * - --privileged gets every capability the engine itself holds;
 * - everything is intersected with the engine's own bounding set, because
 *   the runtime cannot grant a capability it does not have;
 * - uid 0: bounding = effective = permitted = that set, inheritable and
 *   ambient empty (as the kernel does for root);
 * - any other uid (even with --privileged): bounding is the set, but effective, permitted,
 *   inheritable and ambient hold only the explicitly added capabilities, so
 *   a non-root process keeps exactly what the user asked for across execve.
 */

/** Every capability up to CAP_CHECKPOINT_RESTORE (40), in number order. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** containers/common DefaultCapabilities (and Debian's containers.conf default_capabilities). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETFCAP', 'CAP_SETGID',
  'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
];

/** "net_admin", "cap_net_admin", "NET_ADMIN" → "CAP_NET_ADMIN"; "all" → "ALL"; undefined for an unknown name. */
export function canonicalCapability(name: string): string | undefined {
  const up = name.trim().toUpperCase();
  if (up === 'ALL') return 'ALL';
  const full = up.startsWith('CAP_') ? up : 'CAP_' + up;
  return ALL_CAPABILITIES.includes(full) ? full : undefined;
}

/** Capabilities from a 64-bit mask (/proc/PID/status CapBnd, hex). */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt('0x' + hex.trim());
  return ALL_CAPABILITIES.filter((_c, i) => (mask >> BigInt(i)) & 1n);
}

export interface CapabilityRequest {
  /** Canonical names (CAP_*) or "ALL", as normalizeCapabilities returns them. */
  add: readonly string[];
  drop: readonly string[];
  privileged: boolean;
  uid: number;
  /** The engine's own bounding set; every capability when unknown. */
  hostBounding?: readonly string[];
}

export interface CapabilitySets {
  bounding: string[];
  effective: string[];
  inheritable: string[];
  permitted: string[];
  ambient: string[];
}

function inOrder(set: ReadonlySet<string>): string[] {
  return ALL_CAPABILITIES.filter((c) => set.has(c));
}

/**
 * podman's MergeCapabilities: drop ALL keeps only the adds; add ALL starts
 * from every capability and then drops; otherwise base ∪ add − drop.
 * (Conflicts such as the same name in add and drop are rejected earlier, by
 * normalizeCapabilities.)
 */
export function mergeCapabilities(base: readonly string[], add: readonly string[], drop: readonly string[]): Set<string> {
  if (drop.includes('ALL')) return new Set(add.filter((c) => c !== 'ALL'));
  const out = new Set<string>(add.includes('ALL') ? ALL_CAPABILITIES : base);
  for (const c of drop) out.delete(c);
  for (const c of add) if (c !== 'ALL') out.add(c);
  return out;
}

export function capabilitySets(req: CapabilityRequest): CapabilitySets {
  const host = new Set(req.hostBounding ?? ALL_CAPABILITIES);
  const chosen = req.privileged ? new Set(ALL_CAPABILITIES) : mergeCapabilities(DEFAULT_CAPABILITIES, req.add, req.drop);
  const bounding = inOrder(new Set([...chosen].filter((c) => host.has(c))));
  if (req.uid === 0) return {bounding, effective: [...bounding], permitted: [...bounding], inheritable: [], ambient: []};
  // Non-root: only what was explicitly added (podman: MergeCapabilities(nil, capAdd, nil)), within the host's set.
  const explicit = req.add.includes('ALL') ? ALL_CAPABILITIES : req.add;
  const user = inOrder(new Set(explicit.filter((c) => host.has(c))));
  return {bounding, effective: user, permitted: [...user], inheritable: [...user], ambient: [...user]};
}
