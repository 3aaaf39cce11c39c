/**
 * Pulling an image: reference → candidates (short names through
 * registries.conf) → sources (mirrors, then the registry) → manifest (an
 * index resolves to one platform) → config → layers, each downloaded,
 * verified and unpacked once, in parallel → blobs and the image record.
 *
 * Crash safety: layers become visible only when complete (storage/layers);
 * the image record is written last, under the images lock, after every
 * layer it names is pinned; a killed pull leaves temp directories only.
 */
import type {Paths} from '../state/paths';
import {BlobStore} from '../storage/blobs';
import {LayerStore} from '../storage/layers';
import {ImageStore, assignName, type ImageRecord} from './store';
import {
  MANIFEST_ACCEPT,
  chainIds,
  choosePlatform,
  decodeConfig,
  decodeManifest,
  digestHex,
  layerCompression,
  platformString,
  type ImageConfig,
  type ImageManifest,
  type PlatformWanted,
} from './manifest';
import {parseReference, refName, refString, withDefaultTag, type ImageReference} from './reference';
import {loadRegistriesConf, pullSources, shortNameCandidates, type RegistriesConf} from './registries-conf';
import {readCredentials} from './auth-file';
import {tlsFor} from './certs';
import type {Credentials, RegistryClient} from './registry';
import {unpackLayerBlob} from './layer-stream';
import {BlobInfoCache} from './blob-info-cache';
import type {PullEventSink} from './events';
import type {Lock} from '../state/lock';
import {mapLimit} from '../util/pool';
import {SkiffError, invalidInput, messageOf, registryError} from '../util/errors';
import {goArch, goOs, goVariant} from '../util/platform';
import {log} from '../util/log';

export interface PullOptions {
  reference: string;
  platform?: Partial<PlatformWanted>;
  /** false: skip TLS verification and allow plain HTTP for every registry. */
  tlsVerify?: boolean;
  credentials?: Credentials;
  authfile?: string;
  certDir?: string;
  retries?: number;
  retryDelayMs?: number;
  /** Connect / response-headers / body-idle timeout per registry request (default 30 s). */
  timeoutMs?: number;
  /** Parallel layer downloads (default 3). */
  parallel?: number;
  events?: PullEventSink;
  /** Asked to choose among short-name candidates on a terminal; absent → ambiguity is an error. */
  chooseShortName?: (candidates: string[]) => Promise<string>;
}

export interface PullResult {
  id: string;
  name?: string;
  digest: string;
}

const MAX_MANIFEST = 4 << 20;
const MAX_CONFIG = 16 << 20;

export class Puller {
  private readonly blobs: BlobStore;
  private readonly layers: LayerStore;
  private readonly images: ImageStore;

  constructor(private readonly paths: Paths) {
    this.blobs = new BlobStore(paths);
    this.layers = new LayerStore(paths);
    this.images = new ImageStore(paths);
  }

  async pull(opts: PullOptions): Promise<PullResult> {
    const conf = loadRegistriesConf(this.paths);
    const candidates = await this.candidates(opts, conf);
    const errors: string[] = [];
    for (const ref of candidates) {
      try {
        return await this.pullOne(ref, opts, conf);
      } catch (err) {
        if (candidates.length === 1) throw err;
        errors.push(`${refString(ref)}: ${messageOf(err)}`);
        log.debug(`pull candidate failed: ${refString(ref)}: ${messageOf(err)}`);
      }
    }
    throw registryError(`unable to pull ${opts.reference}: ${candidates.length} candidates failed: ${errors.join('; ')}`);
  }

  private async candidates(opts: PullOptions, conf: RegistriesConf): Promise<ImageReference[]> {
    const {shortName} = parseReference(opts.reference);
    const {candidates, alias} = shortNameCandidates(conf, opts.reference);
    const all = candidates.map(withDefaultTag);
    if (!shortName || alias) return all;
    if (all.length === 0) {
      throw invalidInput(`short-name "${opts.reference}" did not resolve to an alias and no unqualified-search registries are defined in ${this.paths.registriesConfFiles().join(', ')}`);
    }
    // containers-registries.conf(5): enforcing and permissive prompt on a
    // terminal; without one, enforcing fails and permissive (the default)
    // tries every candidate in order; disabled never prompts.
    if (all.length === 1 || conf.shortNameMode === 'disabled') return all;
    const names = all.map(refString);
    if (!opts.chooseShortName) {
      if (conf.shortNameMode === 'permissive') return all;
      throw invalidInput(`short-name "${opts.reference}" is ambiguous and there is no terminal to choose with; use a fully qualified name: ${names.join(', ')}`);
    }
    const chosen = await opts.chooseShortName(names);
    return [all[names.indexOf(chosen)] ?? all[0]];
  }

