/**
 * One-off OCI layouts from raw layer bytes, for tests that need a hostile or
 * broken image in a real registry: malicious tar entries, truncated gzip,
 * wrong diff IDs, big random layers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {createHash} from 'node:crypto';
import {HOST_ARCH} from './images';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

export interface CustomLayer {
  /** The uncompressed tar. */
  tar: Buffer;
  /** Bytes as stored in the registry; default gzip of tar. */
  blob?: Buffer;
  /** Diff ID written into the config; default sha256 of tar. */
  diffId?: string;
}

export interface CustomImage {
  layoutDir: string;
  ref: string;
  configDigest: string;
  manifestDigest: string;
}

export function customImage(layers: CustomLayer[], ref = 'custom'): CustomImage {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-custom-'));
  process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}));
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, {recursive: true});
  const put = (b: Buffer) => {
    const d = sha(b);
    fs.writeFileSync(path.join(blobs, d.slice(7)), b);
    return {digest: d, size: b.length};
  };
  const layerDescs = layers.map((l) => ({mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(l.blob ?? zlib.gzipSync(l.tar))}));
  const config = Buffer.from(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: HOST_ARCH,
      os: 'linux',
      config: {Cmd: ['sh']},
      rootfs: {type: 'layers', diff_ids: layers.map((l) => l.diffId ?? sha(l.tar))},
    }),
  );
  const cfg = put(config);
  const manifest = Buffer.from(
    JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg}, layers: layerDescs}),
  );
  const man = put(manifest);
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}));
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', ...man, annotations: {'org.opencontainers.image.ref.name': ref}}],
    }),
  );
  return {layoutDir: dir, ref, configDigest: cfg.digest, manifestDigest: man.digest};
}
