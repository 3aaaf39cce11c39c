// dist/skiff-lite-load.js (scripts/build.mjs copies this file there): starts
// the light entry dist/skiff-lite.js from a V8 code cache, dist/skiff-lite.cache.
//   node dist/skiff-lite-load.js ARGS...       what the launchers run for version/ps
//
// A user startup snapshot costs ~4 ms of deserialization even when empty; a
// code cache of the 95 KB light bundle costs well under 1 ms to load and
// spares the parser and the lazy compiler the functions `version` and `ps`
// run (docs/design.md "Start-up"). The bundle is compiled here as Node
// compiles a CommonJS module (the same wrapper), with the cache as
// vm.Script's cachedData.
//
// The cache file: one line "skiff-lite-cache 1 BUILD LENGTH\n", then V8's
// data twice. BUILD is the bundle's first line (scripts/build.mjs writes a
// build id there), LENGTH the bundle's length in UTF-16 units. V8 itself
// rejects data of another V8 version or other flags, or a truncated file
// (script.cachedDataRejected), but it checks the source only by its length:
// the header is what keeps a cache from another build of the same length
// from being used with this bundle. Release builds of V8 do not checksum the
// data either (a flipped byte inside it crashes Node); checksumming 150 KB
// costs 0.5-2 ms here (node:v8's --verify-snapshot-checksum, node:zlib's
// crc32 or a JS loop: most of what the cache saves), comparing two copies
// ~0.05 ms, so the file holds two and any difference is damage. Whatever is
// wrong, the bundle runs uncached: correct, only slower. Nothing is ever
// written at run time (an installed dist/ is root's; rootless users run it):
// scripts/lite-cache.cjs makes the cache at build time, through load() and
// cacheFile() below.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const MAGIC = 'skiff-lite-cache 1';

/** The header line the cache of this bundle source must start with. */
function header(source) {
  const nl = source.indexOf('\n');
  return `${MAGIC} ${nl < 0 ? '' : source.slice(0, nl)} ${source.length}\n`;
}

/** V8's data from cache file bytes, if they were made for this source and are intact. */
function cacheFor(source, bytes) {
  if (!bytes) return undefined;
  const want = header(source);
  const nl = bytes.indexOf(10);
  if (nl < 0 || nl + 1 !== Buffer.byteLength(want) || bytes.toString('utf8', 0, nl + 1) !== want) return undefined;
  const len = (bytes.length - nl - 1) / 2;
  if (!Number.isInteger(len) || len === 0) return undefined;
  const data = bytes.subarray(nl + 1, nl + 1 + len);
  return data.equals(bytes.subarray(nl + 1 + len)) ? data : undefined;
}

/** The cache file's bytes for SOURCE and V8's DATA (scripts/lite-cache.cjs). */
function cacheFile(source, data) {
  return Buffer.concat([Buffer.from(header(source)), data, data]);
}

/**
 * Compiles and evaluates DIST/skiff-lite.js (with CACHE: V8 data, or
 * undefined), as Node's CommonJS loader would; returns the vm.Script and the
 * module's exports.
 */
function load(dist, cache) {
  const bundle = path.join(dist, 'skiff-lite.js');
  const source = fs.readFileSync(bundle, 'utf8');
  const cachedData = cacheFor(source, cache);
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {filename: bundle, cachedData});
  const mod = {exports: {}, id: bundle, filename: bundle, loaded: false};
  script.runInThisContext().call(mod.exports, mod.exports, require, mod, bundle, dist);
  mod.loaded = true;
  return {script, exports: mod.exports, source, cached: Boolean(cachedData) && !script.cachedDataRejected};
}

if (require.main === module) {
  const dist = __dirname;
  let cache;
  try {
    cache = fs.readFileSync(path.join(dist, 'skiff-lite.cache'));
  } catch {
    // no cache: uncached
  }
  const {exports, cached} = load(dist, cache);
  if (process.env.SKIFF_LAUNCHER_DEBUG) process.stderr.write(`skiff-lite-load: ${cached ? 'code cache used' : 'no usable code cache'}\n`);
  exports.main();
} else {
  module.exports = {load, cacheFile};
}
