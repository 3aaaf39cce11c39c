import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {allowOptimization, limitOptimization, setFlagSetter} from '../../../src/lib/util/tiering';
import {COMMANDS, SHORT_COMMANDS} from '../../../src/commands';

test('the optimizer limit is set once and lifted once, to V8 default', () => {
  const set: string[] = [];
  const prev = setFlagSetter((f) => set.push(f));
  try {
    allowOptimization(); // nothing to lift yet
    limitOptimization();
    limitOptimization();
    allowOptimization();
    allowOptimization();
    limitOptimization();
    allowOptimization();
  } finally {
    setFlagSetter(prev);
  }
  assert.deepEqual(set, ['--max-opt=1', '--max-opt=999', '--max-opt=1', '--max-opt=999']);
});

test('V8 takes the flags tiering.ts sets (an unknown flag would only print a warning)', () => {
  // v8 lists unknown flags on stderr and goes on: check the names against its own list instead.
  const r = spawnSync(process.execPath, ['--v8-options'], {encoding: 'utf8'});
  assert.match(r.stdout, /--max-opt \([^)]*\)\s+type: uint {2}default: --max-opt=999/);
});

test('short commands are real command ids, and none of them streams or pulls on its own', () => {
  for (const id of SHORT_COMMANDS) assert.ok(COMMANDS[id], `${id} is not a command`);
  for (const id of ['run', 'container:run', 'exec', 'logs', 'pull', 'push', 'load', 'save', 'cp', 'export', 'commit', 'import', 'images', 'ps', 'inspect']) {
    assert.ok(!SHORT_COMMANDS.has(id), `${id} must keep the optimizing compiler`);
  }
});
