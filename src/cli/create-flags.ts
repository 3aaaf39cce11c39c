/**
 * The flags `create` and `run` share (podman's names, shorthands and
 * defaults), defined once so both commands, their help and their man pages
 * agree.
 */
import {Flags} from './params';
import {bool, multi} from './flags';

export const createFlags = {
  // identity and process
  name: Flags.string({description: 'assign a name to the container'}),
  replace: Flags.boolean({description: 'if a container with the same name exists, replace it'}),
  entrypoint: Flags.string({description: 'overwrite the default ENTRYPOINT of the image (a string or a JSON array)'}),
  env: multi({char: 'e', description: 'set environment variables (NAME=VALUE, or NAME to copy it from the host)'}),
  'env-file': multi({description: 'read in a file of environment variables'}),
  workdir: Flags.string({char: 'w', description: 'working directory inside the container'}),
  user: Flags.string({char: 'u', description: 'username or UID (format: <name|uid>[:<group|gid>])'}),
  'group-add': multi({description: 'add additional groups to the primary container process'}),
  hostname: Flags.string({char: 'h', description: 'set container hostname'}),
  label: multi({char: 'l', description: 'set metadata on the container (KEY=VALUE)'}),
  'label-file': multi({description: 'read in a line delimited file of labels'}),
  annotation: multi({description: 'add an annotation to the container (KEY=VALUE)'}),
  interactive: Flags.boolean({char: 'i', description: 'keep STDIN open even if not attached'}),
  tty: Flags.boolean({char: 't', description: 'allocate a pseudo-TTY for the container'}),
  pull: Flags.string({description: 'pull image policy', options: ['always', 'missing', 'never', 'newer'], default: 'missing'}),
  platform: Flags.string({description: 'pull the image for this OS/ARCH[/VARIANT] when pulling'}),
  'tls-verify': bool({description: 'require HTTPS and verify certificates when pulling'}),
  // storage
  volume: multi({char: 'v', description: 'bind mount a volume into the container (HOST-DIR|VOLUME:CONTAINER-DIR[:OPTIONS])'}),
  mount: multi({description: 'attach a filesystem mount to the container (type=bind|volume|tmpfs,...)'}),
  tmpfs: multi({description: 'mount a temporary filesystem (CONTAINER-DIR[:OPTIONS])'}),
  'read-only': Flags.boolean({description: 'make the container root filesystem read-only'}),
  'read-only-tmpfs': bool({description: 'when running --read-only, mount tmpfs on /run, /tmp and /var/tmp', default: true}),
  'shm-size': Flags.string({description: 'size of /dev/shm (format: <number>[<unit>], unit = b, k, m or g)', default: '64m'}),
  'volumes-from': multi({description: 'mount volumes from the specified container(s) (CONTAINER[:ro|rw])'}),
  // security
  'cap-add': multi({description: 'add capabilities to the container'}),
  'cap-drop': multi({description: 'drop capabilities from the container'}),
  privileged: Flags.boolean({description: 'give extended privileges to the container'}),
  'security-opt': multi({description: 'security options (seccomp=unconfined|PATH, no-new-privileges)'}),
  sysctl: multi({description: 'sysctl options (NAME=VALUE)'}),
  device: multi({description: 'add a host device to the container (HOST[:CONTAINER][:PERMISSIONS])'}),
  // resources
  memory: Flags.string({char: 'm', description: 'memory limit (format: <number>[<unit>], unit = b, k, m or g)'}),
  'memory-swap': Flags.string({description: 'swap limit equal to memory plus swap: -1 for unlimited'}),
  'memory-reservation': Flags.string({description: 'memory soft limit'}),
  cpus: Flags.string({description: 'number of CPUs (e.g. 1.5)'}),
  'cpu-shares': Flags.integer({char: 'c', description: 'CPU shares (relative weight)'}),
  'cpuset-cpus': Flags.string({description: 'CPUs in which to allow execution (0-3, 0,1)'}),
  'cpuset-mems': Flags.string({description: 'memory nodes in which to allow execution (0-3, 0,1)'}),
  'pids-limit': Flags.integer({description: 'tune container pids limit (-1 for unlimited)'}),
  ulimit: multi({description: 'ulimit options (e.g. nofile=1024:2048)'}),
  cgroups: Flags.string({description: 'control container cgroup configuration (disabled needs the crun runtime)', options: ['enabled', 'disabled'], default: 'enabled'}),
  'cgroup-parent': Flags.string({description: 'optional parent cgroup for the container'}),
  userns: Flags.string({description: 'user namespace: host (the default: the rootless user\'s namespace, or none as root), keep-id (rootless: the user\'s own uid and gid inside), nomap (rootless: the user\'s subordinate ids only, the user\'s own id not mapped), auto[:size=N] (a free range of N ids, 1024 by default, no other container uses: from the "containers" entries of /etc/subuid and /etc/subgid as root, from the user\'s subordinate ids rootless); the image\'s files keep their owners through fuse-overlayfs', helpValue: 'MODE'}),
  uidmap: multi({description: 'run the container in a user namespace with this UID mapping (CONTAINER_ID:HOST_ID:SIZE; repeatable; rootless, HOST_ID is an id of the user\'s namespace: 0 is the user, 1.. its subordinate ids)'}),
  gidmap: multi({description: 'run the container in a user namespace with this GID mapping (CONTAINER_ID:HOST_ID:SIZE; repeatable; default: the --uidmap)'}),
  // network
  network: multi({description: 'connect to networks: bridge (the default network), NAME[:ip=IP,mac=MAC,alias=NAME] (repeat or comma-separate for several), none, host, container:ID, ns:PATH, slirp4netns[:allow_host_loopback=BOOL,cidr=CIDR,enable_ipv6=BOOL,mtu=N,outbound_addr=IP,outbound_addr6=IP,port_handler=slirp4netns] (user-mode networking; the rootless default), pasta[:ARG,ARG...] (user-mode networking by pasta; ARGs are pasta options)'}),
  net: multi({description: 'alias for --network', hidden: true}),
  ip: Flags.string({description: 'IPv4 address for the container on its (single) network'}),
  'mac-address': Flags.string({description: 'MAC address for the container on its (single) network'}),
  'network-alias': multi({description: 'add a DNS alias for the container on its networks'}),
  publish: multi({char: 'p', description: 'publish ports to the host: [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp], ports may be ranges; no host port = a random one'}),
  'publish-all': Flags.boolean({char: 'P', description: 'publish every EXPOSEd port of the image on a random host port'}),
  expose: multi({description: 'expose a port or range (PORT[/PROTO]) to -P without publishing it'}),
  dns: multi({description: 'set custom DNS servers'}),
  'dns-search': multi({description: 'set custom DNS search domains'}),
  'dns-option': multi({description: 'set custom DNS options'}),
  'add-host': multi({description: 'add a custom host-to-IP mapping (host:ip)'}),
  // lifecycle
  rm: Flags.boolean({description: 'remove the container when it exits'}),
  init: Flags.boolean({description: 'run an init (catatonit) inside the container that forwards signals and reaps processes'}),
  'stop-signal': Flags.string({description: 'signal to stop the container (default: the STOPSIGNAL of the image, else SIGTERM)'}),
  'stop-timeout': Flags.integer({description: 'timeout (in seconds) to stop the container before killing it', default: 10}),
  restart: Flags.string({description: 'restart policy: no, on-failure[:max_retries], always, unless-stopped', default: 'no'}),
  cidfile: Flags.string({description: 'write the container ID to the file'}),
  pidfile: Flags.string({description: "write the container process ID to the file"}),
  'conmon-pidfile': Flags.string({description: 'path to the file that will receive the PID of conmon'}),
  sdnotify: Flags.string({description: 'control sd-notify behavior', options: ['container', 'conmon', 'ignore'], default: 'container'}),
  'log-driver': Flags.string({description: 'logging driver for the container', options: ['k8s-file', 'journald', 'none'], default: 'k8s-file'}),
  'log-opt': multi({description: 'logging driver options (path=, max-size=, tag=)'}),
  runtime: Flags.string({description: 'path or name of the OCI runtime (runc, crun)'}),
};
