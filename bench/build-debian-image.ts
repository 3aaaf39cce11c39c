/**
 * Benchmark images, built as OCI image layouts and cached under
 * /var/tmp/skiff-bench (SKIFF_BENCH_CACHE), so reruns take no time.
 *
 *   node --import tsx bench/build-debian-image.ts debian   # prints the layout dir
 *   node --import tsx bench/build-debian-image.ts tiny 200 # prints the layout dir
 *
 * debian: a Debian bookworm minbase rootfs (debootstrap'd into
 *   $CACHE/rootfs when missing, from deb.debian.org) split into 4 gzip
 *   layers, ~200 MB uncompressed: the rest of the tree (etc, var, /usr
 *   minus the big three), usr/lib, usr/share, usr/bin + usr/sbin. Ref "debian".
 * tiny N: N distinct small images (refs tiny-000 ... tiny-NNN), each a
 *   shared ~16 KB base layer plus its own one-file layer, with a distinct
 *   creation time and labels, so every image has its own ID.
 *
 * Layer tars come from GNU tar (PAX, sorted, numeric owners, xattrs); the
 * layout's blobs, config and manifests are written here.
 */
import {spawn, spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const CACHE = process.env.SKIFF_BENCH_CACHE || '/var/tmp/skiff-bench';
const ROOTFS = path.join(CACHE, 'rootfs');
const MIRROR = process.env.SKIFF_BENCH_MIRROR || 'http://deb.debian.org/debian';
/** Bumped when the image recipe changes, so stale caches are rebuilt. */
const RECIPE = 'v1';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const REF_ANNOTATION = 'org.opencontainers.image.ref.name';
const ARCH = ({x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64'} as Record<string, string>)[process.arch] ?? process.arch;
const EPOCH = 1704067200; // 2024-01-01T00:00:00Z

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface Layer extends Descriptor {
  diffId: string;
  tarSize: number;
}

const sha256 = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

function initLayout(dir: string): void {
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), {recursive: true});
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}));
}

function writeBlob(dir: string, bytes: Buffer): string {
  const digest = sha256(bytes);
  const p = path.join(dir, 'blobs', 'sha256', digest.slice(7));
  if (!fs.existsSync(p)) fs.writeFileSync(p, bytes);
  return digest;
}

function jsonBlob(dir: string, mediaType: string, doc: unknown): Descriptor {
  const bytes = Buffer.from(JSON.stringify(doc));
  return {mediaType, digest: writeBlob(dir, bytes), size: bytes.length};
}

const TAR_FLAGS = [
  '--create', '--file=-', '--format=posix', '--sort=name', '--numeric-owner',
  '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
  '--xattrs', '--xattrs-include=*', '--no-selinux', '--anchored',
];

