/**
 * Pushing a stored image to a registry (Distribution spec):
 *
 * for each layer (3 at a time): a compressed blob already known for its
 * diff ID (blob-info-cache) is reused when the destination repository has
 * it (HEAD) or the registry mounts it from another repository it was seen
 * in (POST ?mount=&from=); otherwise the layer's tar is rebuilt from its
 * tar-split (verified against the diff ID while it streams), gzip-compressed
 * and uploaded: POST → PATCH (one streamed body, or Content-Range chunks)
 * → PUT ?digest=. The compressed digest is only known at the end, so the
 * commit (PUT) happens only after the tar matched its diff ID. Then the
 * config (monolithic: POST, PUT with body) and the manifest.
 *
 * The local store is only read (layers pinned with shared locks); an
 * interrupted push leaves it as it was and leaves at most an unfinished
 * upload session in the registry.
 */
import {createHash} from 'node:crypto';
import * as fs from 'node:fs';
import type {Paths} from '../state/paths';
import type {Lock} from '../state/lock';
import type {ImageService} from './service';
import type {ImageRecord} from './store';
import {BlobInfoCache, type KnownBlob} from './blob-info-cache';
import {MT, sha256Digest, type ImageConfig} from './manifest';
import {parseReference, refString, withDefaultTag, type ImageReference} from './reference';
import {isInsecureHost, loadRegistriesConf, pullSources} from './registries-conf';
import {readCredentials} from './auth-file';
import {tlsFor} from './certs';
import type {Credentials, RegistryClient} from './registry';
import type {PullEventSink} from './events';
import {layerTar} from '../storage/layer-tar';
import {mapLimit} from '../util/pool';
import {parallelGzip} from '../util/pgzip';
import {invalidInput, storageError} from '../util/errors';
import {log} from '../util/log';

export type PushFormat = 'v2s2' | 'oci';

/**
 * containers/image compresses with pgzip.NewWriter (no level given), i.e.
 * klauspost/compress's default level, 5. zlib's level 5 gives a slightly
 * smaller blob than podman's at somewhat more CPU.
 */
export const DEFAULT_GZIP_LEVEL = 5;

export interface PushOptions {
  source: string;
  destination?: string;
  format?: PushFormat;
  tlsVerify?: boolean;
  credentials?: Credentials;
  authfile?: string;
  certDir?: string;
  retries?: number;
  digestfile?: string;
  events?: PushEventSink;
  /** Upload in Content-Range chunks of this many bytes instead of one streamed PATCH. */
  chunkSize?: number;
  /** gzip level for uploaded layers (default DEFAULT_GZIP_LEVEL). */
  compressionLevel?: number;
  parallel?: number;
}

export type PushEventSink = PullEventSink;

export interface PushResult {
  digest: string;
  reference: string;
}

interface PushedLayer {
  digest: string;
  size: number;
  mediaType: string;
  diffId: string;
}

