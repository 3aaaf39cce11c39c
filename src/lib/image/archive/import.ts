/**
 * `skiff import`: a filesystem tarball (plain or gzip; a file or stdin)
 * becomes a one-layer image. The tarball is hashed first (its diff ID names
 * the layer), then unpacked through the pull pipeline (security rules,
 * tar-split). stdin is spooled to root/tmp so it can be read twice.
 */
import {createHash, randomBytes} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type {Paths} from '../../state/paths';
import {ensureDir} from '../../state/atomic';
import type {ImageService} from '../service';
import {MT, sha256Digest, sniffCompression, type ImageConfig} from '../manifest';
import {invalidInput} from '../../util/errors';
import {goArch, goOs, goVariant} from '../../util/platform';
import {buildLayers, recordImage} from './record';
import {readFileChunks} from '../../storage/unpack/file-source';

export interface ImportOptions {
  /** A file, or undefined for `stdin`. */
  file?: string;
  stdin?: AsyncIterable<Buffer>;
  name?: string;
  changes?: string[];
  message?: string;
}

async function diffIdOf(file: string): Promise<string> {
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(4);
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  const c = sniffCompression(head);
  if (c === 'zstd') throw invalidInput('zstd-compressed tarballs are not supported by import: decompress it first');
  const h = createHash('sha256');
  const src = fs.createReadStream(file, {highWaterMark: 1 << 20});
  const stream = c === 'gzip' ? src.pipe(zlib.createGunzip({chunkSize: 256 * 1024})) : src;
  try {
    for await (const chunk of stream) h.update(chunk as Buffer);
  } catch (err) {
    throw invalidInput(`reading ${file}: ${(err as Error).message}`, err);
  }
  return 'sha256:' + h.digest('hex');
}

export async function importTarball(paths: Paths, svc: ImageService, opts: ImportOptions): Promise<string> {
  let file = opts.file;
  let spooled: string | undefined;
  try {
    if (!file) {
      ensureDir(paths.tmpDir);
      spooled = file = path.join(paths.tmpDir, `import-${randomBytes(6).toString('hex')}`);
      const fd = fs.openSync(file, 'wx', 0o600);
      try {
        for await (const c of opts.stdin ?? (process.stdin as AsyncIterable<Buffer>)) {
          let off = 0;
          while (off < c.length) off += fs.writeSync(fd, c, off);
        }
      } finally {
        fs.closeSync(fd);
      }
    } else if (!fs.existsSync(file)) {
      throw invalidInput(`${file}: no such file or directory`);
    }
    const container = applyChanges(opts.changes ?? []);
    const diffId = await diffIdOf(file);
    const f = file;
    const layers = await buildLayers(svc, [diffId], () => readFileChunks(f));
    const now = new Date().toISOString();
    const config: ImageConfig = {
      created: now,
      architecture: goArch(),
      os: goOs(),
      ...(goVariant() ? {variant: goVariant()} : {}),
      config: container,
      rootfs: {type: 'layers', diff_ids: [diffId]},
      history: [{created: now, created_by: `/bin/sh -c #(nop) ADD file:${diffId.slice(7)} in /`, ...(opts.message ? {comment: opts.message} : {})}],
    };
    const cfg = Buffer.from(JSON.stringify(config));
    const cfgDigest = sha256Digest(cfg);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: {mediaType: MT.ociConfig, digest: cfgDigest, size: cfg.length},
        layers: [{mediaType: MT.ociLayerTar, digest: diffId, size: layers.sizes[0]}],
      }),
    );
    const rec = await recordImage(svc, {
      config: cfg,
      configDigest: cfgDigest,
      manifest,
      manifestDigest: sha256Digest(manifest),
      manifestMediaType: MT.ociManifest,
      layers,
      names: opts.name ? [opts.name] : [],
    });
    return rec.id;
  } finally {
    if (spooled) fs.rmSync(spooled, {force: true});
  }
}

type Container = NonNullable<ImageConfig['config']>;

/** Dockerfile-style instructions: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE (also INSTR=value). */
export function applyChanges(changes: string[]): Container {
  const c: Container = {};
  for (const raw of changes) {
    const m = /^\s*([A-Za-z]+)(?:\s+|=)([\s\S]*)$/.exec(raw);
    if (!m) throw invalidInput(`invalid change "${raw}": expected INSTRUCTION VALUE`);
    const instr = m[1].toUpperCase();
    const value = m[2].trim();
    switch (instr) {
      case 'CMD':
        c.Cmd = commandForm(value);
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = commandForm(value);
        break;
      case 'WORKDIR':
        c.WorkingDir = value;
        break;
      case 'USER':
        c.User = value;
        break;
      case 'ENV':
        for (const [k, v] of pairs(value, raw)) c.Env = [...(c.Env ?? []).filter((e) => !e.startsWith(`${k}=`)), `${k}=${v}`];
        break;
      case 'LABEL':
        for (const [k, v] of pairs(value, raw)) c.Labels = {...(c.Labels ?? {}), [k]: v};
        break;
      case 'EXPOSE':
        for (const p of value.split(/\s+/).filter(Boolean)) {
          if (!/^\d+(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/.test(p)) throw invalidInput(`invalid change "${raw}": invalid port "${p}"`);
          c.ExposedPorts = {...(c.ExposedPorts ?? {}), [p.includes('/') ? p : `${p}/tcp`]: {}};
        }
        break;
      default:
        throw invalidInput(`invalid change "${raw}": ${instr} is not one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR`);
    }
  }
  return c;
}

function commandForm(v: string): string[] {
  if (v.startsWith('[')) {
    try {
      const a = JSON.parse(v);
      if (Array.isArray(a) && a.every((x) => typeof x === 'string')) return a;
    } catch {
      /* shell form */
    }
  }
  return ['/bin/sh', '-c', v];
}

function unquote(s: string): string {
  if (s.length >= 2 && ((s[0] === '"' && s.endsWith('"')) || (s[0] === "'" && s.endsWith("'")))) return s.slice(1, -1);
  return s;
}

/** "k=v k2='v 2'" or the legacy "k v" form. */
function pairs(value: string, raw: string): Array<[string, string]> {
  if (!value.includes('=')) {
    const sp = value.search(/\s/);
    if (sp < 0) throw invalidInput(`invalid change "${raw}": expected KEY=VALUE`);
    return [[value.slice(0, sp), value.slice(sp).trim()]];
  }
  const out: Array<[string, string]> = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  let m: RegExpExecArray | null;
  let consumed = '';
  while ((m = re.exec(value))) {
    out.push([m[1], unquote(m[2])]);
    consumed += m[0];
  }
  if (out.length === 0) throw invalidInput(`invalid change "${raw}": expected KEY=VALUE`);
  return out;
}
