/**
 * `top` for one container: psgo-style descriptors are read from /proc
 * (top.ts); anything else is handed to ps(1) run inside the container's
 * mount and pid namespaces (nsenter), as podman falls back to running ps in
 * the container: that needs a ps in the image.
 */
import {execFile} from 'node:child_process';
import type {Paths} from '../state/paths';
import type {ContainerRecord} from './store';
import {containerPaths} from './prepare';
import {rootfsReader} from './user';
import {psgoDescriptors, topTable} from './top';
import {cgroupPids, processCgroupDirs} from '../runtime/cgroup-stats';
import {findBinary} from '../runtime/host';
import {conflict, invalidInput, SkiffError} from '../util/errors';

export type TopResult = {table: string[][]} | {text: string};

export async function containerTop(paths: Paths, rec: ContainerRecord, args: readonly string[]): Promise<TopResult> {
  const s = rec.state;
  if ((s.status !== 'running' && s.status !== 'paused' && s.status !== 'stopping') || !s.pid) {
    throw conflict(`top can only be used on running containers: container state improper`);
  }
  const descriptors = psgoDescriptors(args);
  if (descriptors) {
    const pids = cgroupPids(processCgroupDirs(s.pid));
    return {table: topTable(descriptors, {pids: pids.length ? pids : [s.pid], readFile: rootfsReader(containerPaths(paths, rec.config.id).rootfs)})};
  }
  const nsenter = findBinary('nsenter');
  if (!nsenter) throw invalidInput(`unknown descriptors ${args.join(' ')} and nsenter(1) (util-linux) is not installed to run ps in the container`);
  const psArgs = args.flatMap((a) => a.split(/\s+/)).filter(Boolean);
  return new Promise((resolve, reject) => {
    execFile(nsenter, ['--target', String(s.pid), '--mount', '--pid', '--', 'ps', ...psArgs], {encoding: 'utf8', timeout: 30_000, maxBuffer: 8 << 20}, (err, stdout, stderr) => {
      if (err) {
        const why = (stderr || err.message).trim().split('\n').pop();
        return reject(new SkiffError('invalid-input', `ps(1) failed with exit code ${(err as {code?: number}).code ?? '?'}: ${why}: unknown descriptors ${args.join(' ')}`));
      }
      resolve({text: stdout});
    });
  });
}
