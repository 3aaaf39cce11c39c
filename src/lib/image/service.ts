/**
 * Image operations over the store: list, inspect, tag, untag, remove,
 * prune. Each mutation is one images.update() (one lock, fresh read) and
 * is followed by collecting layers and blobs nothing references any more.
 */
import type {Paths} from '../state/paths';
import {BlobStore} from '../storage/blobs';
import {LayerStore} from '../storage/layers';
import {ImageStore, assignName, type ImageRecord} from './store';
import {findImage, getImage} from './lookup';
import {decodeConfig, decodeManifest, type ImageConfig} from './manifest';
import {parseReference, refString, withDefaultTag} from './reference';
import {loadRegistriesConf} from './registries-conf';
import type {PullOptions, PullResult} from './pull';
import {invalidInput, notFound, SkiffError, messageOf} from '../util/errors';
import {imageEvent} from '../events/emit';
import {allowOptimization} from '../util/tiering';

export interface RemoveReport {
  input: string;
  untagged: string[];
  deleted?: string;
  error?: SkiffError;
}

export interface ImageUsage {
  /** IDs of containers using each image ID (wired by the engine once containers exist). */
  containersUsing(imageId: string): string[];
}

const noUsage: ImageUsage = {containersUsing: () => []};

export class ImageService {
  readonly store: ImageStore;
  readonly blobs: BlobStore;
  readonly layers: LayerStore;
  /** Default registry request timeout for pulls that do not set one (the engine sets it from SKIFF_REGISTRY_TIMEOUT). */
  registryTimeoutMs?: number;

  constructor(
    private readonly paths: Paths,
    private readonly usage: ImageUsage = noUsage,
  ) {
    this.store = new ImageStore(paths);
    this.blobs = new BlobStore(paths);
    this.layers = new LayerStore(paths);
  }

  private searchRegistries(): string[] {
    try {
      return loadRegistriesConf(this.paths).unqualifiedSearchRegistries ?? [];
    } catch {
      return [];
    }
  }

  list(): ImageRecord[] {
    return this.store.list();
  }

  find(input: string): ImageRecord | undefined {
    return findImage(this.store.list(), input, {searchRegistries: () => this.searchRegistries()});
  }

  get(input: string): ImageRecord {
    return getImage(this.store.list(), input, {searchRegistries: () => this.searchRegistries()});
  }

  config(img: ImageRecord): ImageConfig {
    return decodeConfig(this.blobs.get(img.configDigest));
  }

  async pull(opts: PullOptions): Promise<PullResult> {
    allowOptimization(); // decompressing and unpacking layers is JavaScript work (a short command may pull)
    this.layers.cleanupTemp();
    // The registry client (undici, TLS) is loaded only by commands that pull.
    const {Puller} = await import('./pull');
    const r = await new Puller(this.paths).pull({...opts, timeoutMs: opts.timeoutMs ?? this.registryTimeoutMs});
    await imageEvent(this.paths, r.id, r.name ?? opts.reference, 'pull');
    return r;
  }

  /** Full names for new tags: a short target gets localhost/ (podman), and :latest by default. */
  static normalizeTarget(name: string): string {
    const {ref, shortName} = parseReference(name);
    if (ref.digest) throw invalidInput(`tag ${name}: a tag cannot contain a digest`);
    const full = shortName ? parseReference(`localhost/${name.replace(/^docker\.io\/(library\/)?/, '')}`).ref : ref;
    return refString(withDefaultTag(full));
  }

  async tag(input: string, targets: string[]): Promise<void> {
    const names = targets.map((t) => ImageService.normalizeTarget(t));
    const search = this.searchRegistries();
    await this.store.update((images) => {
      const img = getImage(images, input, {searchRegistries: search});
      let next = images;
      for (const n of names) next = assignName(next, img.id, n);
      return {images: next, result: img.id};
    }).then(async (id) => {
      for (const n of names) await imageEvent(this.paths, id, n, 'tag');
    });
  }

  /** Remove the given names (all names when none given). Returns the names removed. */
  async untag(input: string, targets: string[]): Promise<string[]> {
    const search = this.searchRegistries();
    const {id, removed} = await this.store.update((images) => {
      const img = getImage(images, input, {searchRegistries: search});
      let remove: string[];
      if (targets.length === 0) {
        remove = img.names;
      } else {
        remove = targets.map((t) => {
          const full = refString(withDefaultTag(parseReference(t).ref));
          const local = ImageService.normalizeTarget(t);
          const hit = img.names.find((n) => n === full || n === local);
          if (!hit) throw notFound(`${t}: tag not known`);
          return hit;
        });
      }
      const next = images.map((i) => (i.id === img.id ? {...i, names: i.names.filter((n) => !remove.includes(n)), namesHistory: [...remove, ...(i.namesHistory ?? [])]} : i));
      return {images: next, result: {id: img.id, removed: remove}};
    });
    for (const n of removed) await imageEvent(this.paths, id, n, 'untag');
    return removed;
  }

