// Builds dist/skiff-bin: skiff as one executable (a Node 20 "single
// executable application"). Inside: a copy of the Node binary that runs this,
// a V8 startup snapshot of dist/skiff.js (useSnapshot, from the same entry as
// dist/skiff.blob: scripts/snapshot-entry.cjs), and the native addon as the
// asset "skiff_native.node", written on first use to a private
// content-addressed file and loaded with process.dlopen (src/lib/util/native.ts).
//
//   node scripts/build.mjs && node scripts/build-sea.mjs
//
// Injecting the blob into the binary needs postject: node_modules/postject if
// installed (devDependency), else `npx --yes postject@1.0.0-alpha.6`.
import {execFileSync, spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {copyFileSync, existsSync, readFileSync, rmSync, writeFileSync, chmodSync, renameSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const bundle = join(dist, 'skiff.js');
const addon = join(dist, 'skiff_native.node');
const out = join(dist, 'skiff-bin');
const prep = join(dist, 'skiff-sea.blob');
const POSTJECT = '1.0.0-alpha.6';
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

if (!existsSync(bundle) || !existsSync(addon)) {
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--no-snapshot'], {stdio: 'inherit'});
}
if (!readFileSync(process.execPath).includes(FUSE)) throw new Error(`${process.execPath} has no single-executable support (fuse ${FUSE} not found)`);

// 1. The preparation blob: the snapshot (built by running the entry now) and the asset.
const digest = createHash('sha256').update(readFileSync(addon)).digest('hex');
const configFile = join(dist, 'skiff-sea.json');
writeFileSync(
  configFile,
  JSON.stringify(
    {
      main: join(root, 'scripts', 'snapshot-entry.cjs'),
      output: prep,
      useSnapshot: true,
      disableExperimentalSEAWarning: true,
      // The addon, and the vendor bundles kept out of the snapshot (src/lib/util/vendor.ts).
      assets: {'skiff_native.node': addon, 'vendor/undici.js': join(dist, 'vendor', 'undici.js'), 'vendor/@oclif/core.js': join(dist, 'vendor', '@oclif', 'core.js')},
    },
    null,
    2,
  ),
);
const r = spawnSync(process.execPath, ['--experimental-sea-config', configFile], {
  cwd: '/',
  // Neutral, as for dist/skiff.blob (see scripts/build.mjs).
  env: {PATH: process.env.PATH ?? '/usr/bin:/bin', SKIFF_SNAPSHOT_BUNDLE: bundle, SKIFF_SEA_ADDON_DIGEST: digest},
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
const noise = /ExperimentalWarning|--trace-warnings|^Wrote single executable preparation blob|^\s*$/;
const rest = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => !noise.test(l));
if (rest.length) process.stderr.write(rest.join('\n') + '\n');
if (r.status !== 0) throw new Error(`node --experimental-sea-config failed (exit ${r.status ?? r.signal})`);

// 2. A copy of this Node binary with the blob injected.
const tmp = `${out}.tmp`;
rmSync(tmp, {force: true});
copyFileSync(process.execPath, tmp);
chmodSync(tmp, 0o755);
const local = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
const [cmd, args] = existsSync(local) ? [process.execPath, [local]] : ['npx', ['--yes', `postject@${POSTJECT}`]];
const p = spawnSync(cmd, [...args, tmp, 'NODE_SEA_BLOB', prep, '--sentinel-fuse', FUSE], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
if (p.status !== 0) {
  rmSync(tmp, {force: true});
  process.stderr.write(`${p.stdout ?? ''}${p.stderr ?? ''}`);
  throw new Error(`postject failed (exit ${p.status ?? p.signal}${p.error ? `: ${p.error.message}` : ''})`);
}
renameSync(tmp, out);
rmSync(prep, {force: true});
rmSync(configFile, {force: true});
console.log(`${out}: ${(readFileSync(out).length / 1e6).toFixed(1)} MB (node ${process.version}, addon sha256 ${digest.slice(0, 12)})`);