  private async client(endpoint: string, insecure: boolean, opts: PullOptions, credKey: string): Promise<RegistryClient> {
    const {RegistryClient} = await import('./registry');
    const credentials = opts.credentials ?? readCredentials(credKey, {paths: this.paths, authfile: opts.authfile});
    return new RegistryClient(
      {host: endpoint, insecure, tls: tlsFor(endpoint, {paths: this.paths, certDir: opts.certDir})},
      {credentials, retries: opts.retries, retryDelayMs: opts.retryDelayMs, timeoutMs: opts.timeoutMs},
    );
  }

  private async pullOne(ref: ImageReference, opts: PullOptions, conf: RegistriesConf): Promise<PullResult> {
    const emit = opts.events ?? (() => {});
    const display = refString(ref);
    emit({type: 'trying', reference: display});
    const sources = pullSources(conf, ref);
    let lastErr: unknown;
    for (const src of sources) {
      const insecure = opts.tlsVerify === false || src.insecure;
      const client = await this.client(src.endpoint, insecure, opts, `${src.endpoint}/${src.repoPath}`);
      try {
        return await this.fromSource(client, src.repoPath, ref, opts, emit);
      } catch (err) {
        lastErr = err;
        if (!src.mirror) throw err;
        log.info(`mirror ${src.endpoint} failed for ${display}: ${messageOf(err)}; trying the next source`);
      } finally {
        await client.close();
      }
    }
    throw lastErr ?? registryError(`no source to pull ${display} from`);
  }

  private async fromSource(client: RegistryClient, repo: string, ref: ImageReference, opts: PullOptions, emit: PullEventSink): Promise<PullResult> {
    const display = refString(ref);
    const top = await client.getManifest(repo, ref.digest ?? ref.tag ?? 'latest', MANIFEST_ACCEPT);
    if (top.bytes.length > MAX_MANIFEST) throw registryError(`manifest of ${display} is too large (${top.bytes.length} bytes)`);
    let doc = decodeManifest(top.bytes, top.mediaType);
    let manifestBytes = top.bytes;
    let manifestDigest = top.digest;
    const want: PlatformWanted = {
      os: opts.platform?.os || goOs(),
      architecture: opts.platform?.architecture || goArch(),
      variant: opts.platform?.variant || (opts.platform?.architecture ? undefined : goVariant()),
    };
    let indexBytes: Buffer | undefined;
    if (doc.kind === 'index') {
      indexBytes = top.bytes;
      const chosen = choosePlatform(doc, want);
      if (!chosen) {
        throw registryError(`choosing an image from manifest list docker://${display}: no image found in image index for architecture ${want.architecture}, variant "${want.variant ?? ''}", OS ${want.os}`);
      }
      const m = await client.getManifest(repo, chosen.digest, [chosen.mediaType]);
      doc = decodeManifest(m.bytes, m.mediaType);
      if (doc.kind !== 'manifest') throw registryError(`${display}: an image index points to another index (${chosen.digest})`);
      manifestBytes = m.bytes;
      manifestDigest = m.digest;
    }
    const manifest = doc as ImageManifest;
    emit({type: 'resolved', reference: display, digest: top.digest, layers: manifest.layers.length});

    // Config: small, read whole, verified by the client.
    emit({type: 'blob-start', digest: manifest.config.digest, size: manifest.config.size, kind: 'config'});
    if (manifest.config.size > MAX_CONFIG) throw registryError(`image config of ${display} is too large (${manifest.config.size} bytes)`);
    const configBytes = this.blobs.getIfExists(manifest.config.digest) ?? (await readAll(client.openBlob(repo, manifest.config.digest, manifest.config.size), MAX_CONFIG));
    const config = decodeConfig(configBytes);
    emit({type: 'blob-done', digest: manifest.config.digest, skipped: false});
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw registryError(`image ${display}: the manifest lists ${manifest.layers.length} layers but the config has ${config.rootfs.diff_ids.length} diff IDs`);
    }
    if (config.architecture && config.architecture !== want.architecture && !opts.platform?.architecture) {
      emit({type: 'warning', message: `image platform (${platformString({os: config.os, architecture: config.architecture, variant: config.variant})}) does not match the expected platform (${platformString(want)})`});
    }

