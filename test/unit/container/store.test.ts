import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {Paths} from '../../../src/lib/state/paths';
import {ContainerStore} from '../../../src/lib/container/store';
import {initialState} from '../../../src/lib/container/service';
import type {ContainerConfig} from '../../../src/lib/container/types';

function store() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-store-unit-'));
  const s = new ContainerStore(new Paths({root: path.join(dir, 'root'), runroot: path.join(dir, 'run')}));
  return {dir, s};
}

test('a torn state.json (power loss after an unsynced write) leaves the record visible as exited', async (t) => {
  const {dir, s} = store();
  t.after(() => fs.rmSync(dir, {recursive: true, force: true}));
  const id = 'a'.repeat(64);
  await s.create({id, name: 'torn'} as ContainerConfig, initialState());
  s.writeState(id, {...initialState(), status: 'running', pid: 42});
  fs.writeFileSync(s.stateFile(id), ''); // what a crash can leave of a non-fsynced replace
  const rec = s.read(id);
  assert.ok(rec, 'record still listed');
  assert.equal(rec.state.status, 'exited');
  assert.equal(rec.state.pid, 0);
  assert.match(rec.state.error, /state lost/);
  assert.deepEqual(s.list().map((r) => r.config.name), ['torn']);
});

test('a record without config.json stays invisible (killed create)', async (t) => {
  const {dir, s} = store();
  t.after(() => fs.rmSync(dir, {recursive: true, force: true}));
  const id = 'b'.repeat(64);
  fs.mkdirSync(s.dir(id), {recursive: true});
  fs.writeFileSync(s.stateFile(id), JSON.stringify(initialState()));
  assert.equal(s.read(id), undefined);
  assert.deepEqual(s.incomplete(), [id]);
});
