/**
 * Start-up paths (bench/README.md): the launchers (bin/skiff, and
 * dist/skiff-launch, native/launcher.c, which must decide the same), the full
 * entry's snapshot and the light entry's code cache, their fallback to the
 * plain bundle, and the behaviour every entry must share
 * (argv passed intact, exit codes, help). Behaviour only, never timing.
 * The shared part runs against $SKIFF_BIN (dist/skiff-launch or bin/skiff, or the single binary).
 */
import {test, describe, before, after} from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {spawn} from 'node:child_process';
import {REPO_ROOT, SKIFF_BIN, runSkiff, type RunResult} from '../helpers/skiff';

const DIST = path.join(REPO_ROOT, 'dist');

function runAt(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {env: {...process.env, SKIFF_LAUNCHER_DEBUG: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : -1), stdout, stderr}));
  });
}

function versionJson(r: RunResult): {Client: {Version: string; NodeVersion: string}} {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('every entry point ($SKIFF_BIN)', () => {
  test('global flags before the command, values with spaces', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff start '));
    try {
      const r = await runSkiff(['--root', root, '--runroot', path.join(root, 'run'), 'version', '--format', 'json']);
      assert.equal(versionJson(r).Client.NodeVersion, process.version);
    } finally {
      fs.rmSync(root, {recursive: true, force: true});
    }
  });

  test('arguments that look like node options reach skiff, not node', async () => {
    for (const flag of ['--inspect', '--snapshot-blob', '--expose-gc', '-e']) {
      const r = await runSkiff(['version', flag, '1']);
      assert.equal(r.code, 125, `${flag}: ${r.stderr}`);
      assert.match(r.stderr, /^Error: Nonexistent flag/m, flag);
      assert.equal(r.stdout, '');
    }
    const r = await runSkiff(['--log-level', 'warn', 'version', '--format=json']);
    assert.equal(versionJson(r).Client.Version.length > 0, true);
  });

  test('exit codes: success 0, unknown command and bad flag 125', async () => {
    assert.equal((await runSkiff(['version'])).code, 0);
    const nope = await runSkiff(['nope']);
    assert.equal(nope.code, 125);
    assert.match(nope.stderr, /^Error: unrecognized command `skiff nope`/);
    assert.equal((await runSkiff(['version', '--bogus'])).code, 125);
  });

  test('--version and -v print the version', async () => {
    for (const a of ['--version', '-v']) {
      const r = await runSkiff([a]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Version: +\d+\.\d+\.\d+/m);
    }
  });

  test('a reader that goes away ends the command quietly (no stack trace), exit 0', async () => {
    const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-epipe-'));
    try {
      for (const args of [['version', '--format', 'json'], ['--root', tmpRoot, '--runroot', path.join(tmpRoot, 'run'), 'ps', '-a'], ['--root', tmpRoot, '--runroot', path.join(tmpRoot, 'run'), 'images', '--format', 'json']]) {
        const r = await new Promise<RunResult>((resolve, reject) => {
          const child = spawn(SKIFF_BIN, args, {stdio: ['ignore', 'pipe', 'pipe']});
          child.stdout.destroy(); // the reader is gone before skiff writes
          let stderr = '';
          child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
          child.on('error', reject);
          child.on('close', (code) => resolve({code: code ?? -1, stdout: '', stderr}));
        });
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /EPIPE|at .*skiff\.js/, args.join(' '));
      }
    } finally {
      fs.rmSync(tmpRoot, {recursive: true, force: true});
    }
  });

  test('help: root, per command, help topic', async () => {
    const root = await runSkiff(['--help']);
    assert.equal(root.code, 0, root.stderr);
    assert.match(root.stdout, /USAGE/);
    assert.match(root.stdout, /\bversion\b/);
    for (const args of [['version', '--help'], ['help', 'version'], ['version', '-h']]) {
      const r = await runSkiff(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /Display the skiff version information/, args.join(' '));
      assert.match(r.stdout, /--format/, args.join(' '));
    }
  });
});

