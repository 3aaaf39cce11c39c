import {test} from 'node:test';
import assert from 'node:assert/strict';
import {COMMANDS, HOT_COMMANDS, loadCommand} from '../../../src/commands';
import {splitCommand} from '../../../src/cli/argv';
import {flagShapes, globalFlags} from '../../../src/cli/flags';
import {warmHotPaths} from '../../../src/cli/warm';

test('every step the snapshot build warms runs through on its made-up input', async () => {
  const ids = new Set(Object.keys(COMMANDS));
  const commands = await Promise.all(HOT_COMMANDS.map(async (id) => ({id, Cmd: await loadCommand(id)})));
  // A step that throws compiles only the code before the throw: the input must keep up with the code.
  const failed = warmHotPaths(commands, (line) => splitCommand(line, ids, flagShapes(globalFlags)).argv);
  assert.deepEqual(failed, []);
});
