/**
 * `skiff save`: images → docker-archive, oci-archive or an OCI layout
 * directory. Layers are written uncompressed, rebuilt from their
 * tar-split so their diff IDs (and so the config and the image ID) stay
 * the same. A layer without tar-split is regenerated (layer-tar/generate)
 * and spooled to a temp file first, since its size and new diff ID must be
 * known before it is written; the images using it get a config with the new
 * diff ID (and so a new image ID).
 */
import {createHash, randomBytes} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {Writable} from 'node:stream';
import type {ImageService} from '../service';
import type {ImageRecord} from '../store';
import type {Paths} from '../../state/paths';
import type {Lock} from '../../state/lock';
import {ensureDir} from '../../state/atomic';
import {layerTar} from '../../storage/layer-tar';
import {digestHex, MT, sha256Digest} from '../manifest';
import {invalidInput, storageError} from '../../util/errors';
import {TarOut} from './tar-out';

export type SaveFormat = 'docker-archive' | 'oci-archive' | 'oci-dir';

export interface SaveOptions {
  format: SaveFormat;
  /** Destination file (archives) or directory (oci-dir); undefined: `stdout`. */
  output?: string;
  stdout?: Writable;
  /** Progress lines (stderr), unless quiet. */
  progress?: (line: string) => void;
}

interface LayerOut {
  chainId: string;
  diffId: string;
  size: number;
  open: () => AsyncIterable<Buffer>;
}

interface ImageOut {
  img: ImageRecord;
  tags: string[];
  config: Buffer;
  configDigest: string;
  layers: LayerOut[];
}

/** Writes members of the output, an archive or a directory. */
interface Emitter {
  file(name: string, body: Buffer | AsyncIterable<Buffer>, size?: number): Promise<void>;
  end(): Promise<void>;
}

export async function saveImages(paths: Paths, svc: ImageService, inputs: Array<{input: string; img: ImageRecord; tag?: string}>, opts: SaveOptions): Promise<void> {
  const pins: Lock[] = [];
  const spooled: string[] = [];
  try {
    const layerInfo = new Map<string, LayerOut>();
    const images: ImageOut[] = [];
    const byId = new Map<string, ImageOut>();
    for (const {img, tag} of inputs) {
      const seen = byId.get(img.id);
      if (seen) {
        if (tag && !seen.tags.includes(tag)) seen.tags.push(tag);
        continue;
      }
      const outLayers: LayerOut[] = [];
      for (const chainId of img.layers) {
        let info = layerInfo.get(chainId);
        if (!info) {
          const pin = await svc.layers.pin(chainId);
          if (!pin) throw storageError(`layer ${chainId} of image ${img.id} is missing`);
          pins.push(pin);
          const rec = svc.layers.get(chainId)!;
          const lt = layerTar(svc.layers, rec);
          if (lt.exact) {
            info = {chainId, diffId: rec.diffId, size: rec.size, open: () => layerTar(svc.layers, rec).stream};
          } else {
            ensureDir(paths.tmpDir);
            const tmp = path.join(paths.tmpDir, `save-${randomBytes(6).toString('hex')}.tar`);
            spooled.push(tmp);
            const {digest, size} = await spool(lt.stream, tmp);
            info = {chainId, diffId: digest, size, open: () => fs.createReadStream(tmp, {highWaterMark: 1 << 20}) as AsyncIterable<Buffer>};
          }
          layerInfo.set(chainId, info);
        }
        outLayers.push(info);
      }
      let config = svc.blobs.get(img.configDigest);
      let configDigest = img.configDigest;
      const doc = JSON.parse(config.toString('utf8'));
      const diffIds = outLayers.map((l) => l.diffId);
      if (JSON.stringify(doc.rootfs?.diff_ids) !== JSON.stringify(diffIds)) {
        doc.rootfs.diff_ids = diffIds;
        config = Buffer.from(JSON.stringify(doc));
        configDigest = sha256Digest(config);
        opts.progress?.(`image ${img.id.slice(0, 12)} has layers stored without tar-split: saved with new diff IDs as ${digestHex(configDigest).slice(0, 12)}`);
      }
      const out: ImageOut = {img, tags: tag ? [tag] : [], config, configDigest, layers: outLayers};
      byId.set(img.id, out);
      images.push(out);
    }

    let stream: Writable | undefined;
    let emitter: Emitter;
    if (opts.format === 'oci-dir') {
      if (!opts.output) throw invalidInput('--format oci-dir needs an output directory (-o)');
      emitter = dirEmitter(opts.output);
    } else {
      stream = opts.output ? fs.createWriteStream(opts.output, {mode: 0o644, highWaterMark: 1 << 20}) : (opts.stdout ?? process.stdout);
      const tar = new TarOut(stream);
      emitter = {file: (n, b, s) => tar.file(n, b, s), end: () => tar.end()};
    }
    try {
      if (opts.format === 'docker-archive') await writeDocker(emitter, images, opts);
      else await writeOci(emitter, images, opts);
      await emitter.end();
      if (stream && opts.output) await new Promise<void>((res, rej) => (stream as fs.WriteStream).end((err?: Error | null) => (err ? rej(err) : res())));
    } catch (err) {
      if (stream && opts.output) {
        stream.on('error', () => {});
        stream.destroy();
        fs.rmSync(opts.output, {force: true});
      }
      throw err;
    }
  } finally {
    for (const p of pins) p.release();
    for (const f of spooled) fs.rmSync(f, {force: true});
  }
}