/** Streams `tar` (cwd `cwd`, extra args) through sha256 (diffID) and gzip into a blob. */
function tarLayer(dir: string, cwd: string, args: string[], level = 6): Promise<Layer> {
  return new Promise((resolve, reject) => {
    const tmp = path.join(dir, 'blobs', `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const tar = spawn('tar', [...TAR_FLAGS, '-C', cwd, ...args], {stdio: ['ignore', 'pipe', 'pipe']});
    let stderr = '';
    tar.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const diff = createHash('sha256');
    const comp = createHash('sha256');
    let tarSize = 0;
    let size = 0;
    const gz = zlib.createGzip({level});
    const out = fs.createWriteStream(tmp);
    tar.stdout.on('data', (c: Buffer) => {
      diff.update(c);
      tarSize += c.length;
    });
    gz.on('data', (c: Buffer) => {
      comp.update(c);
      size += c.length;
    });
    tar.stdout.pipe(gz).pipe(out);
    let code: number | null = null;
    const done = () => {
      if (code === null || !out.closed) return;
      if (code !== 0) return reject(new Error(`tar ${args.join(' ')} failed (${code}): ${stderr.trim()}`));
      const digest = 'sha256:' + comp.digest('hex');
      fs.renameSync(tmp, path.join(dir, 'blobs', 'sha256', digest.slice(7)));
      resolve({mediaType: LAYER_GZIP, digest, size, diffId: 'sha256:' + diff.digest('hex'), tarSize});
    };
    tar.on('error', reject);
    out.on('error', reject);
    tar.on('close', (c) => {
      code = c ?? 1;
      done();
    });
    out.on('close', done);
  });
}

function image(dir: string, layers: Layer[], cfg: {created: string; config: Record<string, unknown>; history: string[]}): Descriptor {
  const config = jsonBlob(dir, OCI_CONFIG, {
    created: cfg.created,
    architecture: ARCH,
    os: 'linux',
    config: cfg.config,
    rootfs: {type: 'layers', diff_ids: layers.map((l) => l.diffId)},
    history: cfg.history.map((created_by) => ({created: cfg.created, created_by})),
  });
  return jsonBlob(dir, OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers: layers.map(({mediaType, digest, size}) => ({mediaType, digest, size})),
  });
}

function writeIndex(dir: string, refs: [string, Descriptor][]): void {
  const manifests = refs.map(([ref, d]) => ({...d, annotations: {[REF_ANNOTATION]: ref}}));
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({schemaVersion: 2, mediaType: OCI_INDEX, manifests}));
}

/** Builds into DIR.tmp and renames, so an interrupted build never looks cached. */
async function cached(dir: string, build: (tmp: string) => Promise<void>): Promise<string> {
  const stamp = path.join(dir, 'skiff-bench-recipe');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === RECIPE) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, {recursive: true, force: true});
  initLayout(tmp);
  try {
    await build(tmp);
    fs.writeFileSync(path.join(tmp, 'skiff-bench-recipe'), RECIPE);
    fs.rmSync(dir, {recursive: true, force: true});
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, {recursive: true, force: true});
    throw err;
  }
  return dir;
}

function ensureRootfs(): void {
  if (fs.existsSync(path.join(ROOTFS, 'usr', 'bin', 'dpkg')) && !fs.existsSync(path.join(CACHE, 'rootfs.partial'))) return;
  if (process.getuid?.() !== 0) throw new Error(`${ROOTFS} is missing and debootstrap needs root`);
  fs.mkdirSync(CACHE, {recursive: true});
  fs.writeFileSync(path.join(CACHE, 'rootfs.partial'), '');
  fs.rmSync(ROOTFS, {recursive: true, force: true});
  process.stderr.write(`debootstrap --variant=minbase bookworm ${ROOTFS} ${MIRROR} (a few minutes)...\n`);
  const r = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', ROOTFS, MIRROR], {stdio: ['ignore', fs.openSync(path.join(CACHE, 'debootstrap.log'), 'w'), 'inherit']});
  if (r.status !== 0) throw new Error(`debootstrap failed (${r.status ?? r.signal}); see ${path.join(CACHE, 'debootstrap.log')}`);
  fs.rmSync(path.join(CACHE, 'rootfs.partial'));
}

const BIG = ['usr/lib', 'usr/share', 'usr/bin', 'usr/sbin'];

async function buildDebian(): Promise<string> {
  ensureRootfs();
  return cached(path.join(CACHE, 'debian-oci'), async (dir) => {
    const top = fs.readdirSync(ROOTFS).sort();
    // /dev holds device nodes made by debootstrap: images carry an empty /dev.
    const rest = ['--exclude=dev/*', '--exclude=proc/*', '--exclude=sys/*', ...BIG.map((b) => `--exclude=${b}`), '--', ...top];
    const layers = await Promise.all([
      tarLayer(dir, ROOTFS, rest),
      tarLayer(dir, ROOTFS, ['--', 'usr/lib']),
      tarLayer(dir, ROOTFS, ['--', 'usr/share']),
      tarLayer(dir, ROOTFS, ['--', 'usr/bin', 'usr/sbin']),
    ]);
    const m = image(dir, layers, {
      created: new Date(EPOCH * 1000).toISOString(),
      config: {Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'], Labels: {'org.skiff.bench': 'debian'}},
      history: ['ADD rootfs (etc, var, ...)', 'ADD usr/lib', 'ADD usr/share', 'ADD usr/bin usr/sbin'],
    });
    writeIndex(dir, [['debian', m]]);
    const mb = (n: number) => (n / 1e6).toFixed(1);
    for (const [i, l] of layers.entries()) process.stderr.write(`layer ${i + 1}: ${mb(l.tarSize)} MB tar, ${mb(l.size)} MB gzip\n`);
  });
}

async function buildTiny(n: number): Promise<string> {
  return cached(path.join(CACHE, `tiny-${n}-oci`), async (dir) => {
    const stage = fs.mkdtempSync(path.join(dir, '.stage-'));
    try {
      const base = path.join(stage, 'base');
      fs.mkdirSync(path.join(base, 'etc'), {recursive: true});
      fs.mkdirSync(path.join(base, 'tmp'), {mode: 0o1777});
      fs.writeFileSync(path.join(base, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
      fs.writeFileSync(path.join(base, 'etc', 'group'), 'root:x:0:\n');
      fs.writeFileSync(path.join(base, 'etc', 'filler'), Buffer.alloc(16384, 'x'));
      const mtime = [`--mtime=@${EPOCH}`];
      const baseLayer = await tarLayer(dir, base, [...mtime, '--', 'etc', 'tmp']);
      const refs: [string, Descriptor][] = [];
      for (let i = 0; i < n; i++) {
        const id = String(i).padStart(3, '0');
        const u = path.join(stage, `u${id}`);
        fs.mkdirSync(u);
        fs.writeFileSync(path.join(u, 'id'), `tiny image ${id}\n`);
        const layer = await tarLayer(dir, u, [...mtime, '--', 'id']);
        fs.rmSync(u, {recursive: true});
        refs.push([`tiny-${id}`, image(dir, [baseLayer, layer], {
          created: new Date((EPOCH + i * 3600) * 1000).toISOString(),
          config: {Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'], Labels: {'org.skiff.bench': 'tiny', 'org.skiff.bench.id': id}},
          history: ['ADD base', `ADD id ${id}`],
        })]);
      }
      writeIndex(dir, refs);
    } finally {
      fs.rmSync(stage, {recursive: true, force: true});
    }
  });
}

async function main(): Promise<void> {
  const [what, arg] = process.argv.slice(2);
  if (what === 'debian') console.log(await buildDebian());
  else if (what === 'tiny') console.log(await buildTiny(Number(arg ?? 200)));
  else throw new Error('usage: build-debian-image.ts debian | tiny [N]');
}

main().catch((err: unknown) => {
  process.stderr.write(`build-debian-image: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