    const chain = chainIds(config.rootfs.diff_ids);
    const pins: Lock[] = [];
    const builtHere: string[] = [];
    let recorded = false;
    try {
      const sizes = await mapLimit(manifest.layers, opts.parallel ?? 3, async (desc, i) => {
        const {record, pin, built} = await this.layers.ensure(
          chain[i],
          {diffId: config.rootfs.diff_ids[i], parent: i > 0 ? chain[i - 1] : undefined},
          async (diffDir) => {
            emit({type: 'blob-start', digest: desc.digest, size: desc.size, kind: 'layer'});
            let seen = 0;
            const counted = countBytes(client.openBlob(repo, desc.digest, desc.size), (n) => {
              seen += n;
              emit({type: 'blob-progress', digest: desc.digest, bytes: seen, size: desc.size});
            });
            const r = await unpackLayerBlob(counted, diffDir, config.rootfs.diff_ids[i], layerCompression(desc.mediaType));
            new BlobInfoCache(this.paths).record(config.rootfs.diff_ids[i], {digest: desc.digest, size: desc.size, mediaType: desc.mediaType}, `${client.host}/${repo}`);
            return {size: r.size, compressedDigest: desc.digest, compressedSize: desc.size};
          },
          {onWait: () => emit({type: 'blob-wait', digest: desc.digest})},
        );
        pins.push(pin);
        if (built) builtHere.push(chain[i]);
        emit({type: 'blob-done', digest: desc.digest, skipped: !built});
        return record.size;
      });

      emit({type: 'writing-manifest'});

      const id = digestHex(manifest.config.digest);
      const name = ref.tag && !ref.digest ? refString(ref) : ref.tag && ref.digest ? `${refName(ref)}:${ref.tag}` : undefined;
      const repoDigests = [`${refName(ref)}@${manifestDigest}`];
      if (indexBytes) repoDigests.unshift(`${refName(ref)}@${top.digest}`);
      await this.images.update((images) => {
        // Blobs are written under the images lock so removal (which
        // collects unreferenced blobs under the same lock) never sees them
        // before the record that references them.
        this.blobs.put(manifestDigest, manifestBytes);
        if (indexBytes) this.blobs.put(top.digest, indexBytes);
        this.blobs.put(manifest.config.digest, configBytes);
        for (const c of chain) {
          if (!this.layers.get(c)) throw new SkiffError('storage', `layer ${c} vanished before image ${id} was recorded`);
        }
        const existing = images.find((img) => img.id === id);
        const record: ImageRecord = existing
          ? {...existing, repoDigests: union(existing.repoDigests, repoDigests), digest: top.digest}
          : {
              id,
              names: [],
              repoDigests,
              digest: top.digest,
              manifestDigest,
              manifestMediaType: manifest.mediaType,
              configDigest: manifest.config.digest,
              layers: chain,
              size: sizes.reduce((a, b) => a + b, 0),
              created: createdOf(config),
              added: new Date().toISOString(),
            };
        let next = existing ? images.map((img) => (img.id === id ? record : img)) : [...images, record];
        if (name) next = assignName(next, id, name);
        return {images: next, result: undefined};
      });
      recorded = true;
      return {id, name, digest: top.digest};
    } finally {
      for (const p of pins) p.release();
      // A failed pull takes back the layers it built that no image uses: a
      // full disk must not stay full of the remains of the pull that filled it.
      if (!recorded && builtHere.length) await this.rollback(builtHere);
    }
  }

  private async rollback(chain: string[]): Promise<void> {
    try {
      await this.images.update((images) => {
        const used = new Set(images.flatMap((i) => i.layers));
        const removed = this.layers.removeUnused(chain, used);
        if (removed.length) log.debug(`removed ${removed.length} layer(s) of the failed pull`);
        return {result: undefined};
      });
    } catch (err) {
      log.debug(`rolling back layers of a failed pull: ${messageOf(err)}`);
    }
  }
}

function createdOf(config: ImageConfig): string {
  const t = config.created ? Date.parse(config.created) : NaN;
  return Number.isNaN(t) ? new Date(0).toISOString() : new Date(t).toISOString();
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...b, ...a])];
}

async function readAll(src: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of src) {
    n += c.length;
    if (n > limit) throw registryError(`blob larger than ${limit} bytes`);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

async function* countBytes(src: AsyncIterable<Buffer>, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const c of src) {
    onBytes(c.length);
    yield c;
  }
}
