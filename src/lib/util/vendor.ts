/**
 * Heavy third-party packages kept out of the main bundle, and so out of the
 * V8 start-up snapshot whose size every command pays for at start: undici
 * (1.3 MB of source) is built into dist/vendor/undici.js and evaluated only
 * when a command first talks to a registry; @oclif/core and its dependencies
 * (~0.4 MB, dist/vendor/@oclif/core.js) only when --help is asked for. scripts/build.mjs redirects
 * `import('undici')` in the main bundle to loadVendor('undici'); under tsx
 * (tests, development) imports resolve normally and this module is unused.
 * The single binary carries each vendor bundle as an asset instead.
 */
import * as path from 'node:path';
import type * as VM from 'node:vm';
import type * as NodeModule from 'node:module';

// Loaded when a vendor bundle is first needed: neither is in Node's own startup snapshot.
const vm = () => require('node:vm') as typeof VM;
const createRequire = (p: string) => (require('node:module') as typeof NodeModule).createRequire(p);

let vendorDir: string | undefined;
let assets: ((name: string) => string | undefined) | undefined;
const loaded = new Map<string, unknown>();

/** dist/, where vendor/NAME.js lives (set by src/cli/main.ts at start-up). */
export function setVendorDir(dir: string): void {
  vendorDir = dir;
}

/** The single binary: vendor sources come from its embedded assets. */
export function setVendorAssets(get: (name: string) => string | undefined): void {
  assets = get;
}

export function loadVendor(name: string): unknown {
  if (loaded.has(name)) return loaded.get(name);
  let exports: unknown;
  const source = assets?.(name);
  if (source !== undefined) {
    // A vendor bundle needs only Node's built-ins, which this require serves.
    const req = createRequire(process.execPath);
    const fn = vm().compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname'], {filename: `vendor/${name}.js`});
    const mod = {exports: {} as unknown};
    fn(mod.exports, req, mod, `vendor/${name}.js`, 'vendor');
    exports = mod.exports;
  } else {
    if (!vendorDir) throw new Error(`vendor module ${name}: the bundle directory is unknown`);
    exports = createRequire(path.join(vendorDir, 'skiff.js'))(`./vendor/${name}.js`);
  }
  loaded.set(name, exports);
  return exports;
}

(globalThis as {__skiffVendor?: typeof loadVendor}).__skiffVendor = loadVendor;