// Both launchers, as a path relative to the package (bin/ and dist/).
const LAUNCHERS: Array<[string, boolean]> = [
  ['bin/skiff', true],
  ['dist/skiff-launch', fs.existsSync(path.join(DIST, 'skiff-launch'))],
];
for (const [LAUNCHER, built] of LAUNCHERS) describe(`${LAUNCHER} launcher`, {skip: !built && 'no dist/skiff-launch: the build found no C compiler'}, () => {
  let tmp = '';
  const hasBlob = fs.existsSync(path.join(DIST, 'skiff.blob')) && fs.existsSync(path.join(DIST, 'skiff.blob.stamp'));
  const hasCache = fs.existsSync(path.join(DIST, 'skiff-lite-load.js')) && fs.existsSync(path.join(DIST, 'skiff-lite.cache'));
  const bin = path.join(REPO_ROOT, LAUNCHER);

  /** A copy of the package (bin/ and dist/) to break things in; its launcher. */
  function copyPackage(name: string): string {
    const dir = path.join(tmp, name);
    fs.mkdirSync(path.join(dir, 'bin'), {recursive: true});
    fs.copyFileSync(path.join(REPO_ROOT, 'bin', 'skiff'), path.join(dir, 'bin', 'skiff'));
    fs.chmodSync(path.join(dir, 'bin', 'skiff'), 0o755);
    fs.cpSync(DIST, path.join(dir, 'dist'), {recursive: true, filter: (src) => !src.endsWith('skiff-bin')});
    return path.join(dir, LAUNCHER);
  }

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-startup-'));
  });
  after(() => fs.rmSync(tmp, {recursive: true, force: true}));

  test('uses the snapshot and the code cache when they match, also from a copy of the package', {skip: !(hasBlob && hasCache) && 'no dist/skiff.blob or dist/skiff-lite.cache (npm run build)'}, async () => {
    for (const b of [bin, copyPackage('intact')]) {
      const full = await runAt(b, ['--root', path.join(tmp, 'r'), 'version', '--format', 'json'], {SKIFF_NO_LITE: '1'});
      assert.match(full.stderr, /skiff-launcher: snapshot \S*\/skiff\.blob/, b);
      versionJson(full);
      const lite = await runAt(b, ['--root', path.join(tmp, 'r'), 'version', '--format', 'json']);
      assert.match(lite.stderr, /skiff-launcher: code cache \S*\/skiff-lite-load\.js\nskiff-lite-load: code cache used\n/, b);
      assert.equal(lite.stdout, full.stdout, b);
    }
  });

  test('the snapshot starts with glibc malloc tunables unless the user set GLIBC_TUNABLES (even empty)', {skip: !hasBlob && 'no dist/skiff.blob'}, async () => {
    const tuned = await runAt(bin, ['--root', path.join(tmp, 'r'), 'version', '--format', 'json'], {SKIFF_NO_LITE: '1'});
    assert.match(tuned.stderr, /skiff-launcher: snapshot \S*\/skiff\.blob\nskiff-launcher: glibc tunables glibc\.malloc\.hugetlb=1:glibc\.malloc\.mmap_threshold=8388608\n/);
    versionJson(tuned);
    for (const own of ['', 'glibc.malloc.check=0']) {
      const r = await runAt(bin, ['--root', path.join(tmp, 'r'), 'version', '--format', 'json'], {SKIFF_NO_LITE: '1', GLIBC_TUNABLES: own});
      assert.match(r.stderr, /skiff-launcher: snapshot /);
      assert.doesNotMatch(r.stderr, /glibc tunables/);
      versionJson(r);
    }
    // Only the full entry's snapshot: the light entry gains nothing from them.
    const lite = await runAt(bin, ['version', '--format', 'json']);
    assert.doesNotMatch(lite.stderr, /glibc tunables/);
  });

  test('through a symlink (as npm links bin/skiff)', {skip: !(hasBlob && hasCache) && 'no dist/skiff.blob'}, async () => {
    const link = path.join(tmp, 'skiff-link');
    fs.symlinkSync(bin, link);
    const r = await runAt(link, ['version', '--format', 'json']);
    assert.match(r.stderr, /skiff-launcher: code cache .*\nskiff-lite-load: code cache used/);
    versionJson(r);
    const full = await runAt(link, ['version', '--format', 'json'], {SKIFF_NO_LITE: '1'});
    assert.match(full.stderr, /skiff-launcher: snapshot /);
    versionJson(full);
  });

  // The full entry (bin/skiff picks it by the command word) and a command it serves.
  const entries: Array<[string, (tmpRoot: string) => string[]]> = [['skiff', (r) => ['--root', r, 'info', '--format', '{{.host.os}}']]];
  const broken: Array<[string, (dist: string, entry: string) => void]> = [
    ['the blob is missing', (d, e) => fs.rmSync(path.join(d, `${e}.blob`))],
    ['the stamp is missing', (d, e) => fs.rmSync(path.join(d, `${e}.blob.stamp`))],
    ['the blob is truncated', (d, e) => fs.truncateSync(path.join(d, `${e}.blob`), 4096)],
    ['the blob is garbage', (d, e) => fs.writeFileSync(path.join(d, `${e}.blob`), Buffer.alloc(1 << 16, 0x5a))],
    ['another node binary built it', (d, e) => fs.writeFileSync(path.join(d, `${e}.blob.stamp`), '1 2 3 4 5 6\n/elsewhere/node\n')],
    ['the bundle was rebuilt without it', (d, e) => fs.appendFileSync(path.join(d, `${e}.js`), '\n// rebuilt\n')],
  ];
  for (const [entry, command] of entries) {
    for (const [what, breakIt] of broken) {
      test(`${entry}: falls back to the bundle when ${what}`, {skip: !hasBlob && 'no dist/skiff.blob'}, async () => {
        const copy = copyPackage(`${entry}-${what.replace(/\W+/g, '-')}`);
        breakIt(path.join(path.dirname(copy), '..', 'dist'), entry);
        const r = await runAt(copy, command(path.join(tmp, 'r')));
        assert.match(r.stderr, new RegExp(`skiff-launcher: bundle \\S*/${entry}\\.js`));
        assert.equal(r.code, 0, r.stderr);
        assert.notEqual(r.stdout.trim(), '');
        const nope = await runAt(copy, ['nope']);
        assert.equal(nope.code, 125);
        const help = await runAt(copy, ['version', '--help']);
        assert.equal(help.code, 0, help.stderr);
        assert.match(help.stdout, /Display the skiff version information/);
      });
    }
  }

  // The light entry's code cache (scripts/lite-load.cjs): whatever is wrong
  // with it, the loader runs the bundle uncached with the same output, and
  // never writes into dist/.
  const line1 = (d: string) => fs.readFileSync(path.join(d, 'skiff-lite.js'), 'utf8').split('\n', 1)[0];
  const badCache: Array<[string, (dist: string) => void]> = [
    ['the cache is missing', (d) => fs.rmSync(path.join(d, 'skiff-lite.cache'))],
    ['the cache is empty', (d) => fs.writeFileSync(path.join(d, 'skiff-lite.cache'), '')],
    ['the cache is truncated', (d) => fs.truncateSync(path.join(d, 'skiff-lite.cache'), 4096)],
    ['the cache is garbage', (d) => fs.writeFileSync(path.join(d, 'skiff-lite.cache'), Buffer.alloc(1 << 16, 0x5a))],
    [
      "V8's data is garbage behind a right header",
      (d) => {
        const c = fs.readFileSync(path.join(d, 'skiff-lite.cache'));
        const nl = c.indexOf(10);
        fs.writeFileSync(path.join(d, 'skiff-lite.cache'), Buffer.concat([c.subarray(0, nl + 1), Buffer.alloc(c.length - nl - 1, 0x5a)]));
      },
    ],
    [
      // A rebuilt bundle of the same length: V8 would take the old cache (it checks the source by length only).
      'the cache is of another build of the same length',
      (d) => {
        const js = path.join(d, 'skiff-lite.js');
        const src = fs.readFileSync(js, 'utf8');
        const id = line1(d);
        const other = id.replace(/[0-9a-f]{16}$/, (h) => [...h].map((c) => (c === '0' ? '1' : '0')).join(''));
        assert.notEqual(other, id);
        fs.writeFileSync(js, other + src.slice(id.length));
      },
    ],
    [
      // V8 accepts that (release builds do not checksum code caches) and crashes on it: the loader's copies differ.
      "a byte of V8's data is flipped",
      (d) => {
        const c = fs.readFileSync(path.join(d, 'skiff-lite.cache'));
        c[Math.floor(c.length / 3)] ^= 0xff;
        fs.writeFileSync(path.join(d, 'skiff-lite.cache'), c);
      },
    ],
    ['the bundle was rebuilt without it', (d) => fs.appendFileSync(path.join(d, 'skiff-lite.js'), '\n// rebuilt\n')],
  ];
  test('skiff-lite: the loader runs the bundle uncached, with the same output, when the code cache does not fit', {skip: !hasCache && 'no dist/skiff-lite.cache (npm run build)'}, async () => {
    const g = ['--root', path.join(tmp, 'r'), '--runroot', path.join(tmp, 'rr')];
    const commands = [['version', '--format', 'json'], [...g, 'ps', '-a', '--format', 'json'], [...g, 'ps']];
    const want = await Promise.all(commands.map((c) => runAt(bin, c)));
    for (const w of want) assert.equal(w.code, 0, w.stderr);
    for (const [what, breakIt] of badCache) {
      const copy = copyPackage(`skiff-lite-${what.replace(/\W+/g, '-')}`);
      const dist = path.join(path.dirname(copy), '..', 'dist');
      breakIt(dist);
      const before = fs.readdirSync(dist).map((f) => `${f} ${fs.statSync(path.join(dist, f)).size} ${fs.statSync(path.join(dist, f)).mtimeMs}`);
      for (const [i, c] of commands.entries()) {
        const r = await runAt(copy, c);
        assert.match(r.stderr, /skiff-launcher: code cache \S*\/skiff-lite-load\.js\nskiff-lite-load: no usable code cache\n/, `${what}: ${r.stderr}`);
        assert.equal(r.code, 0, `${what}: ${r.stderr}`);
        assert.equal(r.stdout, want[i].stdout, `${what}: ${c.join(' ')}`);
      }
      const after = fs.readdirSync(dist).map((f) => `${f} ${fs.statSync(path.join(dist, f)).size} ${fs.statSync(path.join(dist, f)).mtimeMs}`);
      assert.deepEqual(after, before, `${what}: the loader wrote into dist/`);
    }
    // Without the loader: the plain light bundle.
    const copy = copyPackage('skiff-lite-no-loader');
    fs.rmSync(path.join(path.dirname(copy), '..', 'dist', 'skiff-lite-load.js'));
    const r = await runAt(copy, commands[0]);
    assert.match(r.stderr, /skiff-launcher: bundle \S*\/skiff-lite\.js/);
    assert.equal(r.stdout, want[0].stdout);
  });

  test('picks the light entry by the command word, after global flags', {skip: !(hasBlob && hasCache) && 'no dist/skiff.blob'}, async () => {
    const r = path.join(tmp, 'r');
    const cases: Array<[string[], string]> = [
      [['version'], 'skiff-lite'],
      [['ps'], 'skiff-lite'],
      [['--root', r, '--runroot', path.join(tmp, 'rr'), 'ps', '-a'], 'skiff-lite'],
      [[`--root=${r}`, '--log-level', 'warn', 'container', 'ls'], 'skiff-lite'],
      [['--root', r, 'container', 'list', '-q'], 'skiff-lite'],
      [['--root', r, 'images'], 'skiff'],
      [['--root', r, 'container', 'inspect', 'nope'], 'skiff'],
      [['--root', 'ps', 'images'], 'skiff'],
      [['--bogus', 'ps'], 'skiff'],
    ];
    for (const [args, entry] of cases) {
      const out = await runAt(bin, args);
      const how = entry === 'skiff' ? 'snapshot \\S*/skiff\\.blob' : 'code cache \\S*/skiff-lite-load\\.js';
      assert.match(out.stderr, new RegExp(`skiff-launcher: ${how}`), args.join(' '));
    }
  });

  test('the light entry hands what it cannot do to the full one, with the same result', {skip: !(hasBlob && hasCache) && 'no dist/skiff.blob'}, async () => {
    const g = ['--root', path.join(tmp, 'r'), '--runroot', path.join(tmp, 'rr')];
    const cases = [
      [...g, 'ps', '--filter', 'status=exited', '--format', 'json'],
      [...g, 'ps', '-af', 'ancestor=busybox', '--format', 'json'],
      [...g, 'ps', '--help'],
      [...g, 'ps', '--bogus'],
      [...g, 'ps', '-n', 'x'],
      [...g, 'version', '-h'],
      [...g, 'ps', '-a', '--format', '{{.ID}} {{.Names}}'],
    ];
    for (const args of cases) {
      const lite = await runAt(bin, args);
      const full = await runAt(bin, args, {SKIFF_NO_LITE: '1'});
      assert.match(lite.stderr, /skiff-launcher: code cache \S*\/skiff-lite-load\.js/, args.join(' '));
      assert.match(full.stderr, /skiff-launcher: snapshot \S*\/skiff\.blob/, args.join(' '));
      const strip = (x: string) => x.replace(/^skiff-(launcher|lite-load): .*\n/gm, '');
      assert.deepEqual({code: lite.code, stdout: lite.stdout, stderr: strip(lite.stderr)}, {code: full.code, stdout: full.stdout, stderr: strip(full.stderr)}, args.join(' '));
    }
  });

  test('falls back when asked, or when a variable read at load time is set', {skip: !(hasBlob && hasCache) && 'no dist/skiff.blob'}, async () => {
    for (const env of [{SKIFF_NO_SNAPSHOT: '1'}, {NODE_DEBUG: 'semver'}, {OCLIF_COLUMNS: '120'}]) {
      const r = await runAt(bin, ['version', '--format', 'json'], {...env, SKIFF_NO_LITE: '1'});
      assert.match(r.stderr, /skiff-launcher: bundle \S*\/skiff\.js/, JSON.stringify(env));
      assert.equal(r.code, 0);
    }
    // The light entry: SKIFF_NO_SNAPSHOT only (its code cache holds no state, the bundle is evaluated at run time).
    const plain = await runAt(bin, ['version', '--format', 'json'], {SKIFF_NO_SNAPSHOT: '1'});
    assert.match(plain.stderr, /skiff-launcher: bundle \S*\/skiff-lite\.js/);
    assert.equal(plain.code, 0);
    for (const env of [{NODE_DEBUG: 'semver'}, {OCLIF_COLUMNS: '120'}]) {
      const r = await runAt(bin, ['version', '--format', 'json'], env);
      assert.match(r.stderr, /skiff-launcher: code cache /, JSON.stringify(env));
      assert.equal(r.code, 0);
    }
  });

  test('help wraps to the width asked for at run time, not at build time', async () => {
    const narrow = await runAt(bin, ['version', '--help'], {OCLIF_COLUMNS: '50'});
    const wide = await runAt(bin, ['version', '--help']);
    assert.equal(narrow.code, 0);
    assert.ok(Math.max(...narrow.stdout.split('\n').map((l) => l.length)) <= 50, narrow.stdout);
    assert.ok(Math.max(...wide.stdout.split('\n').map((l) => l.length)) > 50, wide.stdout);
  });
});
