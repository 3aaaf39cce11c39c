/**
 * `skiff load`: a docker-archive or oci-archive (optionally gzip-compressed,
 * from a file or stdin) → images in the store. The outer archive is first
 * spooled into root/tmp (members as flat files; docker-archive's
 * manifest.json may come last), then each image's layers go through the
 * pull pipeline's unpacker (same security rules, tar-split recorded, diff
 * IDs verified against the config). A failure removes what it built.
 */
import {randomBytes} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {Readable} from 'node:stream';
import type {Paths} from '../../state/paths';
import {ensureDir} from '../../state/atomic';
import {removeTree} from '../../state/remove-tree';
import type {ImageService} from '../service';
import {decodeConfig, decodeManifest, digestHex, MT, sha256Digest, type ImageManifest} from '../manifest';
import {TarParser, type EntrySink} from '../../storage/unpack/parser';
import {readFileChunks} from '../../storage/unpack/file-source';
import type {TarEntry} from '../../storage/unpack/entry';
import {invalidInput, isSkiffError, unpackError} from '../../util/errors';
import {buildLayers, discardLayers, recordImage} from './record';
import {parseReference, refString, withDefaultTag} from '../reference';

export interface LoadResult {
  id: string;
  names: string[];
}

interface Member {
  file?: string;
  link?: string;
}

class Spooler implements EntrySink {
  readonly members = new Map<string, Member>();
  private fd = -1;
  private n = 0;
  constructor(private readonly dir: string) {}

  entry(e: TarEntry): void {
    const name = clean(e.path);
    if (name === '') return;
    if (e.type === 'file') {
      const file = path.join(this.dir, `m${this.n++}`);
      this.fd = fs.openSync(file, 'wx', 0o600);
      this.members.set(name, {file});
    } else if (e.type === 'symlink') {
      this.members.set(name, {link: clean(path.posix.join(path.posix.dirname(name), e.linkpath))});
    } else if (e.type === 'hardlink') {
      this.members.set(name, {link: clean(e.linkpath)});
    }
  }

  data(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off);
  }

  end(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  abort(): void {
    this.end();
  }

  resolve(name: string): string | undefined {
    let m = this.members.get(clean(name));
    for (let i = 0; i < 16 && m?.link !== undefined; i++) m = this.members.get(m.link);
    return m?.file;
  }

  read(name: string, what: string): Buffer {
    const f = this.resolve(name);
    if (!f) throw invalidInput(`invalid archive: ${what} "${name}" is missing`);
    return fs.readFileSync(f);
  }
}

function clean(name: string): string {
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') throw unpackError(`archive member "${name}": path escapes the archive`);
    parts.push(p);
  }
  return parts.join('/');
}

async function* maybeGunzip(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head = first.value;
  const rest = (async function* () {
    yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  })();
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const z = zlib.createGunzip({chunkSize: 256 * 1024});
    const input = Readable.from(rest, {objectMode: false});
    input.on('error', (err) => z.destroy(err));
    input.pipe(z);
    for await (const c of z) yield c as Buffer;
  } else {
    yield* rest;
  }
}

export async function loadArchive(paths: Paths, svc: ImageService, source: AsyncIterable<Buffer>, progress?: (line: string) => void): Promise<LoadResult[]> {
  ensureDir(paths.tmpDir);
  const dir = path.join(paths.tmpDir, `load-${randomBytes(6).toString('hex')}`);
  fs.mkdirSync(dir, {mode: 0o700});
  try {
    const sp = new Spooler(dir);
    const parser = new TarParser(sp);
    try {
      for await (const c of maybeGunzip(source)) parser.push(c);
      parser.finish();
    } catch (err) {
      sp.abort();
      if (isSkiffError(err)) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw invalidInput(`reading the archive: ${code?.startsWith('Z_') ? 'corrupt gzip stream: ' : ''}${(err as Error).message}`, err);
    }
    if (sp.resolve('manifest.json')) return await loadDocker(svc, sp, progress);
    if (sp.resolve('index.json')) return await loadOci(svc, sp, progress);
    throw invalidInput('payload does not match any of the supported image formats: no manifest.json (docker-archive) or index.json (oci-archive)');
  } finally {
    removeTree(dir);
  }
}

/** Read synchronously into one reused buffer: only unpackLayerBlob consumes it (see file-source.ts). */
function fileStream(f: string): AsyncIterable<Buffer> {
  return readFileChunks(f);
}

function normalizeName(n: string): string | undefined {
  try {
    const {ref} = parseReference(n);
    return refString(withDefaultTag(ref));
  } catch {
    return undefined;
  }
}

