/** OCI runtime spec generation: buildSpec (pure) and the host readers that feed it. */
export {buildSpec, MASKED_PATHS, READONLY_PATHS, type ResolvedUser, type SpecInput} from './build';
export {ALL_CAPABILITIES, DEFAULT_CAPABILITIES, canonicalCapability, capabilitySets} from './capabilities';
export {DEFAULT_ALLOWED_DEVICES, type DeviceNode, type HostDevice, type ResolvedDevice} from './devices';
export {hostCapabilities, hostRlimits, listHostDevices, parseProcLimits, statDevice} from './host';
export {resolveMountRequest, type EtcFiles, type ResolvedMount} from './mounts';
export {serializeSpec, type OciSpec} from './oci-types';
export {DEFAULT_RLIMIT, type HostRlimits} from './rlimits';
export {convertSeccompProfile, goArch, type SeccompProfile, type SeccompTarget} from './seccomp';
export {loadSeccompProfile, SECCOMP_DEFAULT_PATH, SECCOMP_OVERRIDE_PATH} from './seccomp-load';
