/**
 * Test images, built as OCI image layouts on disk (layout, blobs, config and
 * manifests written here; layer tars by GNU tar, compressed with gzip), and
 * pushed to a TestRegistry with skopeo. Builds are deterministic (fixed
 * mtimes, sorted entries, numeric owners) and cached per test process: one
 * layout directory holds every image under its own ref name.
 */
import {execFile, execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {promisify} from 'node:util';
import * as zlib from 'node:zlib';
import type {TestRegistry} from './registry';

const execFileP = promisify(execFile);

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER_TYPE = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
} as const;
const REF_ANNOTATION = 'org.opencontainers.image.ref.name';
/** 2024-01-01T00:00:00Z: every file's mtime and the images' creation date. */
const EPOCH = 1704067200;
const CREATED = new Date(EPOCH * 1000).toISOString();

export const HOST_ARCH = ({x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64'} as Record<string, string>)[process.arch] ?? process.arch;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: {architecture: string; os: string; variant?: string};
  annotations?: Record<string, string>;
}

export interface BuiltLayer extends Descriptor {
  /** sha256 of the uncompressed tar. */
  diffId: string;
}

export interface BuiltImage {
  layoutDir: string;
  /** Name of the image inside the layout (oci:<layoutDir>:<ref>). */
  ref: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: BuiltLayer[];
}

export interface BuiltIndex {
  layoutDir: string;
  ref: string;
  index: Descriptor;
  images: Record<string, BuiltImage>; // "linux/amd64" → image
}

// --- facts tests assert against -------------------------------------------

export const BUSYBOX_APPLETS = [
  'sh', 'ls', 'cat', 'echo', 'true', 'false', 'sleep', 'id', 'env', 'pwd', 'mkdir', 'rm', 'touch', 'wc', 'head', 'tail',
  'httpd', 'grep', 'sed', 'stat', 'ps', 'kill', 'chmod', 'chown', 'cp', 'mv', 'ln', 'readlink', 'test', 'printf', 'uname',
  'whoami', 'hostname', 'date', 'wget', 'nc', 'find', 'xargs', 'sort', 'tr', 'cut', 'getfattr', 'mkfifo', 'seq', 'dd', 'mount', 'umount',
] as const;

export const BUSYBOX = {
  ref: 'busybox',
  layerCount: 1,
  cmd: ['sh'],
  env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  labels: {'org.skiff.test': 'busybox', 'org.opencontainers.image.title': 'skiff test busybox'},
  architecture: HOST_ARCH,
  files: ['/bin/busybox', '/bin/sh', '/etc/passwd', '/etc/group', '/tmp', '/root', '/home/app'],
  users: {root: {uid: 0, gid: 0, home: '/root'}, nobody: {uid: 65534, gid: 65534, home: '/nonexistent'}, app: {uid: 1000, gid: 1000, home: '/home/app'}},
  tmpMode: 0o1777,
};

/** The capability xattr on /xattr/file: VFS_CAP_REVISION_2, effective, permitted CAP_NET_BIND_SERVICE. */
const CAP_NET_BIND_SERVICE_XATTR = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

export const MULTILAYER = {
  ref: 'multilayer',
  /** busybox + 3 */
  layerCount: 4,
  /** Final content of regular files. */
  files: {
    '/data/keep.txt': 'keep v2\n',
    '/data/added-in-4.txt': 'layer 4\n',
    '/opaque/new.txt': 'new after opaque\n',
    '/opaque/sub/new-sub.txt': 'new sub\n',
    '/links/target.txt': 'link target\n',
    '/owned/app.txt': 'owned by app\n',
    '/owned/nobody.txt': 'owned by nobody\n',
    '/xattr/file': 'has xattrs\n',
    '/perm/setuid': '#!/bin/sh\necho setuid\n',
    '/perm/setgid': '#!/bin/sh\necho setgid\n',
  } as Record<string, string>,
  /** Removed by whiteouts / an opaque directory in layer 3. */
  absent: ['/data/delete-me.txt', '/data/dir-to-delete', '/data/dir-to-delete/inner.txt', '/opaque/old1.txt', '/opaque/old-dir', '/opaque/old-dir/x.txt', '/bin/wc'],
  /** Permission bits including setuid/setgid/sticky. */
  modes: {'/perm/setuid': 0o4755, '/perm/setgid': 0o2755, '/perm/sticky': 0o1777, '/perm/private': 0o600, '/owned/app.txt': 0o640} as Record<string, number>,
  owners: {'/owned/app.txt': [1000, 1000], '/owned/nobody.txt': [65534, 65534], '/owned/appdir': [1000, 1000], '/perm/setgid': [0, 1000]} as Record<string, [number, number]>,
  /** Paths that are hard links of one another. */
  hardlinks: [['/links/target.txt', '/links/hard.txt']],
  /** link → target as stored; /links/chain1 → chain2 → target.txt. */
  symlinks: {'/links/chain1': 'chain2', '/links/chain2': 'target.txt', '/links/abs': '/links/target.txt', '/links/dangling': 'does-not-exist'} as Record<string, string>,
  fifo: '/links/fifo',
  xattrs: {'/xattr/file': {'user.skiff.test': 'hello'}} as Record<string, Record<string, string>>,
  capability: {path: '/xattr/file', name: 'security.capability', value: CAP_NET_BIND_SERVICE_XATTR, caps: ['cap_net_bind_service']},
};

export const MULTIPLATFORM = {
  ref: 'multiarch',
  platforms: ['linux/amd64', 'linux/arm64'],
  /** /platform holds the architecture and a newline. */
  marker: '/platform',
  /** linux/amd64: busybox + marker layer; linux/arm64: marker layer only (not runnable). */
  layerCount: {'linux/amd64': 2, 'linux/arm64': 1} as Record<string, number>,
};

// --- layout ------------------------------------------------------------------

let layoutPromise: Promise<string> | undefined;
let indexLock: Promise<void> = Promise.resolve();

/** The per-process layout directory (removed at process exit). */
export function imageLayout(): Promise<string> {
  layoutPromise ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-images-'));
    process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}));
    initLayout(dir);
    return dir;
  })();
  return layoutPromise;
}