async function loadOne(
  svc: ImageService,
  sp: Spooler,
  im: {config: Buffer; layerFiles: string[]; names: string[]; manifest?: {bytes: Buffer; mediaType: string}},
  progress?: (line: string) => void,
): Promise<LoadResult> {
  const config = decodeConfig(im.config);
  const configDigest = sha256Digest(im.config);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== im.layerFiles.length) throw invalidInput(`invalid archive: image config lists ${diffIds.length} layers, the manifest ${im.layerFiles.length}`);
  const files = im.layerFiles.map((l) => {
    const f = sp.resolve(l);
    if (!f) throw invalidInput(`invalid archive: layer "${l}" is missing`);
    return f;
  });
  const layers = await buildLayers(svc, diffIds, (i) => fileStream(files[i]), (d, built) => progress?.(built ? `Copying blob ${d} done` : `Copying blob ${d} skipped: already exists`));
  try {
    let manifest = im.manifest;
    if (!manifest) {
      const sizes = layers.sizes;
      manifest = {
        mediaType: MT.dockerManifest,
        bytes: Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MT.dockerManifest,
            config: {mediaType: MT.dockerConfig, size: im.config.length, digest: configDigest},
            layers: diffIds.map((d, i) => ({mediaType: 'application/vnd.docker.image.rootfs.diff.tar', size: sizes[i], digest: d})),
          }),
        ),
      };
    }
    progress?.(`Copying config ${configDigest} done`);
    progress?.('Writing manifest to image destination');
    const rec = await recordImage(svc, {
      config: im.config,
      configDigest,
      manifest: manifest.bytes,
      manifestDigest: sha256Digest(manifest.bytes),
      manifestMediaType: manifest.mediaType,
      layers,
      names: im.names,
    });
    return {id: rec.id, names: im.names};
  } catch (err) {
    discardLayers(svc, layers);
    throw err;
  }
}

async function loadDocker(svc: ImageService, sp: Spooler, progress?: (line: string) => void): Promise<LoadResult[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(sp.read('manifest.json', 'file').toString('utf8'));
  } catch (err) {
    if (isSkiffError(err)) throw err;
    throw invalidInput('invalid docker-archive: manifest.json is not JSON');
  }
  if (!Array.isArray(doc) || doc.length === 0) throw invalidInput('invalid docker-archive: manifest.json lists no images');
  const out: LoadResult[] = [];
  for (const e of doc as Array<{Config?: unknown; RepoTags?: unknown; Layers?: unknown}>) {
    if (typeof e.Config !== 'string' || !Array.isArray(e.Layers) || e.Layers.some((l) => typeof l !== 'string')) throw invalidInput('invalid docker-archive: malformed manifest.json entry');
    const tags = Array.isArray(e.RepoTags) ? (e.RepoTags.filter((t) => typeof t === 'string').map(normalizeName).filter(Boolean) as string[]) : [];
    out.push(await loadOne(svc, sp, {config: sp.read(e.Config, 'config'), layerFiles: e.Layers as string[], names: tags}, progress));
  }
  return out;
}

async function loadOci(svc: ImageService, sp: Spooler, progress?: (line: string) => void): Promise<LoadResult[]> {
  const blob = (digest: string, what: string): Buffer => {
    const b = sp.read(`blobs/sha256/${digestHex(digest)}`, what);
    if (sha256Digest(b) !== digest) throw invalidInput(`invalid oci-archive: ${what} ${digest} does not match its digest`);
    return b;
  };
  const index = decodeManifest(sp.read('index.json', 'file'), MT.ociIndex);
  if (index.kind !== 'index') throw invalidInput('invalid oci-archive: index.json is not an image index');
  const out: LoadResult[] = [];
  const byDigest = new Map<string, string[]>();
  const order: string[] = [];
  for (const d of index.manifests) {
    if (d.mediaType !== MT.ociManifest && d.mediaType !== MT.dockerManifest) continue;
    if (!byDigest.has(d.digest)) {
      byDigest.set(d.digest, []);
      order.push(d.digest);
    }
    const ref = d.annotations?.['io.containerd.image.name'] ?? d.annotations?.['org.opencontainers.image.ref.name'];
    const n = ref ? normalizeName(ref) : undefined;
    if (n) byDigest.get(d.digest)!.push(n);
  }
  if (order.length === 0) throw invalidInput('invalid oci-archive: index.json lists no image manifests');
  for (const md of order) {
    const bytes = blob(md, 'manifest');
    const m = decodeManifest(bytes) as ImageManifest;
    if (m.kind !== 'manifest') throw invalidInput(`invalid oci-archive: ${md} is not an image manifest`);
    const config = blob(m.config.digest, 'config');
    for (const l of m.layers) digestHex(l.digest);
    out.push(
      await loadOne(svc, sp, {config, layerFiles: m.layers.map((l) => `blobs/sha256/${digestHex(l.digest)}`), names: byDigest.get(md)!, manifest: {bytes, mediaType: m.mediaType}}, progress),
    );
  }
  return out;
}
