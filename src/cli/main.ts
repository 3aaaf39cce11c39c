/**
 * Entry point. Dispatches straight to the command class (no oclif command
 * search), moving global flags that precede the command after it.
 *
 * Three ways in, one code path (see bench/README.md):
 * - `node dist/skiff.js ARGS` (bin/skiff's fallback): runs main() below.
 * - `node --snapshot-blob dist/skiff.blob -- /abs/dist/skiff.js ARGS`
 *   (bin/skiff's fast path): the bundle was evaluated when the snapshot was
 *   built (scripts/snapshot-entry.cjs), Node calls snapshotMain().
 * - the single binary (scripts/build-sea.mjs): calls seaMain().
 * Nothing here may depend on the build machine: the dist directory comes
 * from process.argv[1] at run time, package.json is embedded by the bundler.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type {Config, Interfaces} from '@oclif/core';
import {COMMANDS, HOT_COMMANDS, SHORT_COMMANDS, loadAllCommands, loadCommand} from '../commands';
import {firstPositional, splitCommand} from './argv';
import type {SkiffCommand} from './base';
import {flagShapes, globalFlags} from './flags';
import {useEmbeddedAddon} from '../lib/util/native';
import {setVendorAssets} from '../lib/util/vendor';
import {setSelfCommand} from '../lib/util/self';
import {useDistDir} from './dist-dir';
import {enterUserns} from '../lib/rootless/userns';
import {limitOptimization} from '../lib/util/tiering';

export {COMMANDS};

/** The parts of package.json oclif reads, embedded by scripts/build.mjs. */
declare const __SKIFF_PJSON__: Interfaces.PJSON | undefined;

/** Where the bundle and the addon are (dist/); the package root is its parent. */
let distDir = __dirname;

function packageRoot(): string {
  return path.dirname(distDir);
}

function pjson(): Interfaces.PJSON {
  if (typeof __SKIFF_PJSON__ !== 'undefined') return structuredClone(__SKIFF_PJSON__);
  // Unbundled (tsx) runs: the real file.
  let dir = distDir;
  for (let i = 0; i < 4 && !fs.existsSync(path.join(dir, 'package.json')); i++) dir = path.dirname(dir);
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Interfaces.PJSON;
}

/**
 * --help (or -h, unless the command uses -h itself, as run's --hostname
 * does) before `--`; for commands that stop at their first positional
 * argument, only before it (`skiff run img ls --help` is ls's --help).
 */
function wantsHelp(argv: string[], cmd?: typeof SkiffCommand): boolean {
  const flags = cmd ? {...cmd.baseFlags, ...cmd.flags} : {};
  const hTaken = Object.values(flags).some((f) => (f as {char?: string}).char === 'h');
  const stop = cmd && !cmd.interspersed ? firstPositional(argv, flagShapes(flags as never)) : -1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--' || (stop >= 0 && i >= stop)) return false;
    if (a === '--help' || (a === '-h' && !hTaken)) return true;
  }
  return false;
}

let fullConfig: Promise<Config> | undefined;

/**
 * oclif's full Config (every command, topics): for help. No file system
 * search: package.json is embedded, the root plugin is built here with the
 * command map already in hand (so oclif never require()s dist/skiff.js,
 * which the snapshot and the single binary could not), and no user, dev or
 * core plugins are looked for.
 */
export function loadFullConfig(): Promise<Config> {
  fullConfig ??= (async () => {
    const {Config, Plugin} = await import('@oclif/core');
    const root = packageRoot();
    const pj = pjson();
    const plugin = new Plugin({root, pjson: pj, isRoot: true, ignoreManifest: true});
    (plugin as unknown as {commandCache: unknown}).commandCache = await loadAllCommands();
    await plugin.load();
    return Config.load({root, pjson: pj, plugins: new Map([[plugin.name, plugin]])});
  })();
  return fullConfig;
}

/** oclif's rule, evaluated now (its own value was fixed when the snapshot was built). */
function helpWidth(): number {
  const cols = Number.parseInt(process.env.OCLIF_COLUMNS ?? '', 10);
  if (cols > 0) return cols;
  const out = process.stdout;
  if (!out.isTTY) return 80;
  const w = out.columns ?? 80;
  return w < 1 ? 80 : Math.max(w, 40);
}

async function showHelp(words: string[]): Promise<void> {
  const {Help} = await import('@oclif/core');
  const help = new Help(await loadFullConfig(), {maxWidth: helpWidth()});
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
  const Cmd = await loadCommand(split.id);
  Cmd.id = split.id;
  if (wantsHelp(split.argv, Cmd)) return showHelp(split.id.split(':'));
  // Rootless: every command but these runs inside the user's namespace (docs/design.md "Rootless").
  if (!OUTSIDE_USERNS.has(split.id)) enterUserns(reexecCommand(argv));
  if (SHORT_COMMANDS.has(split.id)) limitOptimization();
  const cmd = new (Cmd as unknown as new (argv: string[]) => {_run(): Promise<unknown>})(split.argv);
  await cmd._run();
}

