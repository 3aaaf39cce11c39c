/**
 * The light entry, dist/skiff-lite.js: the commands scripts poll most
 * (`version`, `ps`), bundled on their own so Node starts them from a V8 code
 * cache of a small bundle (dist/skiff-lite-load.js with dist/skiff-lite.cache,
 * made by scripts/lite-cache.cjs through warmCache()). bin/skiff picks this entry by the command
 * word; anything else that reaches it (help, another command) is handed to
 * the full bundle in the same process, so a wrong pick is slower, never
 * wrong. See docs/design.md "Start-up".
 */
import * as path from 'node:path';
import type * as NodeModule from 'node:module';
import {splitCommand} from './argv';
import {flagShapes, globalFlags} from './flags';
import type {SkiffCommand} from './base';
import {useDistDir} from './dist-dir';
import {exitCodeFor} from './exit-code';
import {messageOf} from '../lib/util/errors';

type Loader = () => Promise<{default: typeof SkiffCommand}>;
const ps: Loader = () => import('../commands/ps');

/** The light commands (ids as in src/commands/index.ts; bin/skiff's LITE list names the same words). */
export const LITE_COMMANDS: Record<string, Loader> = {
  version: () => import('../commands/version'),
  ps,
  'container:ls': ps,
  'container:list': ps,
  'container:ps': ps,
};

let distDir = __dirname;

/** ps filters may need the image store (ancestor=): the full entry has it. */
function needsFull(argv: string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--filter' || a.startsWith('--filter=') || /^-[a-zA-Z]*f/.test(a)) return true;
  }
  return false;
}

/** Set while warmCache() runs: what would go to the full entry is skipped. */
let warming = false;

/** The full CLI, in this process: dist/skiff.js evaluated now (no snapshot). */
function handOver(): void {
  if (warming) return;
  // createRequire: resolves from dist/ whoever evaluated this bundle (node, or dist/skiff-lite-load.js).
  const {createRequire} = require('node:module') as typeof NodeModule;
  const full = createRequire(path.join(distDir, 'skiff-lite.js'))('./skiff.js') as {main(): void};
  full.main();
}

async function run(argv: string[]): Promise<void> {
  const split = splitCommand(argv, new Set(Object.keys(LITE_COMMANDS)), flagShapes(globalFlags));
  if (!split.id || split.argv.some((a) => a === '--help' || a === '-h' || a === 'help') || needsFull(split.argv)) return handOver();
  // Rootless, outside the user's namespace (bin/skiff joins a live one itself): the full entry
  // enters or creates it (src/lib/rootless/userns.ts), as every command but version needs.
  if (split.id !== 'version' && process.getuid?.() !== 0 && !process.env.SKIFF_ROOTLESS_UID) return handOver();
  const Cmd = (await LITE_COMMANDS[split.id]()).default;
  Cmd.id = split.id;
  const cmd = new (Cmd as unknown as new (argv: string[]) => {_run(): Promise<unknown>})(split.argv);
  await cmd._run();
}

function start(dir: string): void {
  distDir = dir;
  useDistDir(dir);
  run(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`Error: ${messageOf(err)}\n`);
    process.exitCode = exitCodeFor(err);
  });
}

/** `node dist/skiff-lite.js ARGS`, or dist/skiff-lite-load.js after evaluating the bundle (__dirname is dist/ either way). */
export function main(): void {
  start(__dirname);
}

/**
 * The code cache builder (scripts/lite-cache.cjs): runs each ARGV as
 * `skiff ARGV` would, one after the other in this process, so that V8 has
 * compiled the functions they need when it writes the cache. What the light
 * entry would hand to the full one is skipped (e.g. `ps` as non-root).
 */
export async function warmCache(argvs: string[][]): Promise<void> {
  useDistDir(distDir);
  warming = true;
  try {
    for (const argv of argvs) await run(argv);
  } finally {
    warming = false;
  }
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) main();