function initLayout(dir: string): void {
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), {recursive: true});
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}));
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({schemaVersion: 2, mediaType: OCI_INDEX, manifests: []}));
}

const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

function writeBlob(layoutDir: string, bytes: Buffer): string {
  const digest = sha256(bytes);
  const p = path.join(layoutDir, 'blobs', 'sha256', digest.slice(7));
  if (!fs.existsSync(p)) fs.writeFileSync(p, bytes);
  return digest;
}

export function readBlob(layoutDir: string, digest: string): Buffer {
  return fs.readFileSync(path.join(layoutDir, 'blobs', digest.replace(':', '/')));
}

function jsonBlob(layoutDir: string, mediaType: string, doc: unknown): Descriptor {
  const bytes = Buffer.from(JSON.stringify(doc));
  return {mediaType, digest: writeBlob(layoutDir, bytes), size: bytes.length};
}

async function tagInLayout(layoutDir: string, ref: string, desc: Descriptor): Promise<void> {
  const run = indexLock.then(() => {
    const file = path.join(layoutDir, 'index.json');
    const idx = JSON.parse(fs.readFileSync(file, 'utf8')) as {manifests: Descriptor[]};
    idx.manifests = idx.manifests.filter((m) => m.annotations?.[REF_ANNOTATION] !== ref);
    idx.manifests.push({...desc, annotations: {...desc.annotations, [REF_ANNOTATION]: ref}});
    fs.writeFileSync(file + '.tmp', JSON.stringify({schemaVersion: 2, mediaType: OCI_INDEX, manifests: idx.manifests}));
    fs.renameSync(file + '.tmp', file);
  });
  indexLock = run.catch(() => {});
  await run;
}

