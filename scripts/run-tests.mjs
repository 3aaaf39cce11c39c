// Runs the test suite with node's built-in runner (Node 20 has no --test globs).
// Usage: node scripts/run-tests.mjs [unit|integration|all|sea] [extra node --test args]
//   sea: build the single binary (dist/skiff-bin) and run the integration suite against it.
import {spawnSync} from 'node:child_process';
import {readdirSync, statSync} from 'node:fs';
import {join, relative} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const which = process.argv[2] ?? 'all';
const extra = process.argv.slice(3);
const dirs = which === 'all' ? ['unit', 'integration'] : which === 'sea' ? ['integration'] : [which];
const env = {...process.env};
if (which === 'sea') {
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'build-sea.mjs')], {cwd: root, stdio: 'inherit'});
  if (b.status !== 0) process.exit(b.status ?? 1);
  env.SKIFF_BIN = join(root, 'dist', 'skiff-bin');
  console.log(`# running the integration suite against ${env.SKIFF_BIN}`);
}

function find(dir) {
  let out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const files = dirs.flatMap((d) => find(join(root, 'test', d)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = process.env.SKIFF_TEST_CONCURRENCY ?? '3';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...extra, ...files], {cwd: root, stdio: 'inherit', env});
process.exit(r.status ?? 1);
