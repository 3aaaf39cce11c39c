/** images, tag, untag, rmi, image prune, inspect: output formats and exit codes as podman's. */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {makeStore, type Store} from '../helpers/skiff';
import {startRegistry, type TestRegistry} from '../helpers/registry';
import {buildBusybox, buildMultilayer, pushImage, type BuiltImage} from '../helpers/images';

let reg: TestRegistry;
let busybox: BuiltImage;
let multi: BuiltImage;
const stores: Store[] = [];

before(async () => {
  reg = await startRegistry();
  busybox = await buildBusybox();
  multi = await buildMultilayer();
  await pushImage(busybox.layoutDir, busybox.ref, `${reg.host}/busybox:latest`, reg);
  await pushImage(multi.layoutDir, multi.ref, `${reg.host}/multilayer:latest`, reg);
});

after(async () => {
  for (const s of stores) await s.cleanup();
  await reg?.stop();
});

async function withImages(): Promise<Store> {
  const s = makeStore();
  stores.push(s);
  for (const name of ['busybox', 'multilayer']) {
    const r = await s.run(['pull', '-q', '--tls-verify=false', `${reg.host}/${name}`]);
    assert.equal(r.code, 0, r.stderr);
  }
  return s;
}

const layerDirs = (s: Store) => (fs.existsSync(path.join(s.root, 'layers')) ? fs.readdirSync(path.join(s.root, 'layers')).sort() : []);
const blobs = (s: Store) => (fs.existsSync(path.join(s.root, 'blobs', 'sha256')) ? fs.readdirSync(path.join(s.root, 'blobs', 'sha256')).length : 0);

