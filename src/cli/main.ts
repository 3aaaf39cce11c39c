/**
 * Entry point. Dispatches straight to the command class (no oclif command
 * search), moving global flags that precede the command after it.
 */
import * as path from 'node:path';
import {COMMANDS} from '../commands';
import {splitCommand} from './argv';
import {flagShapes, globalFlags} from './flags';

export {COMMANDS};

const packageRoot = path.resolve(__dirname, '..');

function wantsHelp(argv: string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

async function loadConfig() {
  const {Config} = await import('@oclif/core');
  return Config.load({root: packageRoot});
}

async function showHelp(words: string[]): Promise<void> {
  const {Help} = await import('@oclif/core');
  const help = new Help(await loadConfig());
  await help.showHelp(words);
}

export async function run(argv: string[] = process.argv.slice(2)): Promise<void> {
  const ids = new Set(Object.keys(COMMANDS));
  const split = splitCommand(argv, ids, flagShapes(globalFlags));
  if (!split.id) {
    const first = split.argv.find((a) => !a.startsWith('-'));
    if (split.argv.includes('--version') || split.argv.includes('-v')) return run(['version']);
    if (first === 'help') return showHelp(split.argv.slice(split.argv.indexOf('help') + 1).filter((a) => !a.startsWith('-')));
    if (first === undefined || wantsHelp(split.argv)) return showHelp(first ? [first] : []);
    process.stderr.write(`Error: unrecognized command \`skiff ${first}\`\nTry 'skiff --help' for more information\n`);
    process.exitCode = 125;
    return;
  }
  const Cmd = COMMANDS[split.id];
  Cmd.id = split.id;
  if (wantsHelp(split.argv)) return showHelp(split.id.split(':'));
  const config = await loadConfig();
  const cmd = new (Cmd as unknown as new (argv: string[], config: unknown) => {_run(): Promise<unknown>})(split.argv, config);
  await cmd._run();
}
