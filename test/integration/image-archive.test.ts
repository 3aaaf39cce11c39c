/**
 * skiff save / load / import / history through bin/skiff: round trips keep
 * the image ID and every layer's tree; skopeo reads what skiff writes;
 * hostile archives are refused and leave nothing behind.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {execFileSync} from 'node:child_process';
import {makeStore, SKIFF_BIN, type Store} from '../helpers/skiff';
import {startRegistry, type TestRegistry} from '../helpers/registry';
import {buildBusybox, buildMultilayer, pushImage, type BuiltImage} from '../helpers/images';
import {diffTrees, imageLayerTrees} from '../helpers/tree';
import {storeProblems, tmpLeftovers} from '../helpers/store-check';

let reg: TestRegistry;
let busybox: BuiltImage;
let multi: BuiltImage;
let src: Store;
let tmp: string;
const stores: Store[] = [];
const store = () => {
  const s = makeStore();
  stores.push(s);
  return s;
};
const TLS_OFF = '--tls-verify=false';
const lastLine = (s: string) => s.trim().split('\n').at(-1) ?? '';

interface LayerRec {
  chainId: string;
  diffId: string;
}

const layerTrees = (s: Store, id: string) => imageLayerTrees(s.root, id);

function assertSameTrees(a: Store, b: Store, id: string): void {
  const ta = layerTrees(a, id);
  const tb = layerTrees(b, id);
  assert.equal(ta.length, tb.length);
  for (let i = 0; i < ta.length; i++) assert.deepEqual(diffTrees(ta[i], tb[i]), [], `layer ${i} differs`);
}

async function id(s: Store, ref: string): Promise<string> {
  const r = await s.run(['image', 'inspect', '--format', '{{.Id}}', ref]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

before(async () => {
  reg = await startRegistry();
  busybox = await buildBusybox();
  multi = await buildMultilayer();
  await pushImage(busybox.layoutDir, busybox.ref, `${reg.host}/busybox:latest`, reg);
  await pushImage(multi.layoutDir, multi.ref, `${reg.host}/multilayer:latest`, reg);
  src = store();
  for (const n of ['busybox', 'multilayer']) {
    const r = await src.run(['pull', '-q', TLS_OFF, `${reg.host}/${n}:latest`]);
    assert.equal(r.code, 0, r.stderr);
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-archive-'));
});

after(async () => {
  for (const s of stores) await s.cleanup();
  await reg?.stop();
  if (tmp) fs.rmSync(tmp, {recursive: true, force: true});
});

describe('save and load', () => {
  test('docker-archive round trip keeps the image ID, names and layer trees; skopeo reads it', async () => {
    const file = path.join(tmp, 'multi.tar');
    const want = await id(src, `${reg.host}/multilayer:latest`);
    const r = await src.run(['save', '-o', file, `${reg.host}/multilayer:latest`]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${file}`], {encoding: 'utf8'}));
    assert.equal(info.Layers.length, 4);
    const cfg = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `docker-archive:${file}`], {encoding: 'utf8'}));
    assert.equal(cfg.rootfs.diff_ids.length, 4);

    const dst = store();
    const l = await dst.run(['load', '-i', file]);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, new RegExp(`Loaded image: ${reg.host}/multilayer:latest`));
    assert.equal(await id(dst, `${reg.host}/multilayer:latest`), want);
    assertSameTrees(src, dst, want);
    assert.deepEqual(storeProblems(dst.root), []);
    assert.deepEqual(tmpLeftovers(dst.root), []);
  });

  test('podman loads what skiff saves, to the same image ID (both formats)', {skip: !hasPodman() && 'podman is not installed'}, async () => {
    const want = await id(src, `${reg.host}/multilayer:latest`);
    for (const format of ['docker-archive', 'oci-archive']) {
      const file = path.join(tmp, `podman-${format}.tar`);
      const r = await src.run(['save', '-q', '--format', format, '-o', file, `${reg.host}/multilayer:latest`]);
      assert.equal(r.code, 0, r.stderr);
      const pdir = fs.mkdtempSync(path.join(tmp, 'podman-'));
      try {
        const pargs = ['--root', path.join(pdir, 'root'), '--runroot', path.join(pdir, 'run'), '--tmpdir', path.join(pdir, 'tmp'), '--storage-driver', 'vfs'];
        fs.mkdirSync(path.join(pdir, 'tmp'));
        fs.writeFileSync(path.join(pdir, 'none.conf'), `[storage]\ndriver = "vfs"\nrunroot = "${pdir}/run"\ngraphroot = "${pdir}/root"\n`);
        execFileSync('podman', [...pargs, 'load', '-q', '-i', file], {env: {...src.env, CONTAINERS_STORAGE_CONF: path.join(pdir, 'none.conf')}});
        const ids = execFileSync('podman', [...pargs, 'images', '-q', '--no-trunc'], {encoding: 'utf8', env: {...src.env, CONTAINERS_STORAGE_CONF: path.join(pdir, 'none.conf')}});
        assert.equal(ids.trim().replace(/^sha256:/, ''), want, format);
      } finally {
        fs.rmSync(pdir, {recursive: true, force: true});
      }
    }
  });

  test('oci-archive through stdout and stdin, several images, gzip-compressed; skopeo reads it', async () => {
    const file = path.join(tmp, 'two.tar');
    const r = await src.run(['save', '--format', 'oci-archive', '-o', file, `${reg.host}/busybox:latest`, `${reg.host}/multilayer:latest`]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${file}:${reg.host}/busybox:latest`], {encoding: 'utf8'}));
    assert.equal(info.Layers.length, 1);
    fs.writeFileSync(`${file}.gz`, zlib.gzipSync(fs.readFileSync(file)));
    const dst = store();
    const l = await dst.run(['load', '-q', '-i', `${file}.gz`]);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(l.stderr, '');
    for (const n of ['busybox', 'multilayer']) assert.equal(await id(dst, `${reg.host}/${n}:latest`), await id(src, `${reg.host}/${n}:latest`));
    assertSameTrees(src, dst, await id(src, `${reg.host}/multilayer:latest`));

    // docker-archive to stdout, several images, back through stdin.
    const out = path.join(tmp, 'stdout.tar');
    execFileSync('sh', ['-c', `"$0" --root "$1" --runroot "$2" save "$3" "$4" > "$5"`, SKIFF_BIN, src.root, src.runroot, `${reg.host}/busybox:latest`, `${reg.host}/multilayer:latest`, out], {env: src.env});
    const dst2 = store();
    const l2 = await dst2.run(['image', 'load'], {input: undefined, env: {}});
    assert.notEqual(l2.code, 0, 'empty stdin is not an archive');
    const l3 = execFileSync('sh', ['-c', `"$0" --root "$1" --runroot "$2" load < "$3"`, SKIFF_BIN, dst2.root, dst2.runroot, out], {env: dst2.env, encoding: 'utf8'});
    assert.match(l3, /Loaded image: .*busybox:latest/);
    assert.match(l3, /Loaded image: .*multilayer:latest/);
    assert.equal(await id(dst2, `${reg.host}/multilayer:latest`), await id(src, `${reg.host}/multilayer:latest`));
  });

  test('oci-dir writes an OCI layout skopeo can read', async () => {
    const dir = path.join(tmp, 'layout');
    const r = await src.run(['save', '--format', 'oci-dir', '-o', dir, `${reg.host}/busybox:latest`]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${dir}:${reg.host}/busybox:latest`], {encoding: 'utf8'}));
    assert.equal(info.Layers.length, 1);
  });

  test('a modified layer is refused by save, and nothing is written', async () => {
    const s = store();
    const p = await s.run(['pull', '-q', TLS_OFF, `${reg.host}/busybox:latest`]);
    assert.equal(p.code, 0, p.stderr);
    const layers = fs.readdirSync(path.join(s.root, 'layers'));
    const sh = path.join(s.root, 'layers', layers[0], 'diff', 'bin', 'busybox');
    const buf = fs.readFileSync(sh);
    buf[buf.length - 1] ^= 0xff;
    fs.writeFileSync(sh, buf);
    const file = path.join(tmp, 'modified.tar');
    const r = await s.run(['save', '-o', file, `${reg.host}/busybox:latest`]);
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /modified/);
    assert.equal(fs.existsSync(file), false);
  });

  test('a layer stored without tar-split is saved from a fresh tar: the archive loads, with a new image ID', async () => {
    const s = store();
    const p = await s.run(['pull', '-q', TLS_OFF, `${reg.host}/multilayer:latest`]);
    assert.equal(p.code, 0, p.stderr);
    const before = lastLine(p.stdout);
    for (const l of fs.readdirSync(path.join(s.root, 'layers'))) fs.rmSync(path.join(s.root, 'layers', l, 'tar-split.gz'));
    const file = path.join(tmp, 'fresh.tar');
    const r = await s.run(['save', '-o', file, `${reg.host}/multilayer:latest`]);
    assert.equal(r.code, 0, r.stderr);
    const dst = store();
    const l = await dst.run(['load', '-i', file]);
    assert.equal(l.code, 0, l.stderr);
    const after = await id(dst, `${reg.host}/multilayer:latest`);
    assert.notEqual(after, before);
    // Same trees: the fresh tar describes the same files.
    const ta = layerTrees(s, before);
    const tb = layerTrees(dst, after);
    for (let i = 0; i < ta.length; i++) assert.deepEqual(diffTrees(ta[i], tb[i]), [], `layer ${i} differs`);
  });

  test('a hostile archive is rejected with 125 and leaves nothing in the store', async () => {
    // A docker-archive whose layer writes through ../ ; its diff ID is right.
    const evil = tarOf([{name: '../../escape.txt', body: Buffer.from('x')}]);
    const diffId = 'sha256:' + sha(evil);
    const config = Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: [diffId]}}));
    const archive = tarOf([
      {name: `${diffId.slice(7)}.tar`, body: evil},
      {name: 'config.json', body: config},
      {name: 'manifest.json', body: Buffer.from(JSON.stringify([{Config: 'config.json', RepoTags: ['evil:latest'], Layers: [`${diffId.slice(7)}.tar`]}]))},
    ]);
    const file = path.join(tmp, 'evil.tar');
    fs.writeFileSync(file, archive);
    const dst = store();
    const l = await dst.run(['load', '-i', file]);
    assert.equal(l.code, 125, l.stderr);
    assert.match(l.stderr, /escape/);
    const images = await dst.run(['images', '-q']);
    assert.equal(images.stdout.trim(), '');
    const layersDir = path.join(dst.root, 'layers');
    assert.deepEqual(fs.existsSync(layersDir) ? fs.readdirSync(layersDir) : [], []);
    assert.deepEqual(tmpLeftovers(dst.root), []);
    assert.equal(fs.existsSync(path.join(tmp, 'escape.txt')), false);

    // An archive with a member escaping the archive itself.
    fs.writeFileSync(file, tarOf([{name: '../manifest.json', body: Buffer.from('[]')}]));
    const l2 = await dst.run(['load', '-i', file]);
    assert.equal(l2.code, 125);
    // Not an archive at all.
    fs.writeFileSync(file, 'hello');
    const l3 = await dst.run(['load', '-i', file]);
    assert.equal(l3.code, 125);
  });
});

describe('import and history', () => {
  test('import a tarball (file and stdin) with --change and -m; it runs; history shows it', async () => {
    const bbId = await id(src, `${reg.host}/busybox:latest`);
    const idx = JSON.parse(fs.readFileSync(path.join(src.root, 'images', 'images.json'), 'utf8'));
    const layer = idx.images.find((i: {id: string}) => i.id === bbId).layers[0].slice(7);
    const file = path.join(tmp, 'rootfs.tar.gz');
    execFileSync('tar', ['-C', path.join(src.root, 'layers', layer, 'diff'), '-czf', file, '.']);
    const s = store();
    const r = await s.run([
      'import',
      '-c', 'CMD ["/bin/echo","hi"]',
      '-c', 'ENV A=1 B="x y"',
      '-c', 'LABEL k=v',
      '-c', 'EXPOSE 8080',
      '--change', 'WORKDIR=/tmp',
      '-c', 'USER 0',
      '-m', 'from test',
      file,
      'imported:v1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const newId = lastLine(r.stdout);
    assert.match(newId, /^[0-9a-f]{64}$/);
    const cfg = JSON.parse((await s.run(['image', 'inspect', '--format', '{{json .Config}}', 'localhost/imported:v1'])).stdout);
    assert.deepEqual(cfg.Cmd, ['/bin/echo', 'hi']);
    assert.deepEqual(cfg.Env, ['A=1', 'B=x y']);
    assert.deepEqual(cfg.Labels, {k: 'v'});
    assert.ok('8080/tcp' in cfg.ExposedPorts);
    assert.equal(cfg.WorkingDir, '/tmp');
    assert.equal(cfg.User, '0');
    const run = await s.run(['run', '--rm', 'imported:v1']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'hi\n');

    const h = await s.run(['image', 'history', 'imported:v1']);
    assert.equal(h.code, 0, h.stderr);
    const lines = h.stdout.trim().split('\n');
    assert.match(lines[0], /^ID\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT/);
    assert.equal(lines.length, 2);
    assert.match(lines[1], new RegExp(`^${newId.slice(0, 12)}\\s.*from test`));
    const q = await s.run(['history', '-q', '--no-trunc', 'imported:v1']);
    assert.equal(q.stdout, `${newId}\n`);
    const f = await s.run(['history', '--format', '{{.Comment}}|{{.Size}}', '--human=false', 'imported:v1']);
    assert.match(f.stdout, /^from test\|\d+\n$/);

    // stdin; the same tarball gives the same layer.
    const bin = SKIFF_BIN;
    const out = execFileSync('sh', ['-c', `"$0" --root "$1" --runroot "$2" import - imported:v2 < "$3"`, bin, s.root, s.runroot, file], {env: s.env, encoding: 'utf8'});
    assert.match(out.trim(), /^[0-9a-f]{64}$/);
    assert.equal(fs.readdirSync(path.join(s.root, 'layers')).length, 1);

    const bad = await s.run(['import', '-c', 'RUN rm -rf /', file]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /RUN is not one of/);
    const missing = await s.run(['import', path.join(tmp, 'nope.tar')]);
    assert.equal(missing.code, 125);
  });

  test('history of a multi-layer image lists its steps newest first, with layer sizes', async () => {
    const h = await src.run(['history', '--format', 'json', `${reg.host}/multilayer:latest`]);
    assert.equal(h.code, 0, h.stderr);
    const rows = JSON.parse(h.stdout) as Array<{id: string; size: number}>;
    assert.ok(rows.length >= 4);
    assert.equal(rows[0].id, await id(src, `${reg.host}/multilayer:latest`));
    assert.ok(rows.filter((r) => r.size > 0).length >= 1);
    const missing = await src.run(['history', 'no-such-image']);
    assert.equal(missing.code, 125);
  });
});

function hasPodman(): boolean {
  try {
    execFileSync('podman', ['--version'], {stdio: 'ignore'});
    return true;
  } catch {
    return false;
  }
}

function sha(b: Buffer): string {
  return require('node:crypto').createHash('sha256').update(b).digest('hex');
}

/** A minimal ustar writer for hand-made archives. */
function tarOf(members: Array<{name: string; body: Buffer}>): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const h = Buffer.alloc(512);
    h.write(m.name, 0, 100);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(m.body.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('0', 156);
    h.write('ustar\u000000', 257);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    parts.push(h, m.body, Buffer.alloc((512 - (m.body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
