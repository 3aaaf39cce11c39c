import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import {Paths, under} from '../../../src/lib/state/paths';
import {containerPaths} from '../../../src/lib/container/paths';
import {ContainerStore} from '../../../src/lib/container/store';

test("under() and the store's concatenated paths equal path.join's, / included", () => {
  assert.equal(under('/', 'containers'), '/containers');
  assert.equal(under('/var/lib/skiff', 'locks/x.lock'), '/var/lib/skiff/locks/x.lock');
  const id = 'a'.repeat(64);
  for (const [root, runroot] of [['/', '/'], ['/var/lib/skiff/', '/run//skiff'], ['/x/./y', '/r']]) {
    const p = new Paths({root, runroot, uid: 0, env: {}});
    const r = path.normalize(root);
    const rr = path.normalize(runroot);
    assert.equal(p.containersDir, path.join(r, 'containers'));
    assert.equal(p.runContainersDir, path.join(rr, 'containers'));
    assert.equal(p.runtimeStateDir, path.join(rr, 'runtime'));
    assert.equal(p.lockFile(`container-${id}`), path.join(r, 'locks', `container-${id}.lock`));
    assert.equal(p.eventsLog, path.join(r, 'events', 'events.log'));
    assert.equal(p.blobsDir, path.join(r, 'blobs', 'sha256'));
    assert.equal(p.imagesIndex, path.join(r, 'images', 'images.json'));
    const s = new ContainerStore(p);
    assert.equal(s.configFile(id), path.join(r, 'containers', id, 'config.json'));
    assert.equal(s.stateFile(id), path.join(r, 'containers', id, 'state.json'));
    assert.equal(s.runDir(id), path.join(rr, 'containers', id));
    const c = containerPaths(p, id);
    assert.equal(c.rootfs, path.join(rr, 'containers', id, 'rootfs'));
    assert.equal(c.exitDir, path.join(rr, 'exits'));
  }
});
