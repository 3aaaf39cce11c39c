/**
 * skiff push against real registries (plain, basic auth, token + TLS):
 * push → pull keeps the image ID and trees, known layers are skipped or
 * mounted across repositories, chunked uploads, a modified layer is never
 * committed, and a push killed mid-upload leaves the local image intact.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {execFile, spawn} from 'node:child_process';
import {promisify} from 'node:util';
import {makeStore, SKIFF_BIN, type Store} from '../helpers/skiff';
import {startRegistry, type TestRegistry} from '../helpers/registry';
import {buildBusybox, buildMultilayer, pushImage, type BuiltImage} from '../helpers/images';
import {diffTrees, imageLayerTrees} from '../helpers/tree';
import {storeProblems} from '../helpers/store-check';
import {slowProxy} from '../helpers/slow-proxy';
import {customImage} from '../helpers/custom-image';
import {buildTar} from '../unit/storage/unpack/tar-fixture';
import {createHash, randomBytes} from 'node:crypto';

const execFileP = promisify(execFile);
let reg: TestRegistry;
let basic: TestRegistry;
let token: TestRegistry;
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

const layerTrees = (s: Store, id: string) => imageLayerTrees(s.root, id);

async function skopeo(args: string[]): Promise<string> {
  const scratch = fs.mkdtempSync(path.join(tmp, 'skopeo-'));
  fs.writeFileSync(path.join(scratch, 'r.conf'), '');
  const {stdout} = await execFileP('skopeo', args, {env: {PATH: process.env.PATH, HOME: scratch, CONTAINERS_REGISTRIES_CONF: path.join(scratch, 'r.conf'), REGISTRY_AUTH_FILE: path.join(scratch, 'auth.json')}});
  return stdout;
}

before(async () => {
  [reg, basic, token] = await Promise.all([startRegistry(), startRegistry({auth: 'basic'}), startRegistry({auth: 'token'})]);
  busybox = await buildBusybox();
  multi = await buildMultilayer();
  await pushImage(busybox.layoutDir, busybox.ref, `${reg.host}/busybox:latest`, reg);
  await pushImage(multi.layoutDir, multi.ref, `${reg.host}/multilayer:latest`, reg);
  src = store();
  for (const n of ['busybox', 'multilayer']) {
    const r = await src.run(['pull', '-q', TLS_OFF, `${reg.host}/${n}:latest`]);
    assert.equal(r.code, 0, r.stderr);
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-push-test-'));
});

after(async () => {
  for (const s of stores) await s.cleanup();
  await Promise.all([reg?.stop(), basic?.stop(), token?.stop()]);
  if (tmp) fs.rmSync(tmp, {recursive: true, force: true});
});

describe('push', () => {
  test('push → pull keeps the image ID and every layer tree; --digestfile; known layers are skipped or mounted', async () => {
    const id = (await src.run(['image', 'inspect', '--format', '{{.Id}}', `${reg.host}/multilayer:latest`])).stdout.trim();
    // Fresh blobs: a second registry has none of them.
    const dest = `${basic.host}/pushed/multi:v1`;
    const creds = `${basic.username}:${basic.password}`;
    const df = path.join(tmp, 'digest');
    const noCreds = await src.run(['push', TLS_OFF, `${reg.host}/multilayer:latest`, `docker://${dest}`]);
    assert.equal(noCreds.code, 125, noCreds.stderr);
    const p = await src.run(['push', TLS_OFF, '--creds', creds, '--digestfile', df, `${reg.host}/multilayer:latest`, `docker://${dest}`]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /Writing manifest to image destination/);
    const digest = fs.readFileSync(df, 'utf8');
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    const info = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--creds', creds, `docker://${dest}`]));
    assert.equal(info.Digest, digest);

    const dst = store();
    const pull = await dst.run(['pull', '-q', TLS_OFF, '--creds', creds, dest]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(lastLine(pull.stdout), id);
    const ta = layerTrees(src, id);
    const tb = layerTrees(dst, id);
    for (let i = 0; i < ta.length; i++) assert.deepEqual(diffTrees(ta[i], tb[i]), [], `layer ${i}`);

    // Same repository again: every layer is skipped (HEAD).
    const again = await src.run(['push', TLS_OFF, '--creds', creds, `${reg.host}/multilayer:latest`, `${dest.replace(':v1', ':v2')}`]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((again.stderr.match(/skipped: already exists/g) ?? []).length, 4, again.stderr);
    // Another repository of the same registry: cross-repository mounts.
    const mount = await src.run(['push', TLS_OFF, '--creds', creds, '--log-level', 'debug', `${reg.host}/multilayer:latest`, `${basic.host}/elsewhere/multi:v1`]);
    assert.equal(mount.code, 0, mount.stderr);
    assert.equal((mount.stderr.match(/POST \S+mount=sha256%3A[0-9a-f]+&from=pushed%2Fmulti → 201/g) ?? []).length, 4, mount.stderr);
    assert.doesNotMatch(mount.stderr, /PATCH/);
    // The local store is untouched by pushes.
    assert.deepEqual(storeProblems(src.root), []);
  });

  test('layers pulled from a registry are mounted from their source repository on push to it', async () => {
    const r = await src.run(['push', TLS_OFF, '--log-level', 'debug', `${reg.host}/busybox:latest`, `${reg.host}/copy/busybox:latest`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /mount=.*&from=busybox → 201/);
    // Without a destination the image goes back to its own name.
    const self = await src.run(['push', TLS_OFF, `${reg.host}/busybox:latest`]);
    assert.equal(self.code, 0, self.stderr);
    assert.match(self.stderr, /skipped: already exists/);
    const byId = await src.run(['push', TLS_OFF, (await src.run(['images', '-q', `${reg.host}/busybox:latest`])).stdout.trim()]);
    assert.equal(byId.code, 125);
    assert.match(byId.stderr, /no destination/);
  });

  test('--format oci, chunked upload, token auth over TLS with --cert-dir', async () => {
    const id = (await src.run(['image', 'inspect', '--format', '{{.Id}}', `${reg.host}/busybox:latest`])).stdout.trim();
    const certDir = path.join(token.certsDir!, token.host);
    const creds = `${token.username}:${token.password}`;
    const dest = `${token.host}/private/oci-busybox:latest`;
    const p = await src.run(['push', '-q', '--format', 'oci', '--chunk-size', '65536', '--cert-dir', certDir, '--creds', creds, `${reg.host}/busybox:latest`, dest]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stderr, '');
    const raw = JSON.parse(await skopeo(['inspect', '--raw', '--cert-dir', certDir, '--creds', creds, `docker://${dest}`]));
    assert.equal(raw.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(raw.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const dst = store();
    const pull = await dst.run(['pull', '-q', '--cert-dir', certDir, '--creds', creds, dest]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(lastLine(pull.stdout), id);
  });

  test('a modified layer is never committed; a layer without tar-split is pushed as a fresh tar', async () => {
    const s = store();
    assert.equal((await s.run(['pull', '-q', TLS_OFF, `${reg.host}/multilayer:latest`])).code, 0);
    const idx = JSON.parse(fs.readFileSync(path.join(s.root, 'images', 'images.json'), 'utf8'));
    const top = idx.images[0].layers.at(-1).slice(7);
    fs.writeFileSync(path.join(s.root, 'layers', top, 'diff', 'data', 'keep.txt'), 'KEEP v2\n');
    // Another registry, so the layer must be rebuilt and sent (the source registry already has its blob).
    const dest = `${basic.host}/modified/multi:latest`;
    const creds = `${basic.username}:${basic.password}`;
    const p = await s.run(['push', TLS_OFF, '--creds', creds, `${reg.host}/multilayer:latest`, dest]);
    assert.equal(p.code, 125, p.stderr);
    assert.match(p.stderr, /modified/);
    await assert.rejects(skopeo(['inspect', '--tls-verify=false', '--creds', creds, `docker://${dest}`]));

    // Without its tar-split the layer is archived afresh: a new diff ID, a new image ID, same files.
    fs.rmSync(path.join(s.root, 'layers', top, 'tar-split.gz'));
    const p2 = await s.run(['push', TLS_OFF, '--creds', creds, `${reg.host}/multilayer:latest`, dest]);
    assert.equal(p2.code, 0, p2.stderr);
    const dst = store();
    const pull = await dst.run(['pull', '-q', TLS_OFF, '--creds', creds, dest]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.notEqual(lastLine(pull.stdout), idx.images[0].id);
    const ta = layerTrees(s, idx.images[0].id);
    const tb = layerTrees(dst, lastLine(pull.stdout));
    for (let i = 0; i < ta.length; i++) assert.deepEqual(diffTrees(ta[i], tb[i]), [], `layer ${i}`);
  });

  test('a layer of several gzip blocks: pushed twice gives the same digest; gzip -t, diff ID, skopeo and pull agree', async () => {
    // ~3.3 MB: several of the parallel compressor's 1 MiB blocks, compressible text and random runs.
    const text = Buffer.from(Array.from({length: 60000}, (_, i) => `line ${i} of a text file ${i % 7}\n`).join(''));
    const tar = buildTar([{name: 'big/', type: '5'}, {name: 'big/text', data: text}, {name: 'big/random', data: randomBytes(1 << 20)}, {name: 'big/small', data: 'x'}]);
    const diffId = 'sha256:' + createHash('sha256').update(tar).digest('hex');
    const img = customImage([{tar}], 'blocks');
    await pushImage(img.layoutDir, img.ref, `${reg.host}/blocks:latest`, reg);
    const s = store();
    const pulled = await s.run(['pull', '-q', TLS_OFF, `${reg.host}/blocks:latest`]);
    assert.equal(pulled.code, 0, pulled.stderr);
    const id = lastLine(pulled.stdout);
    const digests: string[] = [];
    for (const repo of ['blocks/a', 'blocks/b']) {
      // No blob-info cache: the layer is compressed and uploaded again, not mounted from the first push.
      fs.rmSync(path.join(s.root, 'cache'), {recursive: true, force: true});
      const df = path.join(tmp, `digest-${repo.replace('/', '-')}`);
      const p = await s.run(['push', TLS_OFF, '--log-level', 'debug', '--digestfile', df, `${reg.host}/blocks:latest`, `${reg.host}/${repo}:latest`]);
      assert.equal(p.code, 0, p.stderr);
      assert.match(p.stderr, /PATCH/);
      digests.push(fs.readFileSync(df, 'utf8'));
    }
    assert.equal(digests[0], digests[1]);
    // What skopeo reads back: one valid gzip member whose content is the original tar.
    const oci = path.join(tmp, 'blocks-oci');
    await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/blocks/a:latest`, `oci:${oci}:x`]);
    const index = JSON.parse(fs.readFileSync(path.join(oci, 'index.json'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(path.join(oci, 'blobs', ...index.manifests[0].digest.split(':')), 'utf8'));
    assert.equal(manifest.layers.length, 1);
    const blob = path.join(oci, 'blobs', ...manifest.layers[0].digest.split(':'));
    await execFileP('gzip', ['-t', blob]);
    const {stdout} = await execFileP('sh', ['-c', 'gunzip -c "$1" | sha256sum', 'sh', blob]);
    assert.equal('sha256:' + stdout.split(' ')[0], diffId);
    // The pushed blob is not the one skopeo built, so nothing was reused by accident.
    assert.notEqual(manifest.layers[0].digest, JSON.parse(fs.readFileSync(path.join(img.layoutDir, 'blobs', ...img.manifestDigest.split(':')), 'utf8')).layers[0].digest);
    const back = store();
    const pull = await back.run(['pull', '-q', TLS_OFF, `${reg.host}/blocks/b:latest`]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(lastLine(pull.stdout), id);
  });

  test('a push killed mid-upload leaves the local image intact; pushing again works', async () => {
    const s = store();
    assert.equal((await s.run(['pull', '-q', TLS_OFF, `${reg.host}/multilayer:latest`])).code, 0);
    const before = fs.readFileSync(path.join(s.root, 'images', 'images.json'), 'utf8');
    const id = JSON.parse(before).images[0].id;
    const treesBefore = layerTrees(s, id);
    const proxy = await slowProxy(Number(reg.host.split(':')[1]), 2000);
    try {
      const child = spawn(SKIFF_BIN, ['--root', s.root, '--runroot', s.runroot, 'push', TLS_OFF, `${reg.host}/multilayer:latest`, `${proxy.host}/killed/multi:latest`], {env: s.env, stdio: ['ignore', 'ignore', 'pipe']});
      let err = '';
      await new Promise<void>((resolve) => {
        child.stderr!.on('data', (d) => {
          err += d;
          if (/Copying blob/.test(err) || /blob-start/.test(err)) resolve();
        });
        setTimeout(resolve, 4000);
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.on('close', r));
    } finally {
      await proxy.close();
    }
    assert.equal(fs.readFileSync(path.join(s.root, 'images', 'images.json'), 'utf8'), before);
    const treesAfter = layerTrees(s, id);
    for (let i = 0; i < treesBefore.length; i++) assert.deepEqual(diffTrees(treesBefore[i], treesAfter[i]), []);
    assert.deepEqual(storeProblems(s.root), []);
    const again = await s.run(['push', '-q', TLS_OFF, `${reg.host}/multilayer:latest`, `${reg.host}/killed/multi:latest`]);
    assert.equal(again.code, 0, again.stderr);
    const dst = store();
    const pull = await dst.run(['pull', '-q', TLS_OFF, `${reg.host}/killed/multi:latest`]);
    assert.equal(lastLine(pull.stdout), id);
  });
});
