/**
 * Manifests, indexes and image configs: decoding with validation, and the
 * choice of one platform from an index. Pure functions over bytes and
 * objects; no I/O. Media types per the OCI image spec and Docker's schema2.
 */
import {createHash} from 'node:crypto';
import {digestMismatch, invalidInput, unsupported} from '../util/errors';

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** What a pull accepts, most preferred first. */
export const MANIFEST_ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest];

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

/** The parts of an image config skiff uses (OCI image-spec config.md); unknown keys are kept. */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, object>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, object>;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    [k: string]: unknown;
  };
  rootfs: {type: string; diff_ids: string[]};
  history?: Array<{created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean}>;
  [k: string]: unknown;
}

export function sha256Digest(bytes: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

/** Digest hex part, after validating the form algorithm:hex. */
export function digestHex(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw invalidInput(`unsupported or malformed digest "${digest}"`);
  return m[1];
}

export function verifyDigest(bytes: Uint8Array, expected: string, what: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== expected) throw digestMismatch(`${what}: digest mismatch: expected ${expected}, got ${actual}`);
}

function isDescriptor(d: unknown): d is Descriptor {
  if (typeof d !== 'object' || d === null) return false;
  const o = d as Record<string, unknown>;
  return typeof o.mediaType === 'string' && typeof o.digest === 'string' && typeof o.size === 'number' && Number.isSafeInteger(o.size) && o.size >= 0;
}

function checkDescriptor(d: unknown, what: string): Descriptor {
  if (!isDescriptor(d)) throw invalidInput(`invalid manifest: malformed ${what} descriptor`);
  digestHex(d.digest);
  return d;
}

/**
 * Decode manifest bytes. `headerType` is the Content-Type the registry sent;
 * the mediaType field inside wins when present (a registry may be vague).
 */
export function decodeManifest(bytes: Uint8Array, headerType?: string): ImageManifest | ImageIndex {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalidInput('invalid manifest: not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalidInput('invalid manifest: not a JSON object');
  const type = (typeof doc.mediaType === 'string' && doc.mediaType) || headerType?.split(';')[0].trim() || '';
  if (type === MT.dockerSchema1 || type === MT.dockerSchema1Signed || doc.schemaVersion === 1) {
    throw unsupported('schema1 manifests are not supported: push the image again with a current client');
  }
  if (doc.schemaVersion !== 2) throw invalidInput(`invalid manifest: unsupported schemaVersion ${String(doc.schemaVersion)}`);
  const isIndex = type === MT.ociIndex || type === MT.dockerList || (!type && Array.isArray(doc.manifests));
  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw invalidInput('invalid image index: no manifests');
    return {kind: 'index', mediaType: type || MT.ociIndex, manifests: doc.manifests.map((d, i) => checkDescriptor(d, `manifests[${i}]`))};
  }
  if (type && type !== MT.ociManifest && type !== MT.dockerManifest) throw unsupported(`unsupported manifest type "${type}"`);
  if (!Array.isArray(doc.layers)) throw invalidInput('invalid manifest: no layers');
  return {
    kind: 'manifest',
    mediaType: type || MT.ociManifest,
    config: checkDescriptor(doc.config, 'config'),
    layers: doc.layers.map((d, i) => checkDescriptor(d, `layers[${i}]`)),
    annotations: (doc.annotations as Record<string, string>) ?? undefined,
  };
}

export function decodeConfig(bytes: Uint8Array): ImageConfig {
  let doc: ImageConfig;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalidInput('invalid image config: not JSON');
  }
  if (typeof doc !== 'object' || doc === null) throw invalidInput('invalid image config: not a JSON object');
  if (!doc.rootfs || !Array.isArray(doc.rootfs.diff_ids)) throw invalidInput('invalid image config: no rootfs.diff_ids');
  for (const d of doc.rootfs.diff_ids) digestHex(d);
  return doc;
}

export type Compression = 'gzip' | 'zstd' | 'none';

export function layerCompression(mediaType: string): Compression {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar')) return 'none';
  throw unsupported(`unsupported layer media type "${mediaType}"`);
}

/** Compression from the first bytes of a blob, for registries that mislabel layers. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/**
 * Chain IDs (OCI image-spec config.md): ChainID(L0) = DiffID(L0),
 * ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    out.push(out.length === 0 ? d : 'sha256:' + createHash('sha256').update(`${out[out.length - 1]} ${d}`).digest('hex'));
  }
  return out;
}

export interface PlatformWanted {
  os: string;
  architecture: string;
  variant?: string;
}

/** Normalise user spellings (x86_64, aarch64, armhf) to OCI names. */
export function normalizePlatform(p: PlatformWanted): PlatformWanted {
  const arch = ({x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386', i686: '386'} as Record<string, string>)[p.architecture] ?? p.architecture;
  let variant = p.variant;
  if (p.architecture === 'armhf' && !variant) variant = 'v7';
  if (p.architecture === 'armel' && !variant) variant = 'v6';
  return {os: p.os, architecture: arch, variant: variant || undefined};
}

/** "linux/arm64/v8" → platform; validates the form. */
export function parsePlatform(s: string): PlatformWanted {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => !x)) throw invalidInput(`invalid platform "${s}": expected OS/ARCH[/VARIANT]`);
  return normalizePlatform({os: parts[0], architecture: parts[1], variant: parts[2]});
}

export function platformString(p: {os: string; architecture: string; variant?: string}): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * Pick the manifest for a platform from an index, as containers/image does:
 * os and architecture must match; a requested variant must match, and with
 * no variant requested an entry without variant is preferred (arm64 treats
 * "" and "v8" alike). Entries that are not image manifests (attestations,
 * "unknown/unknown") are ignored.
 */
export function choosePlatform(index: ImageIndex, want: PlatformWanted): Descriptor | undefined {
  const w = normalizePlatform(want);
  const variantOf = (arch: string, v?: string) => (arch === 'arm64' && (v === undefined || v === '') ? 'v8' : v || '');
  const candidates = index.manifests.filter((d) => {
    if (d.mediaType !== MT.ociManifest && d.mediaType !== MT.dockerManifest) return false;
    const p = d.platform;
    return !!p && p.os === w.os && normalizePlatform({os: p.os, architecture: p.architecture}).architecture === w.architecture;
  });
  if (w.variant) {
    const want = variantOf(w.architecture, w.variant);
    return candidates.find((d) => variantOf(w.architecture, d.platform?.variant) === want);
  }
  const hostVariant = variantOf(w.architecture, undefined);
  return candidates.find((d) => variantOf(w.architecture, d.platform?.variant) === hostVariant) ?? candidates[0];
}
