// Writes man/*.1 from the command definitions (run: node --import tsx scripts/gen-man.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import {loadAllCommands} from '../src/commands';
import {aliasesFor, canonicalIds, manName, renderIndexMan, renderMan} from '../src/cli/man';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
const dir = path.join(__dirname, '..', 'man');
fs.mkdirSync(dir, {recursive: true});
for (const f of fs.readdirSync(dir)) if (f.endsWith('.1')) fs.rmSync(path.join(dir, f));
void loadAllCommands().then((COMMANDS) => {
  fs.writeFileSync(path.join(dir, 'skiff.1'), renderIndexMan(COMMANDS, pkg.version));
  for (const id of canonicalIds(COMMANDS)) {
    fs.writeFileSync(path.join(dir, `${manName(id)}.1`), renderMan(id, COMMANDS[id], aliasesFor(id, COMMANDS), pkg.version));
  }
  console.log(`wrote ${canonicalIds(COMMANDS).length + 1} man pages to man/`);
});