  /**
   * podman rmi: a name of an image that has other names only untags; an ID
   * (or the last name) removes the image. Images used by containers need
   * force (then the containers must be removed by the caller first).
   */
  async remove(inputs: string[], opts: {force?: boolean; all?: boolean} = {}): Promise<RemoveReport[]> {
    const search = this.searchRegistries();
    const reports = await this.store.update((images) => {
      let next = [...images];
      const out: RemoveReport[] = [];
      const targets = opts.all ? images.map((i) => i.id) : inputs;
      for (const input of targets) {
        const report: RemoveReport = {input, untagged: []};
        out.push(report);
        try {
          const img = getImage(next, input, {searchRegistries: search});
          const byName = !img.id.startsWith(input.replace(/^sha256:/, '')) && img.names.length > 1;
          if (byName && !opts.all) {
            const name = img.names.find((n) => findImage([{...img, names: [n]}], input, {searchRegistries: search}));
            if (name) {
              next = next.map((i) => (i.id === img.id ? {...i, names: i.names.filter((n) => n !== name)} : i));
              report.untagged.push(name);
              continue;
            }
          }
          const users = this.usage.containersUsing(img.id);
          if (users.length > 0 && !opts.force) {
            throw new SkiffError('conflict', `image used by ${users[0]}: image is in use by a container: consider listing external containers and force-removing image`);
          }
          next = next.filter((i) => i.id !== img.id);
          report.untagged.push(...img.names);
          report.deleted = img.id;
        } catch (err) {
          report.error = err instanceof SkiffError ? err : new SkiffError('internal', messageOf(err), {cause: err});
        }
      }
      const changed = out.some((r) => r.deleted || r.untagged.length);
      return {images: changed ? next : undefined, result: out};
    });
    for (const r of reports) {
      if (r.error) continue;
      if (r.deleted) await imageEvent(this.paths, r.deleted, r.untagged[0] ?? r.deleted, 'remove');
      else for (const n of r.untagged) await imageEvent(this.paths, '', n, 'untag');
    }
    if (reports.some((r) => r.deleted)) await this.collectGarbage();
    return reports;
  }

  /** Remove dangling images (all unused ones with `all`); returns removed IDs. */
  async prune(opts: {all?: boolean} = {}): Promise<string[]> {
    const removed = await this.store.update((images) => {
      const gone = images.filter((i) => (opts.all || i.names.length === 0) && this.usage.containersUsing(i.id).length === 0);
      if (gone.length === 0) return {result: [] as string[]};
      const ids = new Set(gone.map((i) => i.id));
      return {images: images.filter((i) => !ids.has(i.id)), result: [...ids]};
    });
    for (const id of removed) await imageEvent(this.paths, id, id, 'remove');
    if (removed.length) await this.collectGarbage();
    return removed;
  }

  /**
   * Delete layers and blobs no image references. Runs under the images lock
   * so a pull cannot record an image between our read and our delete; layers
   * a pull is building or has pinned are skipped by the layer store.
   */
  async collectGarbage(): Promise<{layers: string[]; blobs: string[]}> {
    return this.store.update((images) => {
      const usedLayers = new Set(images.flatMap((i) => i.layers));
      const usedBlobs = new Set(images.flatMap((i) => [i.configDigest, i.manifestDigest, i.digest]));
      const layers = this.layers.removeUnused(this.layers.list().map((l) => l.chainId), usedLayers);
      const blobs: string[] = [];
      for (const d of this.blobs.list()) {
        if (usedBlobs.has(d)) continue;
        this.blobs.remove(d);
        blobs.push(d);
      }
      return {result: {layers, blobs}};
    });
  }

  /** podman image inspect's JSON for one image. */
  inspect(img: ImageRecord): ImageInspect {
    const config = this.config(img);
    const manifestBytes = this.blobs.getIfExists(img.manifestDigest);
    const manifest = manifestBytes ? decodeManifest(manifestBytes) : undefined;
    const diffs = img.layers.map((l) => this.layers.diffPath(l));
    const top = diffs[diffs.length - 1];
    return {
      Id: img.id,
      Digest: img.digest,
      RepoTags: img.names,
      RepoDigests: img.repoDigests,
      Parent: '',
      Comment: (config.history ?? []).at(-1)?.comment ?? '',
      Created: img.created,
      Config: config.config ?? {},
      Version: typeof config.docker_version === 'string' ? config.docker_version : '',
      Author: config.author ?? '',
      Architecture: config.architecture,
      Os: config.os,
      ...(config.variant ? {Variant: config.variant} : {}),
      Size: img.size,
      VirtualSize: img.size,
      GraphDriver: {
        Name: 'overlay',
        Data: {
          ...(diffs.length > 1 ? {LowerDir: diffs.slice(0, -1).reverse().join(':')} : {}),
          ...(top ? {UpperDir: top} : {}),
        },
      },
      RootFS: {Type: 'layers', Layers: config.rootfs.diff_ids},
      Labels: config.config?.Labels ?? null,
      Annotations: manifest?.kind === 'manifest' ? manifest.annotations ?? {} : {},
      ManifestType: img.manifestMediaType,
      User: config.config?.User ?? '',
      History: config.history ?? [],
      NamesHistory: img.namesHistory ?? [],
    };
  }
}

export interface ImageInspect {
  Id: string;
  Digest: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Config: NonNullable<ImageConfig['config']>;
  Version: string;
  Author: string;
  Architecture: string;
  Os: string;
  Variant?: string;
  Size: number;
  VirtualSize: number;
  GraphDriver: {Name: string; Data: Record<string, string>};
  RootFS: {Type: string; Layers: string[]};
  Labels: Record<string, string> | null;
  Annotations: Record<string, string>;
  ManifestType: string;
  User: string;
  History: NonNullable<ImageConfig['history']>;
  NamesHistory: string[];
}
