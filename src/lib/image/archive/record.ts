/**
 * Shared by load and import: build an image's layers from local tar
 * streams (through the same verified unpack pipeline as pulls, so the same
 * security rules and tar-split recording apply) and record the image.
 */
import type {ImageService} from '../service';
import {assignName, type ImageRecord} from '../store';
import {chainIds, digestHex, type ImageConfig} from '../manifest';
import {unpackLayerBlob} from '../layer-stream';
import type {Lock} from '../../state/lock';
import {SkiffError} from '../../util/errors';

export interface BuiltLayers {
  chain: string[];
  sizes: number[];
  pins: Lock[];
  /** Chain IDs this call created (to remove again if the image is not recorded). */
  built: string[];
}

export async function buildLayers(svc: ImageService, diffIds: string[], open: (i: number) => AsyncIterable<Buffer>, onLayer?: (diffId: string, built: boolean) => void): Promise<BuiltLayers> {
  const chain = chainIds(diffIds);
  const out: BuiltLayers = {chain, sizes: [], pins: [], built: []};
  try {
    for (let i = 0; i < diffIds.length; i++) {
      const {record, pin, built} = await svc.layers.ensure(chain[i], {diffId: diffIds[i], parent: i > 0 ? chain[i - 1] : undefined}, async (diffDir) => {
        const r = await unpackLayerBlob(open(i), diffDir, diffIds[i], 'none');
        return {size: r.size};
      });
      out.pins.push(pin);
      if (built) out.built.push(chain[i]);
      out.sizes.push(record.size);
      onLayer?.(diffIds[i], built);
    }
  } catch (err) {
    discardLayers(svc, out);
    throw err;
  }
  return out;
}

/** Undo buildLayers: release the pins and remove the layers it built that no image uses. */
export function discardLayers(svc: ImageService, b: BuiltLayers): void {
  for (const p of b.pins) p.release();
  b.pins = [];
  const inUse = new Set(svc.store.list().flatMap((i) => i.layers));
  svc.layers.removeUnused(b.built, inUse);
}

export async function recordImage(
  svc: ImageService,
  r: {config: Buffer; configDigest: string; manifest: Buffer; manifestDigest: string; manifestMediaType: string; layers: BuiltLayers; names: string[]},
): Promise<ImageRecord> {
  const id = digestHex(r.configDigest);
  const cfg = JSON.parse(r.config.toString('utf8')) as ImageConfig;
  const t = cfg.created ? Date.parse(cfg.created) : NaN;
  try {
    return await svc.store.update((images) => {
      svc.blobs.put(r.manifestDigest, r.manifest);
      svc.blobs.put(r.configDigest, r.config);
      for (const c of r.layers.chain) {
        if (!svc.layers.get(c)) throw new SkiffError('storage', `layer ${c} vanished before image ${id} was recorded`);
      }
      const existing = images.find((img) => img.id === id);
      const record: ImageRecord = existing ?? {
        id,
        names: [],
        repoDigests: [],
        digest: r.manifestDigest,
        manifestDigest: r.manifestDigest,
        manifestMediaType: r.manifestMediaType,
        configDigest: r.configDigest,
        layers: r.layers.chain,
        size: r.layers.sizes.reduce((a, b) => a + b, 0),
        created: Number.isNaN(t) ? new Date(0).toISOString() : new Date(t).toISOString(),
        added: new Date().toISOString(),
      };
      let next = existing ? images : [...images, record];
      for (const n of r.names) next = assignName(next, id, n);
      return {images: next, result: next.find((i) => i.id === id)!};
    });
  } finally {
    for (const p of r.layers.pins) p.release();
    r.layers.pins = [];
  }
}
