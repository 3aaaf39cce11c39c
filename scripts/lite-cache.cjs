// Makes dist/skiff-lite.cache, the V8 code cache dist/skiff-lite-load.js
// starts the light entry from. Run by scripts/build.mjs (stdout discarded) as
//   node scripts/lite-cache.cjs DIST
// It compiles dist/skiff-lite.js through the loader's own load() without a
// cache, runs the light commands for real against a temporary empty store
// (so V8 has compiled the functions they run: a cache holds only compiled
// functions), then writes script.createCachedData() in the loader's format
// (cacheFile()), atomically. What fails here only makes the cache smaller, never wrong.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const dist = path.resolve(process.argv[2] || path.join(__dirname, '..', 'dist'));
const {load, cacheFile} = require(path.join(dist, 'skiff-lite-load.js'));
const {script, exports: lite, source} = load(dist, undefined);
if (typeof lite.warmCache !== 'function') throw new Error(`${dist}/skiff-lite.js does not export warmCache()`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-lite-cache-'));
const g = ['--root', path.join(tmp, 'root'), '--runroot', path.join(tmp, 'run')];
const ARGVS = [
  ['version'],
  ['version', '--format', 'json'],
  ['version', '--format', '{{.Client.Version}}'],
  [...g, 'ps'],
  [...g, 'ps', '-a'],
  [...g, 'ps', '-a', '--format', 'json'],
  [...g, 'ps', '-a', '-q'],
  [...g, 'container', 'ls', '-a', '--format', '{{.ID}} {{.Names}}'],
];

(async () => {
  try {
    for (const argv of ARGVS) {
      try {
        await lite.warmCache([argv]);
      } catch (err) {
        process.stderr.write(`lite-cache: skiff ${argv.join(' ')}: ${err && err.message}\n`);
      }
    }
  } finally {
    fs.rmSync(tmp, {recursive: true, force: true});
  }
  process.exitCode = 0; // a failed command above set it; the cache is still good
  const out = path.join(dist, 'skiff-lite.cache');
  const part = `${out}.tmp`;
  fs.writeFileSync(part, cacheFile(source, script.createCachedData()));
  fs.renameSync(part, out);
})().catch((err) => {
  process.stderr.write(`lite-cache: ${err && err.stack}\n`);
  process.exitCode = 1;
});
