// Builds dist/: the native addon, the launcher, two CommonJS bundles of the
// CLI (dist/skiff.js, and the light entry dist/skiff-lite.js with its loader
// dist/skiff-lite-load.js), a V8 startup snapshot of the full bundle
// (dist/skiff.blob, plus dist/skiff.blob.stamp naming the Node binary that
// built it, which the launchers check before using the blob) and a V8 code
// cache of the light one (dist/skiff-lite.cache). See bench/README.md.
//   node scripts/build.mjs                 everything
//   node scripts/build.mjs --no-snapshot   skip the snapshot and the code cache (plain bundles)
//   node scripts/build.mjs --snapshot-only rebuild the snapshot and the code cache for the current Node binary
import {build} from 'esbuild';
import {execFileSync, spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {copyFileSync, mkdirSync, readFileSync, existsSync, statSync, rmSync, writeFileSync, renameSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dist = join(root, 'dist');
mkdirSync(dist, {recursive: true});
const args = new Set(process.argv.slice(2));

if (!args.has('--snapshot-only')) {

// Native addon (mknod, xattrs, mount, flock): node-gyp against the local Node headers.
const addon = join(root, 'native', 'build', 'Release', 'skiff_native.node');
const src = join(root, 'native', 'skiff_native.c');
if (!existsSync(addon) || statNewer(src, addon)) {
  const gyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const args = [gyp, 'rebuild', '-C', join(root, 'native')];
  if (existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
  execFileSync(process.execPath, args, {stdio: ['ignore', 'ignore', 'inherit']});
}
// Replace, never overwrite in place: running skiff processes (conmon's exit
// commands among them) have the old file mapped, and rewriting it under them
// crashes them with SIGBUS.
copyFileSync(addon, join(root, 'dist', '.skiff_native.node.tmp'));
renameSync(join(root, 'dist', '.skiff_native.node.tmp'), join(root, 'dist', 'skiff_native.node'));

// dist/skiff-launch (native/launcher.c): bin/skiff's choices without a shell,
// ~5 ms less per command; what install.sh puts on PATH. Without a C compiler
// the build goes on and bin/skiff is the launcher.
const launcherSrc = join(root, 'native', 'launcher.c');
const launcher = join(dist, 'skiff-launch');
if (!existsSync(launcher) || statNewer(launcherSrc, launcher)) {
  const r = spawnSync(process.env.CC || 'cc', ['-O2', '-Wall', '-Wextra', '-o', `${launcher}.tmp`, launcherSrc], {stdio: ['ignore', 'inherit', 'inherit']});
  if (r.status === 0) renameSync(`${launcher}.tmp`, launcher);
  else {
    rmSync(`${launcher}.tmp`, {force: true});
    process.stderr.write(`build: no dist/skiff-launch (${process.env.CC || 'cc'} failed: ${r.error?.message ?? `exit ${r.status}`}); bin/skiff launches skiff\n`);
  }
}

// The parts of package.json oclif reads at run time: embedded, so neither the
// snapshot nor the single binary needs the file (or a build-time path).
const pjson = {name: pkg.name, version: pkg.version, type: pkg.type, bin: pkg.bin, oclif: pkg.oclif};

// Heavy packages kept out of the main bundle and its snapshot (see
// src/lib/util/vendor.ts): each becomes dist/vendor/NAME.js, and the main
// bundle's imports of it become a call to the vendor loader.
// @oclif/core (with semver, minimatch, ejs, cli-spinners ...: ~0.4 MB of the
// 1.1 MB bundle) renders --help only.
const VENDORED = ['undici', '@oclif/core'];
for (const name of VENDORED) {
  await build({
    stdin: {contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: root, loader: 'js'},
    outfile: join(root, 'dist', 'vendor', `${name}.js`),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minifySyntax: true,
    legalComments: 'none',
    // oclif loads typescript only to run uncompiled plugins, which skiff never has (as in the main bundle).
    external: ['typescript'],
    logLevel: 'warning',
  });
}
const vendorPlugin = {
  name: 'skiff-vendor',
  setup(b) {
    const filter = new RegExp(`^(${VENDORED.map((v) => v.replace(/[/.]/g, '\\$&')).join('|')})$`);
    b.onResolve({filter}, (a) => ({path: a.path, namespace: 'skiff-vendor'}));
    b.onLoad({filter: /.*/, namespace: 'skiff-vendor'}, (a) => ({
      contents: `module.exports = globalThis.__skiffVendor(${JSON.stringify(a.path)});`,
      loader: 'js',
    }));
  },
};

// What both entries (dist/skiff.js, dist/skiff-lite.js) are built with; one
// build time for both, so `version` says the same through either.
// esbuild turns each module's `import * as fs from 'node:fs'` into its own
// __toESM(require("node:fs")), which copies every export of the built-in
// into a new object of getters: 81 copies of fs and 61 of path in the full
// bundle, ~15,000 closures that the start-up snapshot carried (~1 MB of its
// heap, deserialized by every start) and ~1 ms of each light start. Built-ins
// never change, so each bundle copies each built-in once: the banner defines
// the memo, memoizeBuiltinImports() points every such call at it.
const BUILTIN_ESM = 'var __builtinESM=((seen)=>(name)=>seen[name]||(seen[name]=__toESM(require(name))))(Object.create(null));';

/**
 * Rewrites FILE's __toESM(require("node:X")) calls to __builtinESM("node:X"),
 * padded with spaces to the same length, so that every column after them,
 * and with them the source map, stays where esbuild put it.
 */
function memoizeBuiltinImports(file) {
  const js = readFileSync(file, 'utf8');
  const sites = /__toESM\(require\("(node:[\w/]+)"\)\)/g;
  if (!js.includes('var __toESM=') || !sites.test(js)) throw new Error(`build: esbuild's __toESM helper changed; update memoizeBuiltinImports (${file})`);
  writeFileSync(file, js.replace(sites, (site, name) => `__builtinESM(${JSON.stringify(name)})`.padEnd(site.length, ' ')));
}

const entryOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  external: ['typescript'],
  logLevel: 'warning',
  define: {
    __SKIFF_VERSION__: JSON.stringify(pkg.version),
    __SKIFF_BUILT__: JSON.stringify(new Date().toISOString()),
    __SKIFF_PJSON__: JSON.stringify(pjson),
  },
};
await build({
  ...entryOptions,
  plugins: [vendorPlugin],
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outfile: join(root, 'dist', 'skiff.js'),
  sourcemap: 'linked',
  banner: {js: BUILTIN_ESM},
});
memoizeBuiltinImports(join(root, 'dist', 'skiff.js'));
// The light entry (src/cli/lite.ts): version and ps in a bundle of their own,
// so their snapshot holds little more than Node's own (docs/design.md
// "Start-up"). The heavy services it can reach only lazily are left out:
// lite.ts hands anything that needs them to dist/skiff.js, and reaching one
// anyway is an internal error, never a silent wrong answer.
const LITE_EXCLUDED = ['image/service', 'container/service', 'container/rootfs', 'system/check'].map((m) => join(root, 'src', 'lib', `${m}.ts`));
const liteBoundary = {
  name: 'skiff-lite-boundary',
  setup(b) {
    b.onResolve({filter: /^\.\.?\//}, (a) => {
      const target = join(a.resolveDir, a.path) + (a.path.endsWith('.ts') ? '' : '.ts');
      return LITE_EXCLUDED.includes(target) ? {path: target, namespace: 'skiff-lite-excluded'} : undefined;
    });
    b.onLoad({filter: /.*/, namespace: 'skiff-lite-excluded'}, (a) => ({
      contents: `throw new Error(${JSON.stringify(`internal error: the light entry cannot load ${a.path.slice(root.length + 1)}; run dist/skiff.js`)});`,
      loader: 'js',
    }));
  },
};
await build({
  ...entryOptions,
  plugins: [vendorPlugin, liteBoundary],
  entryPoints: [join(root, 'src', 'cli', 'lite.ts')],
  outfile: join(root, 'dist', 'skiff-lite.js'),
  // The first line is this build's id: the code cache's header names it, so
  // a cache of another build is never used with this bundle (scripts/lite-load.cjs).
  banner: {js: `// skiff-lite build ${new Date().toISOString()} ${randomBytes(8).toString('hex')}\n${BUILTIN_ESM}`},
});
memoizeBuiltinImports(join(root, 'dist', 'skiff-lite.js'));
// The light entry's loader (starts it from dist/skiff-lite.cache).
copyFileSync(join(root, 'scripts', 'lite-load.cjs'), join(dist, '.skiff-lite-load.js.tmp'));
renameSync(join(dist, '.skiff-lite-load.js.tmp'), join(dist, 'skiff-lite-load.js'));

}

// The light entry no longer has a snapshot (its code cache starts faster): remove one of an older build.
for (const f of ['skiff-lite.blob', 'skiff-lite.blob.stamp']) rmSync(join(dist, f), {force: true});
if (!args.has('--no-snapshot')) {
  buildSnapshot('skiff');
  buildLiteCache();
} else for (const f of ['skiff.blob', 'skiff.blob.stamp', 'skiff-lite.cache']) rmSync(join(dist, f), {force: true});

/**
 * dist/skiff-lite.cache: V8's code cache of dist/skiff-lite.js after the
 * light commands ran (scripts/lite-cache.cjs). Made by this Node binary; any
 * other V8 rejects it, and dist/skiff-lite-load.js then runs the bundle uncached.
 */
function buildLiteCache() {
  rmSync(join(dist, 'skiff-lite.cache'), {force: true});
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'lite-cache.cjs'), dist], {
    cwd: '/',
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', ...(process.env.TMPDIR ? {TMPDIR: process.env.TMPDIR} : {})},
  });
  if (r.status !== 0) throw new Error(`building the light entry's code cache failed (exit ${r.status ?? r.signal})`);
}

