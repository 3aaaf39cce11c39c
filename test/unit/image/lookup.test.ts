import {test} from 'node:test';
import assert from 'node:assert/strict';
import {findImage, getImage} from '../../../src/lib/image/lookup';
import {buildImageFilter, referenceMatches} from '../../../src/lib/image/filters';
import {assignName, type ImageRecord} from '../../../src/lib/image/store';
import {isSkiffError} from '../../../src/lib/util/errors';

function img(id: string, names: string[], created = '2024-01-01T00:00:00Z', digest = 'sha256:' + 'f'.repeat(64)): ImageRecord {
  return {id: id.padEnd(64, '0'), names, repoDigests: names.map((n) => `${n.slice(0, n.lastIndexOf(':'))}@${digest}`), digest, manifestDigest: digest, manifestMediaType: '', configDigest: '', layers: [], size: 1, created, added: created};
}

const images = [
  img('aaa1', ['docker.io/library/busybox:latest']),
  img('aaa2', ['127.0.0.1:5000/busybox:latest', '127.0.0.1:5000/busybox:1.35'], '2024-02-01T00:00:00Z'),
  img('bbb1', ['localhost/mine:latest'], '2024-03-01T00:00:00Z', 'sha256:' + 'e'.repeat(64)),
  img('ccc1', [], '2024-04-01T00:00:00Z'),
];

test('lookup by ID, prefix, full name, short name and digest', () => {
  assert.equal(findImage(images, 'bbb1'.padEnd(64, '0'))?.id.slice(0, 4), 'bbb1');
  assert.equal(findImage(images, 'sha256:bbb1')?.id.slice(0, 4), 'bbb1');
  assert.throws(() => findImage(images, 'aaa'), (e) => isSkiffError(e, 'conflict'), 'ambiguous prefix');
  assert.equal(findImage(images, 'docker.io/library/busybox')?.id.slice(0, 4), 'aaa1');
  assert.equal(findImage(images, 'busybox')?.id.slice(0, 4), 'aaa1', 'docker.io before other registries');
  assert.equal(findImage(images, 'busybox:1.35')?.id.slice(0, 4), 'aaa2', 'any registry for a short name');
  assert.equal(findImage(images, 'mine')?.id.slice(0, 4), 'bbb1', 'localhost/ for a short name');
  assert.equal(findImage(images, '127.0.0.1:5000/busybox:1.35')?.id.slice(0, 4), 'aaa2');
  assert.equal(findImage(images, 'localhost/mine@sha256:' + 'e'.repeat(64))?.id.slice(0, 4), 'bbb1');
  assert.equal(findImage(images, 'nothere'), undefined);
  assert.throws(() => getImage(images, 'nothere'), (e) => isSkiffError(e, 'not-found') && /nothere: image not known/.test(e.message));
  assert.throws(() => findImage(images, 'UPPER'), (e) => isSkiffError(e, 'invalid-input'));
});

test('moving a name takes it from the image that had it', () => {
  const next = assignName(images, images[0].id, '127.0.0.1:5000/busybox:1.35');
  assert.deepEqual(next[0].names, ['docker.io/library/busybox:latest', '127.0.0.1:5000/busybox:1.35']);
  assert.deepEqual(next[1].names, ['127.0.0.1:5000/busybox:latest']);
  assert.deepEqual(next[1].namesHistory, ['127.0.0.1:5000/busybox:1.35']);
});

test('image filters', () => {
  const ctx = {labels: (i: ImageRecord): Record<string, string> => (i.id.startsWith('bbb') ? {app: 'web', tier: 'x'} : {}), resolve: (s: string) => getImage(images, s)};
  const ids = (f: string[]) => images.filter(buildImageFilter(f, ctx)).map((i) => i.id.slice(0, 4));
  assert.deepEqual(ids(['dangling=true']), ['ccc1']);
  assert.deepEqual(ids(['dangling=false']), ['aaa1', 'aaa2', 'bbb1']);
  assert.deepEqual(ids(['reference=busybox']), ['aaa1', 'aaa2']);
  assert.deepEqual(ids(['reference=*/busybox:1.35']), ['aaa2']);
  assert.deepEqual(ids(['reference=mine', 'reference=busybox:1.35']), ['aaa2', 'bbb1']);
  assert.deepEqual(ids(['label=app=web', 'label=tier']), ['bbb1']);
  assert.deepEqual(ids(['label=app=web', 'label=nope']), []);
  assert.deepEqual(ids(['before=mine']), ['aaa1', 'aaa2']);
  assert.deepEqual(ids(['since=127.0.0.1:5000/busybox:latest']), ['bbb1', 'ccc1']);
  assert.throws(() => ids(['bogus=1']), (e) => isSkiffError(e, 'invalid-input'));
  assert.throws(() => ids(['dangling=maybe']), (e) => isSkiffError(e, 'invalid-input'));
  assert.equal(referenceMatches('docker.io/library/busybox:latest', 'docker.io/library/busybox'), true);
  assert.equal(referenceMatches('docker.io/library/busybox:latest', 'busy*'), true);
  assert.equal(referenceMatches('docker.io/library/busybox:latest', 'alpine'), false);
});
