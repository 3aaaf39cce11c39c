import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {Paths} from '../../../src/lib/state/paths';
import {LayerStore} from '../../../src/lib/storage/layers';
import {tryLockFile} from '../../../src/lib/state/lock';
import {tempDir} from '../../helpers/tmp';

function store() {
  const dir = tempDir('skiff-layers-');
  const paths = new Paths({root: path.join(dir, 'root'), runroot: path.join(dir, 'run'), env: {}});
  return {paths, layers: new LayerStore(paths)};
}
const chain = (c: string) => 'sha256:' + c.repeat(64);

test('a layer appears only when its build completes', async () => {
  const {paths, layers} = store();
  const r = await layers.ensure(chain('a'), {diffId: chain('a')}, async (diff) => {
    assert.equal(layers.get(chain('a')), undefined, 'not visible while building');
    fs.writeFileSync(path.join(diff, 'f'), 'x');
    return {size: 1};
  });
  assert.equal(r.built, true);
  assert.equal(r.pin.mode, 'shared');
  assert.equal(tryLockFile(paths.lockFile(`layer-${'a'.repeat(64)}`), 'exclusive'), undefined, 'pinned');
  r.pin.release();
  assert.equal(fs.readFileSync(path.join(layers.diffPath(chain('a')), 'f'), 'utf8'), 'x');
  assert.equal(layers.get(chain('a'))?.complete, true);
  const again = await layers.ensure(chain('a'), {diffId: chain('a')}, async () => assert.fail('must not rebuild'));
  assert.equal(again.built, false);
  again.pin.release();
});

test('a failed build leaves nothing behind', async () => {
  const {paths, layers} = store();
  await assert.rejects(
    layers.ensure(chain('b'), {diffId: chain('b')}, async (diff) => {
      fs.mkdirSync(path.join(diff, 'ro'), {mode: 0o555});
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(layers.get(chain('b')), undefined);
  assert.deepEqual(fs.readdirSync(paths.tmpDir), []);
  assert.ok(tryLockFile(paths.lockFile(`layer-${'b'.repeat(64)}`)), 'lock released');
});

test('leftovers of a killed build are removed unless someone holds the layer lock', async () => {
  const {paths, layers} = store();
  fs.mkdirSync(path.join(paths.tmpDir, `layer-${'c'.repeat(64)}-0badc0de`, 'diff'), {recursive: true});
  fs.mkdirSync(path.join(paths.tmpDir, `layer-${'d'.repeat(64)}-0badc0de`, 'diff'), {recursive: true});
  const busy = tryLockFile(paths.lockFile(`layer-${'d'.repeat(64)}`));
  const removed = layers.cleanupTemp();
  assert.deepEqual(removed, [`layer-${'c'.repeat(64)}-0badc0de`]);
  assert.ok(fs.existsSync(path.join(paths.tmpDir, `layer-${'d'.repeat(64)}-0badc0de`)));
  busy!.release();
});

test('removal skips layers in use or pinned', async () => {
  const {layers} = store();
  for (const c of ['e', 'f', '1']) {
    const r = await layers.ensure(chain(c), {diffId: chain(c)}, async () => ({size: 0}));
    if (c !== '1') r.pin.release();
    else (globalThis as {pin?: {release(): void}}).pin = r.pin;
  }
  const removed = layers.removeUnused([chain('e'), chain('f'), chain('1')], new Set([chain('f')]));
  assert.deepEqual(removed, [chain('e')]);
  assert.ok(layers.get(chain('f')));
  assert.ok(layers.get(chain('1')), 'pinned layer kept');
  (globalThis as {pin?: {release(): void}}).pin!.release();
});
