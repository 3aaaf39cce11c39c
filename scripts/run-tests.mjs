// Runs the test suite with node's built-in runner (Node 20 has no --test globs).
// Usage: node scripts/run-tests.mjs [unit|integration|all] [extra node --test args]
import {spawnSync} from 'node:child_process';
import {readdirSync, statSync} from 'node:fs';
import {join, relative} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const which = process.argv[2] ?? 'all';
const extra = process.argv.slice(3);
const dirs = which === 'all' ? ['unit', 'integration'] : [which];

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
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...extra, ...files], {cwd: root, stdio: 'inherit'});
process.exit(r.status ?? 1);