/** Tars a staged directory deterministically (GNU tar, PAX, xattrs) and stores it gzip-compressed. */
function layerFromDir(layoutDir: string, stage: string): BuiltLayer {
  const entries = fs.readdirSync(stage).sort();
  const tar = execFileSync(
    'tar',
    [
      '--create', '--file=-', '--format=posix', '--sort=name', `--mtime=@${EPOCH}`, '--numeric-owner',
      '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
      '--xattrs', '--xattrs-include=*', '--acls', '--no-selinux',
      '-C', stage, '--', ...entries,
    ],
    {maxBuffer: 512 * 1024 * 1024},
  );
  const gz = zlib.gzipSync(tar, {level: 6});
  return {mediaType: LAYER_TYPE.gzip, digest: writeBlob(layoutDir, gz), size: gz.length, diffId: sha256(tar)};
}

function imageFromLayers(
  layoutDir: string,
  ref: string,
  layers: BuiltLayer[],
  cfg: {architecture: string; config: Record<string, unknown>; history: string[]},
): BuiltImage {
  const configDoc = {
    created: CREATED,
    architecture: cfg.architecture,
    os: 'linux',
    config: cfg.config,
    rootfs: {type: 'layers', diff_ids: layers.map((l) => l.diffId)},
    history: cfg.history.map((created_by) => ({created: CREATED, created_by})),
  };
  const config = jsonBlob(layoutDir, OCI_CONFIG, configDoc);
  const manifest = jsonBlob(layoutDir, OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers: layers.map(({mediaType, digest, size}) => ({mediaType, digest, size})),
    annotations: {'org.opencontainers.image.ref.name': ref},
  });
  return {layoutDir, ref, manifest: {...manifest, platform: {architecture: cfg.architecture, os: 'linux'}}, config, layers};
}

function staging(layoutDir: string, name: string): {dir: string; put: (rel: string, content: string, mode?: number, owner?: [number, number]) => string; mkdir: (rel: string, mode?: number, owner?: [number, number]) => string; done: () => void} {
  const dir = fs.mkdtempSync(path.join(layoutDir, `.stage-${name}-`));
  fs.chmodSync(dir, 0o755);
  const abs = (rel: string) => path.join(dir, rel.replace(/^\/+/, ''));
  return {
    dir,
    put(rel, content, mode = 0o644, owner = [0, 0]) {
      const p = abs(rel);
      fs.mkdirSync(path.dirname(p), {recursive: true});
      fs.writeFileSync(p, content);
      fs.chownSync(p, owner[0], owner[1]);
      fs.chmodSync(p, mode);
      return p;
    },
    mkdir(rel, mode = 0o755, owner = [0, 0]) {
      const p = abs(rel);
      fs.mkdirSync(p, {recursive: true});
      fs.chownSync(p, owner[0], owner[1]);
      fs.chmodSync(p, mode);
      return p;
    },
    done: () => fs.rmSync(dir, {recursive: true, force: true}),
  };
}

// --- busybox -----------------------------------------------------------------

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\napp:x:1000:\n';

let busyboxLayerP: Promise<BuiltLayer> | undefined;

function busyboxLayer(): Promise<BuiltLayer> {
  busyboxLayerP ??= (async () => {
    const layoutDir = await imageLayout();
    const s = staging(layoutDir, 'busybox');
    try {
      for (const d of ['bin', 'etc', 'dev', 'proc', 'sys', 'var', 'usr', 'usr/bin', 'home']) s.mkdir(d);
      s.mkdir('tmp', 0o1777);
      s.mkdir('root', 0o700);
      s.mkdir('home/app', 0o755, [1000, 1000]);
      const bb = path.join(s.dir, 'bin', 'busybox');
      fs.copyFileSync('/bin/busybox', bb);
      fs.chmodSync(bb, 0o755);
      for (const a of BUSYBOX_APPLETS) fs.symlinkSync('busybox', path.join(s.dir, 'bin', a));
      s.put('etc/passwd', PASSWD);
      s.put('etc/group', GROUP);
      s.put('etc/hostname', 'skiff-test\n');
      return layerFromDir(layoutDir, s.dir);
    } finally {
      s.done();
    }
  })();
  return busyboxLayerP;
}

let busyboxP: Promise<BuiltImage> | undefined;

