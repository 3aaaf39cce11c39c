// Runs the test suite with node's built-in runner (Node 20 has no --test globs).
// Usage: node scripts/run-tests.mjs [unit|integration|all|sea|ci] [extra node --test args]
//   sea: build the single binary (dist/skiff-bin) and run the integration suite against it.
//   ci:  all, then sea; ends with one line totalling both runs
//        ("total: N passed, N failed, N skipped"), since each run prints its own summary.
import {spawn, spawnSync} from 'node:child_process';
import {readdirSync, statSync} from 'node:fs';
import {join, relative} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const which = process.argv[2] ?? 'all';
const extra = process.argv.slice(3);
const concurrency = process.env.SKIFF_TEST_CONCURRENCY ?? '3';

function find(dir) {
  let out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

/** One node --test run; its output passes through, and its summary counts are returned. */
function runSuite(mode) {
  const dirs = mode === 'all' ? ['unit', 'integration'] : mode === 'sea' ? ['integration'] : [mode];
  const env = {...process.env};
  if (mode === 'sea') {
    const b = spawnSync(process.execPath, [join(root, 'scripts', 'build-sea.mjs')], {cwd: root, stdio: 'inherit'});
    if (b.status !== 0) return Promise.resolve({code: b.status ?? 1, counts: {pass: 0, fail: 1, skipped: 0}});
    env.SKIFF_BIN = join(root, 'dist', 'skiff-bin');
    console.log(`# running the integration suite against ${env.SKIFF_BIN}`);
  }
  const files = dirs.flatMap((d) => find(join(root, 'test', d)));
  if (files.length === 0) {
    console.error('no test files found');
    return Promise.resolve({code: 1, counts: {pass: 0, fail: 1, skipped: 0}});
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...extra, ...files], {cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env});
    const counts = {pass: 0, fail: 0, skipped: 0};
    let buf = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const l of lines) {
        const m = /^# (pass|fail|skipped) (\d+)$/.exec(l);
        if (m) counts[m[1]] = Number(m[2]);
      }
    });
    child.on('close', (code) => resolve({code: code ?? 1, counts}));
  });
}

if (which === 'ci') {
  const a = await runSuite('all');
  const b = a.code === 0 ? await runSuite('sea') : {code: 1, counts: {pass: 0, fail: 0, skipped: 0}};
  const t = (k) => a.counts[k] + b.counts[k];
  console.log(`total: ${t('pass')} passed, ${t('fail')} failed, ${t('skipped')} skipped`);
  process.exit(a.code || b.code);
} else {
  const r = await runSuite(which);
  process.exit(r.code);
}