/** Commands a rootless user runs outside skiff's user namespace: they touch no store. */
const OUTSIDE_USERNS = new Set(['version']);

/** How this process was started, to start it again with other arguments (rootless re-exec): set by start()/seaMain(). */
let startPrefix: string[] = [process.execPath];

function reexecCommand(argv: string[]): string[] {
  return [...startPrefix, ...argv];
}

/** Errors that escape a command's own catch (config load, help): one line, exit 125. */
function fail(err: unknown): void {
  const e = err as Error & {oclif?: {exit?: number}};
  if (e?.oclif?.exit !== undefined && String(e.message).startsWith('EEXIT')) {
    process.exitCode = e.oclif.exit;
    return;
  }
  process.stderr.write(`Error: ${e?.message ?? String(err)}\n`);
  if (process.env.SKIFF_LOG_LEVEL === 'debug' && e?.stack) process.stderr.write(e.stack + '\n');
  process.exitCode = 125;
}

/**
 * The launchers start the snapshot with glibc malloc tunables of their own
 * (native/launcher.c SNAPSHOT_TUNABLES): they are for this Node process only.
 * Taken out before anything runs, so no child (conmon, the runtime, hooks,
 * network helpers, a re-exec) inherits them.
 */
function dropLauncherTunables(): void {
  if (!process.env.SKIFF_UNSET_GLIBC_TUNABLES) return;
  delete process.env.GLIBC_TUNABLES;
  delete process.env.SKIFF_UNSET_GLIBC_TUNABLES;
}

function start(dir: string): void {
  dropLauncherTunables();
  distDir = dir;
  useDistDir(dir);
  startPrefix = [process.execPath, ...process.execArgv, '--', process.argv[1]];
  run(process.argv.slice(2)).catch(fail);
}

/** `node dist/skiff.js ARGS`, or bin/skiff requiring the bundle. */
export function main(): void {
  start(__dirname);
}

/**
 * Called by Node after deserializing dist/skiff.blob. The bundle was
 * evaluated at build time, so first refresh whatever modules computed from
 * the build's environment, then run as main() would.
 */
export function snapshotMain(): void {
  const script = process.argv[1];
  if (!script || !path.isAbsolute(script)) {
    process.stderr.write('Error: skiff snapshot started without the bundle path: use bin/skiff\n');
    process.exitCode = 125;
    return;
  }
  start(path.dirname(script));
}

/**
 * The single binary (scripts/build-sea.mjs), after its snapshot is
 * deserialized: Node makes argv [binary, binary as invoked, ARGS...], as for
 * a script. The addon is an embedded
 * asset, extracted on first use.
 */
export function seaMain(addon: {bytes: () => Uint8Array; digest: string}, vendor?: (name: string) => string | undefined): void {
  useEmbeddedAddon(addon.bytes, addon.digest);
  if (vendor) setVendorAssets(vendor);
  setSelfCommand([process.execPath]);
  startPrefix = [process.execPath];
  // oclif only needs a root for messages; nothing is read from it (pjson is embedded).
  distDir = path.dirname(process.execPath);
  run(process.argv.slice(2)).catch(fail);
}

/**
 * Called once by scripts/snapshot-entry.cjs while the snapshot is built:
 * evaluate the modules of the hot commands and the engine, so they are in
 * the snapshot's heap. Every other module is evaluated when first imported.
 */
export async function warmSnapshot(): Promise<void> {
  await Promise.all([...HOT_COMMANDS.map((id) => loadCommand(id)), import('../lib/engine'), import('../lib/container/service'), import('../lib/image/service')]);
  const [{warmOutput}, {PS_COLUMNS}, {imagesColumns}] = await Promise.all([import('./output'), import('../commands/ps'), import('../commands/images')]);
  warmOutput([PS_COLUMNS, imagesColumns()]);
  const {warmHotPaths} = await import('./warm');
  const ids = new Set(Object.keys(COMMANDS));
  const failed = warmHotPaths(await Promise.all(HOT_COMMANDS.map(async (id) => ({id, Cmd: await loadCommand(id)}))), (line) => splitCommand(line, ids, flagShapes(globalFlags)).argv);
  for (const f of failed) process.stderr.write(`warning: snapshot warm-up step failed (its code stays lazily compiled): ${f}\n`);
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) main();