/**
 * dist/NAME.blob from dist/NAME.js, then the stamp bin/skiff compares with
 * `stat -L -c '%d %i %s %Y' NODE BLOB BUNDLE` before using the blob: device,
 * inode, size and mtime of the exact Node binary that built it, and the sizes
 * of the blob and the bundle. The same command writes it, so the formats match.
 */
function buildSnapshot(name) {
  const blob = join(dist, `${name}.blob`);
  const stamp = `${blob}.stamp`;
  const bundle = join(dist, `${name}.js`);
  rmSync(stamp, {force: true});
  const tmp = `${blob}.tmp`;
  const r = spawnSync(process.execPath, ['--snapshot-blob', tmp, '--build-snapshot', join(root, 'scripts', 'snapshot-entry.cjs')], {
    // A neutral environment: whatever a module reads while loading is kept in
    // the snapshot, so it must see the defaults, never the builder's shell
    // (DEBUG, FORCE_COLOR, CI, a TTY). bin/skiff falls back to the plain
    // bundle when a variable that would change those defaults is set.
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {PATH: process.env.PATH ?? '/usr/bin:/bin', SKIFF_SNAPSHOT_BUNDLE: bundle, ...(process.env.SKIFF_SNAPSHOT_TRACE ? {SKIFF_SNAPSHOT_TRACE: process.env.SKIFF_SNAPSHOT_TRACE} : {})},
    encoding: 'utf8',
  });
  // The builder notes that it is experimental; anything else is shown.
  const noise = /ExperimentalWarning: .*snapshot|--trace-warnings|^\s*$/;
  const rest = `${r.stderr ?? ''}`.split('\n').filter((l) => !noise.test(l));
  if (rest.length) process.stderr.write(rest.join('\n') + '\n');
  if (r.status !== 0) {
    rmSync(tmp, {force: true});
    throw new Error(`building the startup snapshot failed (exit ${r.status ?? r.signal})`);
  }
  renameSync(tmp, blob);
  const fp = execFileSync('stat', ['-L', '-c', '%d %i %s %Y', process.execPath, blob, bundle], {encoding: 'utf8'}).trim().split('\n');
  const [node, b, js] = fp.map((l) => l.split(' '));
  writeFileSync(stamp, `${node.join(' ')} ${b[2]} ${js[2]}\n${process.execPath}\n`);
}

function statNewer(a, b) {
  return statSync(a).mtimeMs > statSync(b).mtimeMs;
}