async function spool(src: AsyncIterable<Buffer>, file: string): Promise<{digest: string; size: number}> {
  const h = createHash('sha256');
  let size = 0;
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    for await (const c of src) {
      h.update(c);
      size += c.length;
      let off = 0;
      while (off < c.length) off += fs.writeSync(fd, c, off);
    }
  } finally {
    fs.closeSync(fd);
  }
  return {digest: 'sha256:' + h.digest('hex'), size};
}

function dirEmitter(dir: string): Emitter {
  fs.mkdirSync(dir, {recursive: true});
  return {
    async file(name, body) {
      const target = path.join(dir, name);
      fs.mkdirSync(path.dirname(target), {recursive: true});
      if (Buffer.isBuffer(body)) {
        fs.writeFileSync(target, body);
        return;
      }
      const fd = fs.openSync(target, 'w', 0o644);
      try {
        for await (const c of body) {
          let off = 0;
          while (off < c.length) off += fs.writeSync(fd, c, off);
        }
      } finally {
        fs.closeSync(fd);
      }
    },
    async end() {},
  };
}

async function writeDocker(out: Emitter, images: ImageOut[], opts: SaveOptions): Promise<void> {
  const written = new Set<string>();
  for (const im of images) {
    for (const l of im.layers) {
      const name = `${digestHex(l.diffId)}.tar`;
      if (written.has(name)) continue;
      written.add(name);
      opts.progress?.(`Copying blob ${l.diffId}`);
      await out.file(name, l.open(), l.size);
    }
    const cfgName = `${digestHex(im.configDigest)}.json`;
    if (!written.has(cfgName)) {
      written.add(cfgName);
      opts.progress?.(`Copying config ${im.configDigest}`);
      await out.file(cfgName, im.config);
    }
  }
  const manifest = images.map((im) => ({
    Config: `${digestHex(im.configDigest)}.json`,
    RepoTags: im.tags,
    Layers: im.layers.map((l) => `${digestHex(l.diffId)}.tar`),
  }));
  opts.progress?.('Writing manifest to image destination');
  await out.file('manifest.json', Buffer.from(JSON.stringify(manifest)));
}

async function writeOci(out: Emitter, images: ImageOut[], opts: SaveOptions): Promise<void> {
  const written = new Set<string>();
  await out.file('oci-layout', Buffer.from(JSON.stringify({imageLayoutVersion: '1.0.0'})));
  const index: {schemaVersion: 2; mediaType: string; manifests: object[]} = {schemaVersion: 2, mediaType: MT.ociIndex, manifests: []};
  for (const im of images) {
    for (const l of im.layers) {
      const name = `blobs/sha256/${digestHex(l.diffId)}`;
      if (written.has(name)) continue;
      written.add(name);
      opts.progress?.(`Copying blob ${l.diffId}`);
      await out.file(name, l.open(), l.size);
    }
    const cfgName = `blobs/sha256/${digestHex(im.configDigest)}`;
    if (!written.has(cfgName)) {
      written.add(cfgName);
      opts.progress?.(`Copying config ${im.configDigest}`);
      await out.file(cfgName, im.config);
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: {mediaType: MT.ociConfig, digest: im.configDigest, size: im.config.length},
        layers: im.layers.map((l) => ({mediaType: MT.ociLayerTar, digest: l.diffId, size: l.size})),
      }),
    );
    const md = sha256Digest(manifest);
    const mName = `blobs/sha256/${digestHex(md)}`;
    if (!written.has(mName)) {
      written.add(mName);
      await out.file(mName, manifest);
    }
    const refs = im.tags.length ? im.tags : [undefined];
    for (const t of refs) {
      index.manifests.push({mediaType: MT.ociManifest, digest: md, size: manifest.length, ...(t ? {annotations: {'org.opencontainers.image.ref.name': t}} : {})});
    }
  }
  opts.progress?.('Writing manifest to image destination');
  await out.file('index.json', Buffer.from(JSON.stringify(index)));
}
