/**
 * skiff commit: a container's changes as a new image.
 *
 * 1. The upper directory is archived as an OCI layer (storage/pack): overlay
 *    whiteouts (0/0 char devices) become `.wh.NAME` files, opaque
 *    directories (trusted.overlay.opaque=y) get a `.wh..wh..opq` member.
 *    A running container is paused (runc pause, the cgroup freezer) while
 *    this happens, unless asked not to, and resumed after.
 * 2. The tar is written once to root/tmp while its digest (the diff ID) is
 *    computed, then fed through the same layer-from-stream pipeline a pull
 *    uses (image/layer-stream → unpack), which checks the diff ID again and
 *    builds the layer in the layer store under its lock.
 * 3. The new config: the image's, updated from the container (env, command,
 *    entrypoint, working dir, user, labels, stop signal), then --change;
 *    a history entry; the new diff ID. The manifest lists the base image's
 *    layers plus the new one (uncompressed; digest = diff ID).
 * 4. Blobs and the image record are written under the images lock, as pull
 *    does, the layer still pinned; then the name is assigned.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {createHash, randomBytes} from 'node:crypto';
import type {Paths} from '../../state/paths';
import type {ImageService} from '../../image/service';
import {ImageService as ImageServiceClass} from '../../image/service';
import type {ContainerService} from '../service';
import {containerPaths} from '../prepare';
import {isOpaqueDir, isWhiteoutDevice, mountDestinations} from '../changes';
import {packTree} from '../../storage/pack/tree';
import {prefetch} from '../../storage/pack/prefetch';
import type {PackEntry} from '../../storage/pack/header';
import {unpackLayerBlob} from '../../image/layer-stream';
import {MT, chainIds, decodeManifest, digestHex, sha256Digest, type Descriptor, type ImageConfig} from '../../image/manifest';
import {assignName, type ImageRecord} from '../../image/store';
import {ensureDir} from '../../state/atomic';
import {SkiffError, conflict, isSkiffError} from '../../util/errors';
import type {Lock} from '../../state/lock';
import {applyChange, type RunConfig} from './instructions';
import {log} from '../../util/log';

export interface CommitOptions {
  container: string;
  /** Name to tag the image with (podman's IMAGE argument). */
  image?: string;
  changes?: string[];
  message?: string;
  author?: string;
  /** Pause a running container while its changes are read (default true). */
  pause?: boolean;
  format?: 'oci' | 'docker';
  /** Progress lines (podman prints them on stderr unless -q). */
  progress?: (line: string) => void;
}

export interface CommitResult {
  id: string;
  name?: string;
}

export const OPAQUE_MEMBER = '.wh..wh..opq';

/** The layer members for one upper-dir entry: whiteouts and opaque directories in OCI form. */
export function layerEntries(e: PackEntry, abs: string, st: fs.Stats): PackEntry[] | PackEntry {
  if (isWhiteoutDevice(st)) {
    const i = e.name.lastIndexOf('/');
    const name = i < 0 ? `.wh.${e.name}` : `${e.name.slice(0, i)}/.wh.${e.name.slice(i + 1)}`;
    return {name, type: 'file', mode: 0o644, uid: e.uid, gid: e.gid, size: 0, mtime: e.mtime};
  }
  if (st.isDirectory() && isOpaqueDir(abs)) {
    return [e, {name: `${e.name}/${OPAQUE_MEMBER}`, type: 'file', mode: 0o644, uid: e.uid, gid: e.gid, size: 0, mtime: e.mtime}];
  }
  return e;
}

/** Layer media types of the other format family (docker ↔ OCI), so a manifest never mixes them. */
function layerMediaType(mt: string, format: 'oci' | 'docker'): string {
  const docker: Record<string, string> = {
    [MT.ociLayerGzip]: MT.dockerLayerGzip,
    [MT.ociLayerTar]: 'application/vnd.docker.image.rootfs.diff.tar',
    [MT.ociLayerNondistGzip]: MT.dockerForeignLayerGzip,
  };
  if (format === 'docker') return docker[mt] ?? mt;
  const oci = Object.fromEntries(Object.entries(docker).map(([k, v]) => [v, k]));
  return oci[mt] ?? mt;
}

async function* fileChunks(file: string): AsyncGenerator<Buffer> {
  const s = fs.createReadStream(file, {highWaterMark: 1 << 20});
  for await (const c of s) yield c as Buffer;
}