describe('image commands', () => {
  test('tag adds names (short ones under localhost/), untag removes them', async () => {
    const s = await withImages();
    const tag = await s.run(['tag', `${reg.host}/busybox`, 'mine', 'other:v1', `${reg.host}/copy:2`]);
    assert.equal(tag.code, 0, tag.stderr);
    const names = (await s.run(['images', '--format', '{{.Repository}}:{{.Tag}}', '--sort', 'repository'])).stdout.trim().split('\n');
    assert.deepEqual(names, [`${reg.host}/busybox:latest`, `${reg.host}/copy:2`, `${reg.host}/multilayer:latest`, 'localhost/mine:latest', 'localhost/other:v1'].sort());
    assert.equal((await s.run(['image', 'exists', 'mine'])).code, 0);
    const untag = await s.run(['untag', 'mine', 'other:v1']);
    assert.equal(untag.code, 0, untag.stderr);
    assert.equal((await s.run(['image', 'exists', 'other:v1'])).code, 1);
    const bad = await s.run(['tag', `${reg.host}/busybox`, 'Bad:Name']);
    assert.equal(bad.code, 125);
    const missing = await s.run(['tag', 'nothere', 'x']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /nothere: image not known/);
  });

  test('rmi of one of several names only untags; rmi of the ID removes image, layers and blobs', async () => {
    const s = await withImages();
    const before = layerDirs(s);
    assert.equal(before.length, 4, 'busybox layer shared by both images');
    await s.run(['tag', `${reg.host}/busybox`, 'second']);
    const untag = await s.run(['rmi', 'second']);
    assert.equal(untag.code, 0, untag.stderr);
    assert.equal(untag.stdout, 'Untagged: localhost/second:latest\n');
    const id = busybox.config.digest.slice(7);
    const rm = await s.run(['rmi', id.slice(0, 12)]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.stdout, `Untagged: ${reg.host}/busybox:latest\nDeleted: ${id}\n`);
    assert.deepEqual(layerDirs(s), before, 'the busybox layer is kept: multilayer needs it');
    const rm2 = await s.run(['rmi', `${reg.host}/multilayer`]);
    assert.equal(rm2.code, 0, rm2.stderr);
    assert.deepEqual(layerDirs(s), []);
    assert.equal(blobs(s), 0, 'manifests and configs collected');
  });

  test('rmi exit codes: 1 when an image is missing, with the others still removed; -i ignores', async () => {
    const s = await withImages();
    const r = await s.run(['rmi', 'nothere', `${reg.host}/busybox`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nothere: image not known/);
    assert.match(r.stdout, /Deleted: /);
    assert.equal((await s.run(['rmi', '-i', 'nothere'])).code, 0);
    assert.equal((await s.run(['rmi'])).code, 125);
    const all = await s.run(['rmi', '-a']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal((await s.run(['images', '-q'])).stdout, '');
  });

  test('image prune removes dangling images only, -a all; asks first without -f', async () => {
    const s = await withImages();
    await s.run(['untag', `${reg.host}/busybox`]);
    const listed = (await s.run(['images', '--format', '{{.Repository}} {{.Tag}}', '--filter', 'dangling=true'])).stdout;
    assert.equal(listed, '<none> <none>\n');
    const no = await s.run(['image', 'prune'], {input: 'n\n'});
    assert.equal(no.code, 0);
    assert.equal((await s.run(['images', '-q'])).stdout.trim().split('\n').length, 2, 'declined: nothing removed');
    const yes = await s.run(['image', 'prune', '-f']);
    assert.equal(yes.code, 0, yes.stderr);
    assert.equal(yes.stdout.trim(), busybox.config.digest.slice(7));
    const all = await s.run(['image', 'prune', '-a', '-f']);
    assert.equal(all.stdout.trim(), multi.config.digest.slice(7));
    assert.deepEqual(layerDirs(s), []);
  });

  test('images: -q, --no-trunc, --digests, json, filters and bad filters', async () => {
    const s = await withImages();
    const q = (await s.run(['images', '-q'])).stdout.trim().split('\n');
    assert.deepEqual(q.sort(), [busybox.config.digest.slice(7, 19), multi.config.digest.slice(7, 19)].sort());
    const full = (await s.run(['images', '-q', '--no-trunc'])).stdout;
    assert.ok(full.includes(busybox.config.digest), full);
    const dig = await s.run(['images', '--digests']);
    assert.match(dig.stdout.split('\n')[0], /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
    const json = JSON.parse((await s.run(['images', '--format', 'json'])).stdout);
    assert.equal(json.length, 2);
    const bb = json.find((j: {Id: string}) => j.Id === busybox.config.digest.slice(7));
    assert.deepEqual(bb.RepoTags, [`${reg.host}/busybox:latest`]);
    assert.equal(typeof bb.Size, 'number');
    assert.equal(bb.Labels['org.skiff.test'], 'busybox');
    const byLabel = (await s.run(['images', '-q', '--filter', 'label=org.skiff.test=busybox'])).stdout.trim();
    assert.equal(byLabel, busybox.config.digest.slice(7, 19));
    const byRef = (await s.run(['images', '--format', '{{.Repository}}', 'multi*'])).stdout.trim();
    assert.equal(byRef, `${reg.host}/multilayer`);
    const table = (await s.run(['images', '--format', 'table {{.ID}} {{.Size}}'])).stdout.split('\n')[0];
    assert.match(table, /^IMAGE ID\s+SIZE$/);
    const bad = await s.run(['images', '--filter', 'nope=1']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid image filter/);
    const badFmt = await s.run(['images', '--format', '{{.Nope']);
    assert.equal(badFmt.code, 125);
  });

  test('inspect: several images, a missing one fails after printing the rest', async () => {
    const s = await withImages();
    const r = await s.run(['image', 'inspect', `${reg.host}/busybox`, 'nothere']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /nothere: image not known/);
    assert.equal(JSON.parse(r.stdout).length, 1);
    const both = await s.run(['inspect', '--format', '{{.Id}}', `${reg.host}/busybox`, `${reg.host}/multilayer`]);
    assert.equal(both.stdout, `${busybox.config.digest.slice(7)}\n${multi.config.digest.slice(7)}\n`);
  });
});
