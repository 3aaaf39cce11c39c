/** podman's container inspect JSON (the fields scripts use), from a record. */
import type {ContainerRecord} from './store';
import type {Paths} from '../state/paths';
import {containerPaths} from './prepare';
import {portsMap} from '../network/ports';

/** podman 4.3's NetworkSettings: top-level address fields when there is one network, every network under Networks. */
export function networkSettings(rec: ContainerRecord) {
  const {config: c, state: s} = rec;
  const running = s.status === 'running' || s.status === 'paused' || s.status === 'stopping';
  const live = running ? s.net : undefined;
  const names = Object.keys(c.network.networks ?? {});
  const entry = (name: string) => {
    const a = live?.networks[name];
    return {
      EndpointID: '',
      Gateway: a?.gateway ?? '',
      IPAddress: a?.ip ?? '',
      IPPrefixLen: a?.prefixLen ?? 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      MacAddress: a?.mac ?? '',
      NetworkID: name,
      DriverOpts: null,
      IPAMConfig: null,
      Links: null,
      Aliases: [c.id.slice(0, 12), ...(c.network.networks?.[name]?.aliases ?? [])],
    };
  };
  const only = names.length === 1 ? entry(names[0]) : undefined;
  return {
    EndpointID: '',
    Gateway: only?.Gateway ?? '',
    IPAddress: only?.IPAddress ?? '',
    IPPrefixLen: only?.IPPrefixLen ?? 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    MacAddress: only?.MacAddress ?? '',
    Bridge: '',
    SandboxID: '',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: portsMap(live?.ports ?? c.ports ?? []),
    SandboxKey: live?.netns ?? '',
    ...(names.length ? {Networks: Object.fromEntries(names.map((n) => [n, entry(n)]))} : {}),
  };
}

