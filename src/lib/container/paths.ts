/** Where one container's files are: its store directory and its runtime bundle. */
import {under, type Paths} from '../state/paths';

export interface ContainerPaths {
  /** root/containers/<id>: upper/, work/, userdata/ (etc files), ctr.log */
  dir: string;
  upper: string;
  work: string;
  userdata: string;
  log: string;
  /** runroot/containers/<id>: the OCI bundle (config.json, attach, ctl, pidfiles). */
  bundle: string;
  rootfs: string;
  exitDir: string;
}

export function containerPaths(paths: Paths, id: string): ContainerPaths {
  const dir = `${paths.containersDir}/${id}`;
  const bundle = `${paths.runContainersDir}/${id}`;
  // dir and bundle are normalized: their children by concatenation (path.join's
  // normalize, run cold on every start and removal, cost ~0.5-1 ms in all).
  return {
    dir,
    upper: `${dir}/upper`,
    work: `${dir}/work`,
    userdata: `${dir}/userdata`,
    log: `${dir}/ctr.log`,
    bundle,
    rootfs: `${bundle}/rootfs`,
    exitDir: under(paths.runroot, 'exits'),
  };
}
