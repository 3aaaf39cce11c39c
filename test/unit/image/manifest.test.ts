import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {MT, chainIds, choosePlatform, decodeConfig, decodeManifest, parsePlatform, sniffCompression, layerCompression, type ImageIndex} from '../../../src/lib/image/manifest';
import {isSkiffError} from '../../../src/lib/util/errors';

const d = (c: string) => 'sha256:' + c.repeat(64).slice(0, 64);
const desc = (platform: {os: string; architecture: string; variant?: string}, digest: string, mediaType: string = MT.ociManifest) => ({mediaType, digest, size: 100, platform});

test('chain IDs follow the image spec', () => {
  const diff = [d('a'), d('b'), d('c')];
  const chain = chainIds(diff);
  assert.equal(chain[0], diff[0]);
  const c1 = 'sha256:' + createHash('sha256').update(`${diff[0]} ${diff[1]}`).digest('hex');
  assert.equal(chain[1], c1);
  assert.equal(chain[2], 'sha256:' + createHash('sha256').update(`${c1} ${diff[2]}`).digest('hex'));
  assert.deepEqual(chainIds([]), []);
});

test('platform choice from an index', () => {
  const index: ImageIndex = {
    kind: 'index',
    mediaType: MT.ociIndex,
    manifests: [
      desc({os: 'unknown', architecture: 'unknown'}, d('0'), MT.ociManifest),
      desc({os: 'linux', architecture: 'arm', variant: 'v6'}, d('1')),
      desc({os: 'linux', architecture: 'arm', variant: 'v7'}, d('2')),
      desc({os: 'linux', architecture: 'amd64'}, d('3')),
      desc({os: 'linux', architecture: 'arm64', variant: 'v8'}, d('4')),
      {mediaType: 'application/vnd.in-toto+json', digest: d('5'), size: 1, platform: {os: 'linux', architecture: 'amd64'}},
    ],
  };
  assert.equal(choosePlatform(index, {os: 'linux', architecture: 'amd64'})?.digest, d('3'));
  assert.equal(choosePlatform(index, {os: 'linux', architecture: 'x86_64'})?.digest, d('3'));
  assert.equal(choosePlatform(index, {os: 'linux', architecture: 'arm64'})?.digest, d('4'), 'arm64 with no variant matches v8');
  assert.equal(choosePlatform(index, {os: 'linux', architecture: 'arm', variant: 'v7'})?.digest, d('2'));
  assert.equal(choosePlatform(index, {os: 'linux', architecture: 'arm', variant: 'v5'}), undefined);
  assert.equal(choosePlatform(index, {os: 'windows', architecture: 'amd64'}), undefined);
  assert.equal(choosePlatform(index, {os: 'linux', architecture: 's390x'}), undefined);
});

test('--platform parsing', () => {
  assert.deepEqual(parsePlatform('linux/arm64/v8'), {os: 'linux', architecture: 'arm64', variant: 'v8'});
  assert.deepEqual(parsePlatform('linux/aarch64'), {os: 'linux', architecture: 'arm64', variant: undefined});
  for (const bad of ['linux', 'linux/', '/amd64', 'a/b/c/d']) assert.throws(() => parsePlatform(bad), (e) => isSkiffError(e, 'invalid-input'));
});

test('manifest decoding validates and rejects schema1', () => {
  const m = {schemaVersion: 2, mediaType: MT.dockerManifest, config: {mediaType: MT.dockerConfig, digest: d('a'), size: 5}, layers: [{mediaType: MT.dockerLayerGzip, digest: d('b'), size: 7}]};
  const got = decodeManifest(Buffer.from(JSON.stringify(m)));
  assert.equal(got.kind, 'manifest');
  const bad: Array<[unknown, string]> = [
    [{schemaVersion: 1, name: 'x', fsLayers: []}, 'unsupported'],
    ['not json', 'invalid-input'],
    [{schemaVersion: 2, mediaType: MT.ociManifest, config: {mediaType: 'x', digest: 'sha256:zz', size: 1}, layers: []}, 'invalid-input'],
    [{schemaVersion: 2, mediaType: MT.ociManifest, config: {mediaType: 'x', digest: d('a'), size: -1}, layers: []}, 'invalid-input'],
    [{schemaVersion: 2, mediaType: MT.ociManifest, config: {mediaType: 'x', digest: d('a'), size: 1}}, 'invalid-input'],
    [{schemaVersion: 2, mediaType: 'application/x-weird', layers: []}, 'unsupported'],
  ];
  for (const [doc, kind] of bad) {
    const bytes = Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));
    assert.throws(() => decodeManifest(bytes), (e) => isSkiffError(e, kind as never), JSON.stringify(doc));
  }
  const idx = decodeManifest(Buffer.from(JSON.stringify({schemaVersion: 2, manifests: [{mediaType: MT.ociManifest, digest: d('c'), size: 3}]})), MT.ociIndex);
  assert.equal(idx.kind, 'index');
});

test('config decoding requires diff IDs', () => {
  assert.throws(() => decodeConfig(Buffer.from('{"architecture":"amd64","os":"linux"}')), (e) => isSkiffError(e, 'invalid-input'));
  assert.throws(() => decodeConfig(Buffer.from('{"rootfs":{"type":"layers","diff_ids":["md5:x"]}}')), (e) => isSkiffError(e, 'invalid-input'));
  const c = decodeConfig(Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: [d('a')]}})));
  assert.equal(c.rootfs.diff_ids.length, 1);
});

test('compression from media type and magic bytes', () => {
  assert.equal(layerCompression(MT.ociLayerGzip), 'gzip');
  assert.equal(layerCompression(MT.dockerLayerGzip), 'gzip');
  assert.equal(layerCompression(MT.ociLayerZstd), 'zstd');
  assert.equal(layerCompression(MT.ociLayerTar), 'none');
  assert.throws(() => layerCompression('application/x-bzip2'), (e) => isSkiffError(e, 'unsupported'));
  assert.equal(sniffCompression(Buffer.from([0x1f, 0x8b, 8])), 'gzip');
  assert.equal(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
  assert.equal(sniffCompression(Buffer.from('bin/')), 'none');
});
