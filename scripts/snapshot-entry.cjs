// Entry of the V8 startup snapshot (dist/skiff.blob), and the main script of
// the single binary (scripts/build-sea.mjs, "useSnapshot"). Run only by
// scripts/build.mjs as:
//   SKIFF_SNAPSHOT_BUNDLE=dist/skiff.js node --snapshot-blob dist/skiff.blob --build-snapshot scripts/snapshot-entry.cjs
//
// In the snapshot builder there is no `module` and `require` loads built-ins
// only, so the bundle's source is evaluated here as a CommonJS function with a
// private module object. Evaluating it loads every module the bundle requires
// eagerly (@oclif/core and the command classes); that heap is what the
// snapshot saves. At run time bin/skiff starts
//   node --snapshot-blob dist/skiff.blob -- /abs/dist/skiff.js ARGS...
// and Node calls the deserialize-main function below instead of a script, so
// process.argv looks exactly as it does for `node dist/skiff.js ARGS...`.
//
// Rules kept by the bundle (checked with SKIFF_SNAPSHOT_TRACE=1, which lists
// every environment variable and cwd read while the bundle is evaluated):
// nothing evaluated at load time may keep env, cwd, stdio or timers. Only the
// modules warmSnapshot() evaluates are in the heap; @oclif/core (help) and
// every cold command are evaluated at run time, in the real environment.
'use strict';
// Node warns about built-ins it has not verified in user snapshots. These
// were reviewed for skiff: at load time the bundle only takes function
// references from them (tty.isatty is called, which keeps nothing), and Node
// itself refreshes performance's time origin after deserialization. Any other
// module still warns, so a new one gets reviewed before it is silenced.
const REVIEWED = new Set(['vm', 'tty', 'perf_hooks', 'child_process', 'readline', 'module']);
const v8 = require('node:v8');
const defaultWarningListeners = process.listeners('warning');
process.removeAllListeners('warning');
function filterWarning(warning) {
  const m = /built-in module "(?:node:)?([^"]+)" works in user snapshot/.exec(String(warning && warning.message));
  if (m && REVIEWED.has(m[1])) return;
  for (const l of defaultWarningListeners) l.call(process, warning);
}
process.on('warning', filterWarning);
// Warnings are emitted on a later tick; put Node's own listeners back just
// before the heap is serialized so the snapshot holds nothing of this file.
v8.startupSnapshot.addSerializeCallback(() => {
  process.removeListener('warning', filterWarning);
  for (const l of defaultWarningListeners) process.on('warning', l);
});

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const bundle = path.resolve(process.env.SKIFF_SNAPSHOT_BUNDLE || path.join(typeof __dirname === 'string' ? __dirname : '.', '..', 'dist', 'skiff.js'));
// Set by scripts/build-sea.mjs: this file is also the single binary's main
// script (useSnapshot), and the addon asset's sha256 is a build constant.
const seaAddonDigest = process.env.SKIFF_SEA_ADDON_DIGEST || '';
const trace = Boolean(process.env.SKIFF_SNAPSHOT_TRACE);
const where = process.env.SKIFF_SNAPSHOT_TRACE === 'stack';
function note(what) {
  if (!where) return;
  Error.stackTraceLimit = 12;
  const frame = (new Error().stack ?? '').split('\n').slice(2, 5).map((l) => l.trim()).join(' < ').trim();
  process.stderr.write(`snapshot: ${what} ${frame}\n`);
}

const realEnv = process.env;
const envReads = new Set();
if (trace) {
  process.env = new Proxy(realEnv, {
    get(t, k) {
      if (typeof k === 'string' && !envReads.has(k)) note(`env ${k}`);
      if (typeof k === 'string') envReads.add(k);
      return Reflect.get(t, k);
    },
    has(t, k) {
      if (typeof k === 'string') envReads.add(k);
      return Reflect.has(t, k);
    },
    ownKeys(t) {
      note('env <all keys>');
      envReads.add('<all keys>');
      return Reflect.ownKeys(t);
    },
  });
}
const realCwd = process.cwd;
let cwdReads = 0;
process.cwd = function cwd() {
  cwdReads++;
  note('cwd');
  return realCwd.call(process);
};

const source = fs.readFileSync(bundle, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
const wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {filename: bundle});
const mod = {exports: {}, id: bundle, filename: bundle, loaded: false};
wrapper.call(mod.exports, mod.exports, require, mod, bundle, path.dirname(bundle));
mod.loaded = true;

function endTrace() {
  process.cwd = realCwd;
  if (trace) {
    process.env = realEnv;
    process.stderr.write(`snapshot: env read while loading the bundle: ${[...envReads].sort().join(' ') || '(none)'}\n`);
    process.stderr.write(`snapshot: process.cwd() calls while loading the bundle: ${cwdReads}\n`);
  }
}

const {snapshotMain, seaMain, warmSnapshot} = mod.exports;
// dist/skiff.js exports all three (the light entry dist/skiff-lite.js has
// no snapshot: it starts from a code cache, scripts/lite-load.cjs).
if (typeof snapshotMain !== 'function' || typeof warmSnapshot !== 'function' || (seaAddonDigest && typeof seaMain !== 'function')) {
  throw new Error(`${bundle} does not export snapshotMain(), warmSnapshot() and (for the single binary) seaMain()`);
}
// The bundle's modules are evaluated lazily (each command on first use);
// warmSnapshot() evaluates the hot ones now. Node drains the event loop
// before it serializes the heap, so the promise has settled by then.
let warmed = false;
warmSnapshot().then(() => {
  warmed = true;
  endTrace();
});
v8.startupSnapshot.addSerializeCallback(() => {
  if (!warmed) throw new Error('warmSnapshot() did not finish before the snapshot was taken');
});
v8.startupSnapshot.setDeserializeMainFunction(() => {
  if (seaAddonDigest) {
    const sea = require('node:sea');
    if (sea.isSea()) {
      const vendor = (name) => {
        try {
          return sea.getAsset(`vendor/${name}.js`, 'utf8');
        } catch {
          return undefined;
        }
      };
      seaMain({bytes: () => new Uint8Array(sea.getAsset('skiff_native.node')), digest: seaAddonDigest}, vendor);
      return;
    }
  }
  snapshotMain();
});