/** One layer: static busybox with applet symlinks, passwd/group with root, nobody, app (1000:1000), /tmp 1777. */
export function buildBusybox(): Promise<BuiltImage> {
  busyboxP ??= (async () => {
    const layoutDir = await imageLayout();
    const layer = await busyboxLayer();
    const img = imageFromLayers(layoutDir, BUSYBOX.ref, [layer], {
      architecture: BUSYBOX.architecture,
      config: {Env: BUSYBOX.env, Cmd: BUSYBOX.cmd, WorkingDir: '/', Labels: BUSYBOX.labels},
      history: ['ADD busybox-static /bin/busybox'],
    });
    await tagInLayout(layoutDir, img.ref, img.manifest);
    return img;
  })();
  return busyboxP;
}

// --- multilayer ----------------------------------------------------------------

let multilayerP: Promise<BuiltImage> | undefined;

/**
 * busybox + three layers exercising the unpacker: whiteouts, an opaque
 * directory repopulated in the same layer, hard links, setuid/setgid/sticky,
 * non-root owners, a symlink chain, a fifo, user.* and security.capability
 * xattrs. See MULTILAYER for the expected result.
 */
export function buildMultilayer(): Promise<BuiltImage> {
  multilayerP ??= (async () => {
    const layoutDir = await imageLayout();
    const base = await busyboxLayer();
    const layers: BuiltLayer[] = [base];

    // Layer 2: content that later layers delete, plus all the special files.
    let s = staging(layoutDir, 'ml2');
    try {
      s.put('data/keep.txt', 'keep v1\n');
      s.put('data/delete-me.txt', 'doomed\n');
      s.put('data/dir-to-delete/inner.txt', 'doomed too\n');
      s.put('opaque/old1.txt', 'old\n');
      s.put('opaque/old-dir/x.txt', 'old\n');
      s.mkdir('perm');
      s.put('perm/setuid', MULTILAYER.files['/perm/setuid'], 0o4755);
      s.put('perm/setgid', MULTILAYER.files['/perm/setgid'], 0o2755, [0, 1000]);
      s.mkdir('perm/sticky', 0o1777);
      s.put('perm/private', 'secret\n', 0o600);
      s.mkdir('owned');
      s.put('owned/app.txt', MULTILAYER.files['/owned/app.txt'], 0o640, [1000, 1000]);
      s.put('owned/nobody.txt', MULTILAYER.files['/owned/nobody.txt'], 0o644, [65534, 65534]);
      s.mkdir('owned/appdir', 0o750, [1000, 1000]);
      const target = s.put('links/target.txt', MULTILAYER.files['/links/target.txt']);
      fs.linkSync(target, path.join(s.dir, 'links', 'hard.txt'));
      for (const [link, to] of Object.entries(MULTILAYER.symlinks)) fs.symlinkSync(to, path.join(s.dir, link));
      execFileSync('mkfifo', ['-m', '0644', path.join(s.dir, MULTILAYER.fifo)]);
      const xf = s.put('xattr/file', MULTILAYER.files['/xattr/file']);
      setXattrs(xf, {...MULTILAYER.xattrs['/xattr/file']}, {[MULTILAYER.capability.name]: MULTILAYER.capability.value});
      layers.push(layerFromDir(layoutDir, s.dir));
    } finally {
      s.done();
    }

    // Layer 3: whiteouts and an opaque directory repopulated in the same layer.
    s = staging(layoutDir, 'ml3');
    try {
      s.put('data/.wh.delete-me.txt', '');
      s.put('data/.wh.dir-to-delete', '');
      s.put('opaque/.wh..wh..opq', '');
      s.put('opaque/new.txt', MULTILAYER.files['/opaque/new.txt']);
      s.put('opaque/sub/new-sub.txt', MULTILAYER.files['/opaque/sub/new-sub.txt']);
      s.put('bin/.wh.wc', '');
      layers.push(layerFromDir(layoutDir, s.dir));
    } finally {
      s.done();
    }

    // Layer 4: a modification and an addition.
    s = staging(layoutDir, 'ml4');
    try {
      s.put('data/keep.txt', MULTILAYER.files['/data/keep.txt']);
      s.put('data/added-in-4.txt', MULTILAYER.files['/data/added-in-4.txt']);
      layers.push(layerFromDir(layoutDir, s.dir));
    } finally {
      s.done();
    }

    const img = imageFromLayers(layoutDir, MULTILAYER.ref, layers, {
      architecture: HOST_ARCH,
      config: {Env: BUSYBOX.env, Cmd: ['sh'], WorkingDir: '/data', User: '0:0', Labels: {'org.skiff.test': 'multilayer'}},
      history: ['ADD busybox', 'ADD special files', 'RUN rm + opaque', 'ADD changes'],
    });
    await tagInLayout(layoutDir, img.ref, img.manifest);
    return img;
  })();
  return multilayerP;
}

