import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {loadAllCommands} from '../../../src/commands';
import {aliasesFor, canonicalIds, manName, renderIndexMan, renderMan} from '../../../src/cli/man';

const root = path.resolve(__dirname, '..', '..', '..');
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;

test('man pages are generated from the current command definitions', async () => {
  const COMMANDS = await loadAllCommands();
  const stale: string[] = [];
  const expected = new Set(['skiff.1']);
  const check = (file: string, text: string) => {
    expected.add(file);
    const p = path.join(root, 'man', file);
    if (!fs.existsSync(p) || fs.readFileSync(p, 'utf8') !== text) stale.push(file);
  };
  check('skiff.1', renderIndexMan(COMMANDS, version));
  for (const id of canonicalIds(COMMANDS)) check(`${manName(id)}.1`, renderMan(id, COMMANDS[id], aliasesFor(id, COMMANDS), version));
  const extra = fs.readdirSync(path.join(root, 'man')).filter((f) => f.endsWith('.1') && !expected.has(f));
  assert.deepEqual({stale, extra}, {stale: [], extra: []}, 'run: node --import tsx scripts/gen-man.ts');
});

test('every flag of every command is documented in its man page', async () => {
  const COMMANDS = await loadAllCommands();
  for (const id of canonicalIds(COMMANDS)) {
    const text = fs.readFileSync(path.join(root, 'man', `${manName(id)}.1`), 'utf8').replace(/\\-/g, '-');
    for (const [name, f] of Object.entries(COMMANDS[id].flags ?? {})) {
      if ((f as {hidden?: boolean}).hidden) continue;
      assert.ok(text.includes(`--${name}`) || text.includes(`--[no-]${name}`), `${id}: --${name} missing from man page`);
    }
  }
});
