/**
 * The network mode a container gets without --network: the one place that
 * decides it. Root: the default bridge network (CNI). Rootless: CNI bridges
 * need root, so user-mode networking with slirp4netns, as podman.
 */
export function defaultNetworkMode(rootless: boolean): 'bridge' | 'slirp4netns' {
  return rootless ? 'slirp4netns' : 'bridge';
}