/** The layer members of an upper directory, as a tar stream. */
function layerTar(upper: string, stubs: ReadonlySet<string>): AsyncGenerator<Buffer> {
  // Mount points the runtime created (empty files and directories) are not the container's changes.
  const exclude = (name: string, st: fs.Stats) =>
    stubs.has('/' + name) && ((st.isFile() && st.size === 0) || (st.isDirectory() && fs.readdirSync(path.join(upper, name)).length === 0));
  return packTree([{abs: upper, name: ''}], {map: layerEntries, exclude});
}

/** Digest and size of the layer tar; with `file`, the tar is also written there (backpressure from the file writes). */
async function measureLayer(tar: AsyncIterable<Buffer>, file?: string): Promise<{diffId: string; size: number}> {
  const hash = createHash('sha256');
  let size = 0;
  const fd = file ? fs.openSync(file, 'wx', 0o600) : -1;
  try {
    for await (const chunk of tar) {
      hash.update(chunk);
      size += chunk.length;
      let off = 0;
      while (fd >= 0 && off < chunk.length) {
        off += await new Promise<number>((resolve, reject) => fs.write(fd, chunk, off, chunk.length - off, null, (err, n) => (err ? reject(err) : resolve(n))));
      }
    }
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
  return {diffId: 'sha256:' + hash.digest('hex'), size};
}

interface Snapshot {
  diffId: string;
  size: number;
  /** The tar, when it had to be kept (the container ran, so its upper may change after). */
  file?: string;
}

export async function commitContainer(paths: Paths, containers: ContainerService, images: ImageService, opts: CommitOptions): Promise<CommitResult> {
  const progress = opts.progress ?? (() => {});
  const format = opts.format ?? 'oci';
  const name = opts.image ? ImageServiceClass.normalizeTarget(opts.image) : undefined;
  const changes = opts.changes ?? [];
  // Validate --change before touching anything.
  for (const ch of changes) applyChange({}, ch);

  const rec0 = containers.store.resolve(opts.container);
  const id = rec0.config.id;
  const base = images.list().find((i) => i.id === rec0.config.image);
  if (!base) throw new SkiffError('not-found', `image ${rec0.config.image.slice(0, 12)} of container ${rec0.config.name} is no longer in the store`);
  const baseConfig = images.config(base);
  const baseManifestBytes = images.blobs.getIfExists(base.manifestDigest);
  const baseManifest = baseManifestBytes ? decodeManifest(baseManifestBytes) : undefined;
  if (!baseManifest || baseManifest.kind !== 'manifest') throw new SkiffError('storage', `the manifest of image ${base.id.slice(0, 12)} is missing`);

  const p = containerPaths(paths, id);
  ensureDir(paths.tmpDir);
  // Carries the pid: system check removes it once this process is gone.
  const tarFile = path.join(paths.tmpDir, `commit-${process.pid}-${id.slice(0, 12)}-${randomBytes(4).toString('hex')}.tar`);
  const stubs = mountDestinations(rec0.config.mounts);

  /**
   * Read the changes under the container lock (a stop waits instead of
   * signalling a frozen container; nobody starts or removes it meanwhile),
   * the container paused if it runs. A stopped container's changes are
   * only hashed here and archived again straight into the layer store
   * (no temp file); a running one's are kept in a temp tar, since they
   * may change as soon as it resumes. keep forces the temp tar.
   */
  const snapshot = async (keep: boolean): Promise<Snapshot> => {
    const lock = await containers.store.lockContainer(id);
    try {
      const rec = containers.get(id);
      if (rec.state.status === 'removing') throw conflict(`container ${rec.config.name} is being removed`);
      const running = rec.state.status === 'running' || rec.state.status === 'paused';
      const runtime = rec.state.status === 'running' && opts.pause !== false ? containers.runtime(rec.config.runtime) : undefined;
      if (runtime) await runtime.pause(id);
      try {
        if (!fs.existsSync(p.upper)) fs.mkdirSync(p.upper, {recursive: true, mode: 0o755});
        const file = keep || running ? tarFile : undefined;
        return {...(await measureLayer(layerTar(p.upper, stubs), file)), file};
      } finally {
        if (runtime) await runtime.resume(id).catch((err) => log.warn(`resuming ${rec.config.name} after commit: ${(err as Error).message}`));
      }
    } catch (err) {
      fs.rmSync(tarFile, {force: true});
      throw err;
    } finally {
      lock.release();
    }
  };

  progress('Getting image source signatures');
  let layer = await snapshot(false);
  /** Build the layer through the pull's pipeline (layer-stream → unpack), which checks the diff ID again. */
  const build = async (snap: Snapshot) => {
    const chain = chainIds([...baseConfig.rootfs.diff_ids, snap.diffId]);
    const top = chain[chain.length - 1];
    const source = snap.file ? fileChunks(snap.file) : prefetch(layerTar(p.upper, stubs));
    const r = await images.layers.ensure(top, {diffId: snap.diffId, parent: chain.length > 1 ? chain[chain.length - 2] : undefined}, async (diffDir) => {
      const u = await unpackLayerBlob(source, diffDir, snap.diffId, 'none');
      return {size: u.size, compressedDigest: snap.diffId, compressedSize: snap.size};
    });
    return {chain, pin: r.pin};
  };
  let built: {chain: string[]; pin: Lock};
  try {
    try {
      built = await build(layer);
    } catch (err) {
      // The stopped container changed between the two reads (a cp, a start): read it again, keeping the tar this time.
      if (layer.file || !isSkiffError(err, 'digest-mismatch')) throw err;
      log.debug(`commit: the changes of ${id.slice(0, 12)} moved while being archived; reading them again`);
      layer = await snapshot(true);
      built = await build(layer);
    }
  } finally {
    fs.rmSync(tarFile, {force: true});
  }
  progress(`Copying blob ${digestHex(layer.diffId).slice(0, 12)} done`);

  const rec = containers.get(id);
  const diffIds = [...baseConfig.rootfs.diff_ids, layer.diffId];
  const {chain, pin} = built;
  try {
    const now = new Date().toISOString();
    const c = rec.config;
    let run: RunConfig = {...(baseConfig.config ?? {})};
    run.Env = c.env;
    if (c.cmd) run.Cmd = c.cmd;
    if (c.entrypoint) run.Entrypoint = c.entrypoint;
    if (c.workingDir) run.WorkingDir = c.workingDir;
    if (c.user) run.User = c.user;
    if (Object.keys(c.labels).length) run.Labels = {...(run.Labels ?? {}), ...c.labels};
    if (c.stopSignal && c.stopSignal !== 'SIGTERM' && c.stopSignal !== '15') run.StopSignal = c.stopSignal;
    for (const ch of changes) run = applyChange(run, ch);
    const config: ImageConfig = {
      ...baseConfig,
      created: now,
      ...(opts.author !== undefined ? {author: opts.author} : {}),
      config: run,
      rootfs: {type: 'layers', diff_ids: diffIds},
      history: [
        ...(baseConfig.history ?? []),
        {created: now, created_by: c.args.join(' '), ...(opts.author ? {author: opts.author} : {}), ...(opts.message ? {comment: opts.message} : {})},
      ],
    };
    if (format === 'oci') delete (config as Record<string, unknown>).container_config;
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDigest = sha256Digest(configBytes);
    progress(`Copying config ${digestHex(configDigest).slice(0, 12)} done`);
    const layers: Descriptor[] = [
      ...baseManifest.layers.map((l) => ({mediaType: layerMediaType(l.mediaType, format), digest: l.digest, size: l.size})),
      {mediaType: format === 'oci' ? MT.ociLayerTar : 'application/vnd.docker.image.rootfs.diff.tar', digest: layer.diffId, size: layer.size},
    ];
    const manifest = {
      schemaVersion: 2,
      mediaType: format === 'oci' ? MT.ociManifest : MT.dockerManifest,
      config: {mediaType: format === 'oci' ? MT.ociConfig : MT.dockerConfig, digest: configDigest, size: configBytes.length},
      layers,
      ...(format === 'oci' ? {annotations: {'org.opencontainers.image.base.name': base.names[0] ?? ''}} : {}),
    };
    if (format === 'oci' && !base.names[0]) delete (manifest as {annotations?: unknown}).annotations;
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestDigest = sha256Digest(manifestBytes);
    progress('Writing manifest to image destination');
    const imageId = digestHex(configDigest);
    await images.store.update((list) => {
      images.blobs.put(manifestDigest, manifestBytes);
      images.blobs.put(configDigest, configBytes);
      for (const l of chain) if (!images.layers.get(l)) throw new SkiffError('storage', `layer ${l} vanished before image ${imageId} was recorded`);
      const existing = list.find((i) => i.id === imageId);
      const record: ImageRecord = existing ?? {
        id: imageId,
        names: [],
        repoDigests: [],
        digest: manifestDigest,
        manifestDigest,
        manifestMediaType: manifest.mediaType,
        configDigest,
        layers: chain,
        size: base.size + layer.size,
        created: now,
        added: now,
      };
      let next = existing ? list : [...list, record];
      if (name) next = assignName(next, imageId, name);
      return {images: next, result: undefined};
    });
    return {id: imageId, name};
  } finally {
    pin.release();
  }
}