/** Node has no xattr API: python3's os.setxattr does it (we are root, on ext4). */
function setXattrs(file: string, text: Record<string, string>, bin: Record<string, Buffer>): void {
  const items = [
    ...Object.entries(text).map(([k, v]) => [k, Buffer.from(v).toString('hex')]),
    ...Object.entries(bin).map(([k, v]) => [k, v.toString('hex')]),
  ];
  execFileSync('python3', ['-c', 'import os,sys,json\nfor k,v in json.loads(sys.argv[2]): os.setxattr(sys.argv[1], k, bytes.fromhex(v))', file, JSON.stringify(items)]);
}

// --- multi-platform index ------------------------------------------------------

let multiP: Promise<BuiltIndex> | undefined;

/** An OCI index for linux/amd64 (busybox + /platform) and linux/arm64 (/platform only). */
export function buildMultiPlatform(): Promise<BuiltIndex> {
  multiP ??= (async () => {
    const layoutDir = await imageLayout();
    const images: Record<string, BuiltImage> = {};
    for (const arch of ['amd64', 'arm64']) {
      const s = staging(layoutDir, `platform-${arch}`);
      let marker: BuiltLayer;
      try {
        s.put('platform', `${arch}\n`);
        marker = layerFromDir(layoutDir, s.dir);
      } finally {
        s.done();
      }
      const layers = arch === 'amd64' ? [await busyboxLayer(), marker] : [marker];
      images[`linux/${arch}`] = imageFromLayers(layoutDir, `${MULTIPLATFORM.ref}-${arch}`, layers, {
        architecture: arch,
        config: {Env: BUSYBOX.env, Cmd: arch === 'amd64' ? ['cat', '/platform'] : ['/bin/false'], Labels: {'org.skiff.test': `multiarch-${arch}`}},
        history: layers.map((_, i) => `layer ${i}`),
      });
    }
    const index = jsonBlob(layoutDir, OCI_INDEX, {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: Object.values(images).map((i) => i.manifest),
    });
    await tagInLayout(layoutDir, MULTIPLATFORM.ref, index);
    return {layoutDir, ref: MULTIPLATFORM.ref, index, images};
  })();
  return multiP;
}

// --- pushing ------------------------------------------------------------------

export interface PushOptions {
  /** Manifest format in the registry; default: as built (OCI). */
  format?: 'oci' | 'v2s2';
  /** Layer compression in the registry; default gzip (as built). zstd/none need OCI format. */
  compress?: 'gzip' | 'zstd' | 'none';
}

