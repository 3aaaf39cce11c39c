// Builds dist/: the native addon, then one CommonJS bundle of the CLI.
import {build} from 'esbuild';
import {execFileSync} from 'node:child_process';
import {copyFileSync, mkdirSync, readFileSync, existsSync, statSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
mkdirSync(join(root, 'dist'), {recursive: true});

// Native addon (mknod, xattrs, mount, flock): node-gyp against the local Node headers.
const addon = join(root, 'native', 'build', 'Release', 'skiff_native.node');
const src = join(root, 'native', 'skiff_native.c');
if (!existsSync(addon) || statNewer(src, addon)) {
  const gyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const args = [gyp, 'rebuild', '-C', join(root, 'native')];
  if (existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
  execFileSync(process.execPath, args, {stdio: ['ignore', 'ignore', 'inherit']});
}
copyFileSync(addon, join(root, 'dist', 'skiff_native.node'));

await build({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outfile: join(root, 'dist', 'skiff.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  minifySyntax: true,
  legalComments: 'none',
  external: ['typescript'],
  logLevel: 'warning',
  define: {
    __SKIFF_VERSION__: JSON.stringify(pkg.version),
    __SKIFF_BUILT__: JSON.stringify(new Date().toISOString()),
  },
});

function statNewer(a, b) {
  return statSync(a).mtimeMs > statSync(b).mtimeMs;
}