export function inspectContainer(rec: ContainerRecord, paths: Paths, extra: {imageName?: string; volumeDir?: (name: string) => string} = {}) {
  const {config: c, state: s} = rec;
  const p = containerPaths(paths, c.id);
  const running = s.status === 'running' || s.status === 'paused' || s.status === 'stopping';
  return {
    Id: c.id,
    Created: c.created,
    Path: c.args[0],
    Args: c.args.slice(1),
    State: {
      OciVersion: '1.0.2',
      Status: s.status === 'stopping' ? 'stopping' : s.status,
      Running: s.status === 'running' || s.status === 'stopping',
      Paused: s.status === 'paused',
      Restarting: false,
      OOMKilled: s.oomKilled,
      Dead: false,
      Pid: running ? s.pid : 0,
      ConmonPid: running ? s.conmonPid : 0,
      ExitCode: s.exitCode,
      Error: s.error,
      StartedAt: s.startedAt || '0001-01-01T00:00:00Z',
      FinishedAt: s.finishedAt || '0001-01-01T00:00:00Z',
    },
    Image: c.image,
    ImageName: extra.imageName ?? c.imageName,
    Rootfs: '',
    ResolvConfPath: `${p.userdata}/resolv.conf`,
    HostnamePath: `${p.userdata}/hostname`,
    HostsPath: `${p.userdata}/hosts`,
    StaticDir: p.dir,
    OCIConfigPath: `${p.bundle}/config.json`,
    OCIRuntime: c.runtime,
    ConmonPidFile: c.conmonPidFile ?? `${p.bundle}/conmon.pid`,
    PidFile: c.pidFile ?? `${p.bundle}/pidfile`,
    Name: c.name,
    RestartCount: s.restartCount,
    Driver: c.storageDriver,
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: [] as string[],
    GraphDriver: {Name: c.storageDriver, Data: {UpperDir: p.upper, WorkDir: p.work, MergedDir: p.rootfs}},
    Mounts: c.mounts.map((m) => ({
      Type: m.type,
      ...(m.type === 'volume' ? {Name: m.name, Source: extra.volumeDir?.(m.name) ?? '', Driver: 'local'} : {Source: m.type === 'bind' ? m.source : '', Driver: ''}),
      Destination: m.destination,
      Mode: '',
      Options: m.options.filter((o) => o !== 'ro' && o !== 'rw'),
      RW: !m.options.includes('ro'),
      Propagation: m.type === 'bind' ? (m.options.find((o) => /^r?(private|shared|slave)$/.test(o)) ?? 'rprivate') : '',
    })),
    Dependencies: [] as string[],
    NetworkSettings: networkSettings(rec),
    Namespace: '',
    IsInfra: false,
    Config: {
      Hostname: c.hostname,
      Domainname: '',
      User: c.user,
      AttachStdin: c.interactive,
      AttachStdout: false,
      AttachStderr: false,
      Tty: c.tty,
      OpenStdin: c.interactive,
      StdinOnce: false,
      Env: c.env,
      Cmd: c.cmd,
      Image: c.imageName,
      Volumes: null,
      WorkingDir: c.workingDir,
      Entrypoint: c.entrypoint === null ? '' : c.entrypoint.join(' '),
      OnBuild: null,
      Labels: c.labels,
      Annotations: c.annotations,
      StopSignal: c.stopSignal,
      StopTimeout: c.stopTimeout,
      CreateCommand: [] as string[],
    },
    HostConfig: {
      Binds: c.mounts.filter((m) => m.type === 'bind' || m.type === 'volume').map((m) => `${m.type === 'bind' ? m.source : m.name}:${m.destination}${m.options.length ? ':' + m.options.join(',') : ''}`),
      CgroupManager: 'cgroupfs',
      CgroupMode: 'private',
      ContainerIDFile: c.cidFile ?? '',
      LogConfig: {Type: c.logDriver, Config: null, Path: c.logDriver === 'k8s-file' ? (c.logOpts.path ?? p.log) : '', Tag: c.logOpts.tag ?? '', Size: c.logOpts['max-size'] ?? '0B'},
      NetworkMode: c.network.mode === 'container' ? `container:${c.network.container}` : c.network.mode === 'ns' ? `ns:${c.network.path}` : c.network.mode,
      PortBindings: portsMap(c.ports ?? []),
      RestartPolicy: {Name: c.restart.name === 'no' ? '' : c.restart.name, MaximumRetryCount: c.restart.name === 'on-failure' ? c.restart.maxRetries : 0},
      AutoRemove: c.autoRemove,
      CapAdd: c.capAdd,
      CapDrop: c.capDrop,
      Dns: c.dns,
      DnsOptions: c.dnsOptions,
      DnsSearch: c.dnsSearch,
      ExtraHosts: c.addHosts,
      GroupAdd: c.groupAdd,
      Cgroups: c.cgroups === 'enabled' ? 'default' : 'disabled',
      CgroupParent: c.cgroupParent ?? '',
      Privileged: c.privileged,
      ReadonlyRootfs: c.readOnly,
      SecurityOpt: [...(c.seccomp !== 'default' ? [`seccomp=${c.seccomp}`] : []), ...(c.noNewPrivileges ? ['no-new-privileges'] : [])],
      Tmpfs: Object.fromEntries(c.mounts.filter((m) => m.type === 'tmpfs').map((m) => [m.destination, m.options.join(',')])),
      ShmSize: c.shmSize,
      Runtime: 'oci',
      Init: c.init,
      Memory: c.resources.memory ?? 0,
      MemorySwap: c.resources.memorySwap ?? 0,
      MemoryReservation: c.resources.memoryReservation ?? 0,
      NanoCpus: Math.round((c.resources.cpus ?? 0) * 1e9),
      CpuShares: c.resources.cpuShares ?? 0,
      CpusetCpus: c.resources.cpusetCpus ?? '',
      CpusetMems: c.resources.cpusetMems ?? '',
      PidsLimit: c.resources.pidsLimit ?? 0,
      Ulimits: c.ulimits.map((u) => ({Name: `RLIMIT_${u.name.toUpperCase()}`, Soft: u.soft, Hard: u.hard})),
      Devices: c.devices.map((d) => ({PathOnHost: d.hostPath, PathInContainer: d.containerPath, CgroupPermissions: d.permissions})),
    },
  };
}
