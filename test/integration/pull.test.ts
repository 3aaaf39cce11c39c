/**
 * skiff pull against a real registry (Debian's docker-registry on 127.0.0.1):
 * image formats, compression, platforms, the layer store's contents compared
 * with a reference unpacker (umoci), and clean failures.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {execFileSync} from 'node:child_process';
import {makeStore, type Store} from '../helpers/skiff';
import {startRegistry, type TestRegistry} from '../helpers/registry';
import {buildBusybox, buildMultilayer, buildMultiPlatform, pushImage, MULTILAYER, HOST_ARCH, type BuiltImage} from '../helpers/images';
import {snapshot, diffTrees, mountLayers} from '../helpers/tree';

let reg: TestRegistry;
let busybox: BuiltImage;
let multi: BuiltImage;
const stores: Store[] = [];
const store = (conf = '') => {
  const s = makeStore(conf);
  stores.push(s);
  return s;
};
const lastLine = (s: string) => s.trim().split('\n').at(-1) ?? '';
const TLS_OFF = '--tls-verify=false';

before(async () => {
  reg = await startRegistry();
  busybox = await buildBusybox();
  multi = await buildMultilayer();
  const index = await buildMultiPlatform();
  await pushImage(busybox.layoutDir, busybox.ref, `${reg.host}/busybox:latest`, reg);
  await pushImage(busybox.layoutDir, busybox.ref, `${reg.host}/busybox-v2s2:latest`, reg, {format: 'v2s2'});
  await pushImage(busybox.layoutDir, busybox.ref, `${reg.host}/busybox-zstd:latest`, reg, {compress: 'zstd'});
  await pushImage(busybox.layoutDir, busybox.ref, `${reg.host}/busybox-plain:latest`, reg, {compress: 'none'});
  await pushImage(multi.layoutDir, multi.ref, `${reg.host}/multilayer:latest`, reg);
  await pushImage(index.layoutDir, index.ref, `${reg.host}/multiarch:latest`, reg);
});

after(async () => {
  for (const s of stores) await s.cleanup();
  await reg?.stop();
});

describe('pull', () => {
  test('pulls an OCI image and lists, inspects and finds it', async () => {
    const s = store();
    const r = await s.run(['pull', TLS_OFF, `${reg.host}/busybox`]);
    assert.equal(r.code, 0, r.stderr);
    const id = busybox.config.digest.slice(7);
    assert.equal(lastLine(r.stdout), id, 'the image ID is the last line');
    assert.match(r.stderr, /Trying to pull 127\.0\.0\.1:\d+\/busybox:latest/);
    assert.match(r.stderr, /Writing manifest to image destination/);

    const images = await s.run(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    assert.equal(images.code, 0, images.stderr);
    assert.equal(images.stdout, `${reg.host}/busybox:latest ${id.slice(0, 12)}\n`);

    const table = await s.run(['images']);
    assert.match(table.stdout.split('\n')[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);

    const inspect = await s.run(['image', 'inspect', `${reg.host}/busybox`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    const [info] = JSON.parse(inspect.stdout);
    assert.equal(info.Id, id);
    assert.deepEqual(info.RepoTags, [`${reg.host}/busybox:latest`]);
    assert.deepEqual(info.RootFS.Layers, busybox.layers.map((l) => l.diffId));
    assert.ok(info.RepoDigests.includes(`${reg.host}/busybox@${busybox.manifest.digest}`));
    assert.equal(info.Architecture, HOST_ARCH);
    assert.deepEqual(info.Config.Cmd, ['sh']);

    assert.equal((await s.run(['image', 'exists', id.slice(0, 12)])).code, 0);
    assert.equal((await s.run(['image', 'exists', `${reg.host}/busybox:nope`])).code, 1);
    const fmt = await s.run(['inspect', '--format', '{{.Id}} {{index .Config.Labels "org.skiff.test"}}', `${reg.host}/busybox`]);
    assert.equal(fmt.stdout, `${id} busybox\n`);
  });

  test('-q prints only the ID; a second pull skips every layer', async () => {
    const s = store();
    const q = await s.run(['pull', '-q', TLS_OFF, `${reg.host}/busybox`]);
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.stdout, busybox.config.digest.slice(7) + '\n');
    assert.equal(q.stderr, '');
    const again = await s.run(['pull', TLS_OFF, `${reg.host}/busybox`]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /skipped: already exists/);
  });

  test('docker schema2, zstd and uncompressed layers give the same image and share its layer', async () => {
    const s = store();
    const ids = new Set<string>();
    for (const name of ['busybox-v2s2', 'busybox-zstd', 'busybox-plain']) {
      const r = await s.run(['pull', '-q', TLS_OFF, `${reg.host}/${name}`]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      ids.add(lastLine(r.stdout));
    }
    assert.deepEqual([...ids], [busybox.config.digest.slice(7)]);
    assert.equal(fs.readdirSync(path.join(s.root, 'layers')).length, 1, 'one shared layer');
    const names = await s.run(['images', '--format', '{{.Repository}}', '--sort', 'repository']);
    assert.deepEqual(names.stdout.trim().split('\n'), ['busybox-plain', 'busybox-v2s2', 'busybox-zstd'].map((n) => `${reg.host}/${n}`));
  });

  test('an index resolves to this machine, or to --platform / --arch', async () => {
    const s = store();
    const mine = await s.run(['pull', '-q', TLS_OFF, `${reg.host}/multiarch`]);
    assert.equal(mine.code, 0, mine.stderr);
    const arch = await s.run(['image', 'inspect', '--format', '{{.Architecture}}', `${reg.host}/multiarch`]);
    assert.equal(arch.stdout.trim(), HOST_ARCH);
    const other = HOST_ARCH === 'amd64' ? 'arm64' : 'amd64';
    const s2 = store();
    const theirs = await s2.run(['pull', '-q', TLS_OFF, '--platform', `linux/${other}`, `${reg.host}/multiarch`]);
    assert.equal(theirs.code, 0, theirs.stderr);
    const arch2 = await s2.run(['image', 'inspect', '--format', '{{.Architecture}} {{.Os}}', `${reg.host}/multiarch`]);
    assert.equal(arch2.stdout.trim(), `${other} linux`);
    const none = await s2.run(['pull', TLS_OFF, '--arch', 's390x', `${reg.host}/multiarch`]);
    assert.equal(none.code, 125);
    assert.match(none.stderr, /no image found in image index for architecture s390x/);
  });

  test('the unpacked layers stack to the same tree umoci unpacks', async () => {
    const s = store();
    const r = await s.run(['pull', '-q', TLS_OFF, `${reg.host}/multilayer`]);
    assert.equal(r.code, 0, r.stderr);
    const [info] = JSON.parse((await s.run(['image', 'inspect', `${reg.host}/multilayer`])).stdout);
    const lowers = [info.GraphDriver.Data.UpperDir, ...(info.GraphDriver.Data.LowerDir ? info.GraphDriver.Data.LowerDir.split(':') : [])];
    assert.equal(lowers.length, MULTILAYER.layerCount);
    const merged = path.join(s.dir, 'merged');
    const umount = mountLayers(lowers, merged);
    try {
      const bundle = path.join(s.dir, 'umoci');
      execFileSync('umoci', ['unpack', '--image', `${multi.layoutDir}:${multi.ref}`, bundle], {stdio: 'pipe'});
      // umoci records its own metadata in user.rootlesscontainers; overlay in trusted.*
      const ours = snapshot(merged, {skipXattrPrefixes: ['trusted.overlay.']});
      const ref = snapshot(path.join(bundle, 'rootfs'), {skipXattrPrefixes: ['user.rootlesscontainers']});
      const diff = diffTrees(ours, ref, (p) => p === '/');
      assert.deepEqual(diff, []);
      // And the facts the image was built to exercise.
      for (const [p, content] of Object.entries(MULTILAYER.files)) assert.equal(fs.readFileSync(path.join(merged, p), 'utf8'), content, p);
      for (const p of MULTILAYER.absent) assert.equal(fs.existsSync(path.join(merged, p)), false, `${p} should be deleted`);
      for (const [p, mode] of Object.entries(MULTILAYER.modes)) assert.equal(fs.lstatSync(path.join(merged, p)).mode & 0o7777, mode, p);
    } finally {
      umount();
    }
  });

  test('bad references and missing images fail with exit 125 and one line', async () => {
    const s = store();
    const cases: Array<[string[], RegExp]> = [
      [['pull', TLS_OFF, `${reg.host}/busybox:nope`], /manifest unknown/i],
      [['pull', TLS_OFF, `${reg.host}/nothere`], /(manifest|name) unknown|not found/i],
      [['pull', 'UPPER/case'], /lowercase/],
      [['pull', TLS_OFF, '127.0.0.1:1/busybox'], /127\.0\.0\.1:1/],
      [['pull', `${reg.host}/busybox`], /https|tls|ssl|http/i],
      [['pull', 'busybox'], /short-name "busybox" did not resolve/],
      [['pull', '--platform', 'linux', `${reg.host}/busybox`], /invalid platform/],
    ];
    for (const [args, re] of cases) {
      const r = await s.run(args);
      assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('Error:')).length, 1, r.stderr);
    }
    const imgs = await s.run(['images', '-q']);
    assert.equal(imgs.stdout, '', 'nothing recorded');
    const layers = path.join(s.root, 'layers');
    assert.deepEqual(fs.existsSync(layers) ? fs.readdirSync(layers) : [], []);
  });

  test('short names resolve through registries.conf; ambiguity without a terminal lists the candidates', async () => {
    const one = store(`unqualified-search-registries = ["${reg.host}"]\n[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
    const r = await one.run(['pull', '-q', 'busybox']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await one.run(['images', '--format', '{{.Repository}}'])).stdout.trim(), `${reg.host}/busybox`);
    assert.equal((await one.run(['image', 'exists', 'busybox'])).code, 0, 'the short name finds the local image');
    const insecure = `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`;
    const enforcing = store(`unqualified-search-registries = ["${reg.host}", "127.0.0.1:2"]\nshort-name-mode = "enforcing"\n${insecure}`);
    const amb = await enforcing.run(['pull', 'busybox']);
    assert.equal(amb.code, 125);
    assert.match(amb.stderr, /ambiguous/);
    assert.ok(amb.stderr.includes(`${reg.host}/busybox:latest`) && amb.stderr.includes('127.0.0.1:2/busybox:latest'), amb.stderr);
    // permissive (the default) without a terminal tries the candidates in order
    const permissive = store(`unqualified-search-registries = ["127.0.0.1:2", "${reg.host}"]\n${insecure}`);
    const tried = await permissive.run(['pull', '-q', 'busybox']);
    assert.equal(tried.code, 0, tried.stderr);
    assert.equal(lastLine(tried.stdout), busybox.config.digest.slice(7));
    const failed = await permissive.run(['pull', 'nothere']);
    assert.equal(failed.code, 125);
    assert.match(failed.stderr, /2 candidates failed/);
  });
});