export async function pushImage(paths: Paths, svc: ImageService, opts: PushOptions): Promise<PushResult> {
  const img = svc.get(opts.source);
  const byId = /^(sha256:)?[0-9a-f]{6,64}$/.test(opts.source) && img.id.startsWith(opts.source.replace(/^sha256:/, ''));
  const destInput = (opts.destination ?? (byId ? undefined : fullSourceName(img, opts.source)))?.replace(/^docker:\/\//, '');
  if (!destInput) throw invalidInput(`no destination given for ${opts.source}: use skiff push IMAGE REGISTRY/REPOSITORY[:TAG]`);
  if (opts.destination && /^[a-z-]+:/.test(opts.destination) && !opts.destination.startsWith('docker://') && !/^[^/]+:\d+\//.test(opts.destination)) {
    throw invalidInput(`unsupported destination transport in "${opts.destination}": only docker:// (a registry) is supported`);
  }
  const dest = withDefaultTag(parseReference(destInput).ref);
  const conf = loadRegistriesConf(paths);
  const src = pullSources(conf, dest).at(-1)!;
  const insecure = opts.tlsVerify === false || isInsecureHost(conf, dest.domain) || src.insecure;
  const {RegistryClient} = await import('./registry');
  const credentials = opts.credentials ?? readCredentials(`${src.endpoint}/${src.repoPath}`, {paths, authfile: opts.authfile});
  const client: RegistryClient = new RegistryClient({host: src.endpoint, insecure, tls: tlsFor(src.endpoint, {paths, certDir: opts.certDir})}, {credentials, retries: opts.retries});
  const emit = opts.events ?? (() => {});
  const format: PushFormat = opts.format ?? (img.manifestMediaType === MT.ociManifest ? 'oci' : 'v2s2');
  const layerType = format === 'oci' ? MT.ociLayerGzip : MT.dockerLayerGzip;
  const repo = src.repoPath;
  const here = `${client.host}/${repo}`;
  const cache = new BlobInfoCache(paths);
  const pins: Lock[] = [];
  try {
    await client.ping();
    const configBytes = svc.blobs.get(img.configDigest);
    const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    const pushed = await mapLimit(img.layers, opts.parallel ?? 3, async (chainId): Promise<PushedLayer> => {
      const pin = await svc.layers.pin(chainId);
      if (!pin) throw storageError(`layer ${chainId} of image ${img.id} is missing`);
      pins.push(pin);
      const rec = svc.layers.get(chainId)!;
      const reused = await reuse(client, repo, here, cache.candidates(rec.diffId), format);
      if (reused) {
        emit({type: 'blob-done', digest: reused.digest, skipped: true});
        if (!reused.locations.includes(here)) cache.record(rec.diffId, reused, here);
        return {digest: reused.digest, size: reused.size, mediaType: layerType, diffId: rec.diffId};
      }
      const lt = layerTar(svc.layers, rec);
      emit({type: 'blob-start', digest: rec.diffId, size: rec.size, kind: 'layer'});
      const up = await uploadLayer(client, repo, lt.stream, lt.exact ? rec.diffId : undefined, opts, (n) => emit({type: 'blob-progress', digest: rec.diffId, bytes: n, size: rec.size}));
      const diffId = up.diffId;
      emit({type: 'blob-done', digest: rec.diffId, skipped: false}); // the key of its progress row
      cache.record(diffId, {digest: up.digest, size: up.size, mediaType: layerType}, here);
      return {digest: up.digest, size: up.size, mediaType: layerType, diffId};
    });

    // A layer without tar-split was sent as a fresh tar: the config must name its new diff ID.
    let cfg = configBytes;
    const diffIds = pushed.map((p) => p.diffId);
    if (JSON.stringify(config.rootfs.diff_ids) !== JSON.stringify(diffIds)) {
      log.info(`image ${img.id} has layers stored without tar-split: pushed with new diff IDs (a new image ID)`);
      cfg = Buffer.from(JSON.stringify({...config, rootfs: {...config.rootfs, diff_ids: diffIds}}));
    }
    const cfgDigest = sha256Digest(cfg);
    emit({type: 'blob-start', digest: cfgDigest, size: cfg.length, kind: 'config'});
    if (!(await client.blobExistsForPush(repo, cfgDigest))) {
      const start = await client.startUpload(repo);
      if (start.mounted) throw new Error('unreachable');
      await client.finishUpload(repo, start.location, cfgDigest, cfg);
    }
    emit({type: 'blob-done', digest: cfgDigest, skipped: false});

    const manifest = Buffer.from(
      JSON.stringify(
        format === 'oci'
          ? {
              schemaVersion: 2,
              mediaType: MT.ociManifest,
              config: {mediaType: MT.ociConfig, digest: cfgDigest, size: cfg.length},
              layers: pushed.map((p) => ({mediaType: p.mediaType, digest: p.digest, size: p.size})),
            }
          : {
              schemaVersion: 2,
              mediaType: MT.dockerManifest,
              config: {mediaType: MT.dockerConfig, digest: cfgDigest, size: cfg.length},
              layers: pushed.map((p) => ({mediaType: p.mediaType, digest: p.digest, size: p.size})),
            },
        null,
        3,
      ),
    );
    emit({type: 'writing-manifest'});
    const mediaType = format === 'oci' ? MT.ociManifest : MT.dockerManifest;
    const digest = await client.putManifest(repo, dest.digest ?? dest.tag ?? 'latest', manifest, mediaType);
    if (opts.digestfile) fs.writeFileSync(opts.digestfile, digest);
    return {digest, reference: refString(dest)};
  } finally {
    for (const p of pins) p.release();
    await client.close();
  }
}

function fullSourceName(img: ImageRecord, input: string): string | undefined {
  if (img.names.includes(input)) return input;
  try {
    const full = refString(withDefaultTag(parseReference(input).ref));
    if (img.names.includes(full)) return full;
    return img.names.find((n) => n.endsWith(`/${input}`) || n.endsWith(`/${input}:latest`)) ?? full;
  } catch {
    return undefined;
  }
}

/** A known compressed blob of this layer that the destination has, or can mount. */
async function reuse(client: RegistryClient, repo: string, here: string, known: KnownBlob[], format: PushFormat): Promise<KnownBlob | undefined> {
  // Only gzip blobs: they fit both formats (v2s2 has no zstd) and get relabelled for the manifest's format.
  void format;
  const usable = known.filter((k) => k.mediaType.endsWith('gzip'));
  for (const k of usable) {
    if (k.locations.includes(here) && (await client.blobExistsForPush(repo, k.digest))) return k;
  }
  for (const k of usable) {
    for (const loc of k.locations) {
      const slash = loc.indexOf('/');
      if (loc.slice(0, slash) !== client.host || loc === here) continue;
      try {
        const r = await client.startUpload(repo, {digest: k.digest, from: loc.slice(slash + 1)});
        if (r.mounted) return k;
        // Declined: the session it opened is simply abandoned.
      } catch (err) {
        log.debug(`mounting ${k.digest} from ${loc} failed: ${(err as Error).message}`);
      }
    }
  }
  for (const k of usable) {
    if (!k.locations.includes(here) && (await client.blobExistsForPush(repo, k.digest))) return k;
  }
  return undefined;
}

async function uploadLayer(
  client: RegistryClient,
  repo: string,
  tar: AsyncIterable<Buffer>,
  /** The layer's diff ID when `tar` is its exact, self-verifying tar (tarFromSplit). */
  exactDiffId: string | undefined,
  opts: PushOptions,
  onProgress: (n: number) => void,
): Promise<{digest: string; size: number; diffId: string}> {
  const exact = exactDiffId !== undefined;
  // tarFromSplit already checks an exact tar against its diff ID: hash it again only when it is a new tar.
  const diffHash = exact ? undefined : createHash('sha256');
  const blobHash = createHash('sha256');
  let tarBytes = 0;
  let blobBytes = 0;
  const tapped = (async function* () {
    for await (const c of tar) {
      diffHash?.update(c);
      tarBytes += c.length;
      onProgress(tarBytes);
      yield c;
    }
  })();
  const compressed = (async function* () {
    for await (const c of parallelGzip(tapped, {level: opts.compressionLevel ?? DEFAULT_GZIP_LEVEL})) {
      blobHash.update(c);
      blobBytes += c.length;
      yield c;
    }
  })();
  const start = await client.startUpload(repo);
  if (start.mounted) throw new Error('unreachable');
  let location = start.location;
  if (opts.chunkSize && opts.chunkSize > 0) {
    let pending: Buffer[] = [];
    let pendingLen = 0;
    let offset = 0;
    const flush = async () => {
      const chunk = Buffer.concat(pending, pendingLen);
      pending = [];
      pendingLen = 0;
      location = await client.patchChunk(repo, location, chunk, offset);
      offset += chunk.length;
    };
    for await (const c of compressed) {
      pending.push(c);
      pendingLen += c.length;
      if (pendingLen >= opts.chunkSize) await flush();
    }
    if (pendingLen > 0) await flush();
  } else {
    location = await client.patchStream(repo, location, compressed);
  }
  // The rebuilt tar was verified against its diff ID as it streamed (tarFromSplit throws before its end otherwise).
  const digest = 'sha256:' + blobHash.digest('hex');
  await client.finishUpload(repo, location, digest);
  return {digest, size: blobBytes, diffId: diffHash ? 'sha256:' + diffHash.digest('hex') : exactDiffId!};
}

export type {ImageReference};