/** Copies oci:<layoutDir>:<refInLayout> to docker://<dest> with skopeo; returns the pushed manifest digest. */
export async function pushImage(layoutDir: string, refInLayout: string, dest: string, reg: TestRegistry, opts: PushOptions = {}): Promise<string> {
  const compress = opts.compress ?? 'gzip';
  let src = layoutDir;
  const args = ['copy', '--quiet', '--insecure-policy', '--retry-times', '2'];
  if (compress !== 'gzip') {
    if (opts.format === 'v2s2') throw new Error(`pushImage: ${compress} layers need the OCI format`);
    src = await recompressedLayout(layoutDir, refInLayout, compress);
    args.push('--preserve-digests');
  }
  const top = findRef(src, refInLayout);
  if (top.mediaType === OCI_INDEX) args.push('--all');
  if (opts.format) args.push('--format', opts.format);
  args.push(`--dest-tls-verify=${reg.tls}`);
  if (reg.tls && reg.certsDir) args.push('--dest-cert-dir', path.join(reg.certsDir, reg.host));
  if (reg.username !== undefined) args.push('--dest-creds', `${reg.username}:${reg.password}`);
  else args.push('--dest-no-creds');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-push-'));
  try {
    const digestFile = path.join(scratch, 'digest');
    const conf = path.join(scratch, 'registries.conf');
    fs.writeFileSync(conf, '');
    args.push('--digestfile', digestFile, `oci:${src}:${refInLayout}`, `docker://${dest}`);
    // Async: the token server answering skopeo runs in this process.
    await execFileP('skopeo', args, {
      env: {PATH: process.env.PATH, HOME: scratch, REGISTRY_AUTH_FILE: path.join(scratch, 'auth.json'), CONTAINERS_REGISTRIES_CONF: conf, TMPDIR: scratch},
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: {stderr?: string; message: string}) => {
      throw new Error(`skopeo ${args.join(' ')} failed: ${err.stderr?.trim() || err.message}`);
    });
    return fs.readFileSync(digestFile, 'utf8').trim();
  } finally {
    fs.rmSync(scratch, {recursive: true, force: true});
  }
}

function findRef(layoutDir: string, ref: string): Descriptor {
  const idx = JSON.parse(fs.readFileSync(path.join(layoutDir, 'index.json'), 'utf8')) as {manifests: Descriptor[]};
  const d = idx.manifests.find((m) => m.annotations?.[REF_ANNOTATION] === ref);
  if (!d) throw new Error(`no image named ${ref} in ${layoutDir}`);
  return d;
}

const recompressed = new Map<string, Promise<string>>();

/**
 * A copy of one image (or index) of the layout with zstd or uncompressed
 * layers, so skopeo can push it as-is with --preserve-digests.
 */
export function recompressedLayout(layoutDir: string, ref: string, compress: 'zstd' | 'none'): Promise<string> {
  const key = `${layoutDir}\0${ref}\0${compress}`;
  let p = recompressed.get(key);
  if (!p) {
    p = (async () => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), `skiff-images-${compress}-`));
      process.on('exit', () => fs.rmSync(out, {recursive: true, force: true}));
      initLayout(out);
      const converted = new Map<string, Descriptor>();
      const convertLayer = (l: Descriptor): Descriptor => {
        const tar = zlib.gunzipSync(readBlob(layoutDir, l.digest));
        const bytes = compress === 'none' ? tar : execFileSync('zstd', ['-q', '-c', '-3', '--no-check'], {input: tar, maxBuffer: 512 * 1024 * 1024});
        return {mediaType: LAYER_TYPE[compress], digest: writeBlob(out, bytes), size: bytes.length};
      };
      const convertManifest = (d: Descriptor): Descriptor => {
        const done = converted.get(d.digest);
        if (done) return done;
        const doc = JSON.parse(readBlob(layoutDir, d.digest).toString('utf8')) as {mediaType: string; config: Descriptor; layers: Descriptor[]};
        writeBlob(out, readBlob(layoutDir, doc.config.digest));
        const next = jsonBlob(out, OCI_MANIFEST, {...doc, layers: doc.layers.map(convertLayer)});
        const res = {...next, ...(d.platform ? {platform: d.platform} : {})};
        converted.set(d.digest, res);
        return res;
      };
      const top = findRef(layoutDir, ref);
      let desc: Descriptor;
      if (top.mediaType === OCI_INDEX) {
        const idx = JSON.parse(readBlob(layoutDir, top.digest).toString('utf8')) as {manifests: Descriptor[]};
        desc = jsonBlob(out, OCI_INDEX, {...idx, manifests: idx.manifests.map(convertManifest)});
      } else {
        desc = convertManifest(top);
      }
      fs.writeFileSync(path.join(out, 'index.json'), JSON.stringify({schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations: {[REF_ANNOTATION]: ref}}]}));
      return out;
    })();
    recompressed.set(key, p);
  }
  return p;
}
