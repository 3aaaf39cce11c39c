/**
 * Hostile input: a registry that hangs, resets, sends garbage or lies about
 * digests and sizes; malformed references, flags and config files; and a
 * seeded fuzz over reference parsing and manifest/config decoding. Each must
 * end in one clean line and exit 125 within the client's timeouts, with
 * nothing recorded and nothing written outside the store.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {makeStore, type Store, type RunResult} from '../helpers/skiff';
import {hostileRegistry, MODES, type HostileRegistry} from '../helpers/hostile-registry';
import {rng, verifyStore} from '../helpers/fault';
import {parseReference} from '../../src/lib/image/reference';
import {decodeConfig, decodeManifest, parsePlatform} from '../../src/lib/image/manifest';
import {parseRegistriesConfText} from '../../src/lib/image/registries-conf';
import {SkiffError} from '../../src/lib/util/errors';

let hostile: HostileRegistry;
let s: Store;
let scratch: string;
const R = rng();

before(async () => {
  hostile = await hostileRegistry();
  s = makeStore();
  scratch = path.join(s.dir, 'scratch-tmp');
  fs.mkdirSync(scratch);
});

after(async () => {
  await s?.cleanup();
  await hostile?.close();
});

/** exit 125, one line "Error: ...", no stack trace. */
function assertClean(r: RunResult, what: string, pattern?: RegExp): void {
  assert.equal(r.code, 125, `${what}: exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one line, got: ${r.stderr}`);
  assert.match(lines[0], /^Error: \S/, what);
  assert.doesNotMatch(r.stderr, /\n\s+at |TypeError|RangeError|undefined/, `${what}: no internals`);
  if (pattern) assert.match(lines[0], pattern, what);
}

// The client's knobs for these tests: 2 s per request, one retry.
const PULL_ENV = {SKIFF_REGISTRY_TIMEOUT: '2s'};
const pull = (ref: string, extra: string[] = []) => s.run(['pull', '-q', '--tls-verify=false', '--retry', '1', '--retry-delay', '100ms', ...extra, ref], {env: {...PULL_ENV, TMPDIR: scratch}, timeoutMs: 90_000});

describe('fault: hostile registry', () => {
  test('the control image pulls', async () => {
    const r = await pull(`${hostile.host}/good:latest`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await s.run(['rmi', `${hostile.host}/good:latest`])).code, 0);
  });

  const expected: Record<(typeof MODES)[number], RegExp> = {
    hang: /timeout|timed out/i,
    reset: /reset|socket|closed|connection/i,
    error500: /500|boom|server/i,
    garbage: /manifest/i,
    notmanifest: /manifest/i,
    hugemanifest: /too large|larger than/i,
    badconfig: /digest|config/i,
    shortlayer: /layer|blob|closed|short|premature|terminated|size/i,
    longlayer: /size|layer|blob|digest/i,
    badlayer: /digest/i,
    notgzip: /layer|tar|diff|unpack|gzip|header|compress/i,
    stall: /timeout|timed out/i,
    badheader: /digest/i,
  };
  test(`each misbehaviour ends in one line and exit 125, nothing recorded, nothing written outside the store (${MODES.length} modes)`, async (t) => {
    const results: string[] = [];
    for (const mode of MODES) {
      const t0 = Date.now();
      const r = await pull(`${hostile.host}/${mode}:latest`);
      assertClean(r, `pull from a registry that does "${mode}"`, expected[mode]);
      results.push(`${mode} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      assert.equal((await s.run(['images', '-q'])).stdout, '', `${mode}: no image recorded`);
    }
    // The single binary keeps its native addon in TMPDIR/skiff-native-UID (its own code cache, see util/native.ts).
    assert.deepEqual(fs.readdirSync(scratch).filter((n) => !/^skiff-native-\d+$/.test(n)), [], 'nothing written to TMPDIR');
    const outside = fs.readdirSync(s.dir).filter((n) => !['root', 'run', 'registries.conf', 'scratch-tmp'].includes(n));
    assert.deepEqual(outside, [], 'nothing written next to the store');
    const v = await verifyStore(s);
    assert.deepEqual(v.problems, []);
    assert.deepEqual(v.repaired, [], 'a failed pull leaves nothing to repair');
    t.diagnostic(`hostile: ${MODES.length} registry misbehaviours → exit 125, one line each [${results.join(', ')}]`);
  });
});

describe('fault: malformed input', () => {
  test('malformed references and flags: exit 125, one line', async (t) => {
    const cases: string[][] = [
      ['pull', 'UPPER/Case'],
      ['pull', ':tag'],
      ['pull', 'a@sha256:zz'],
      ['pull', 'busybox@sha256:' + 'a'.repeat(63)],
      ['pull', ''],
      ['pull', 'a'.repeat(300) + ':x'],
      ['pull', 'host:99999999/x'],
      ['pull', 'x:' + 't'.repeat(200)],
      ['pull', '--platform', 'not/a/valid/platform/at/all', 'busybox'],
      ['pull', '--retry', '-1', 'busybox'],
      ['pull', '--retry-delay', 'soon', 'busybox'],
      ['create', '--memory', 'lots', 'busybox'],
      ['create', '--restart', 'sometimes', 'busybox'],
      ['create', '--name', 'bad name!', 'busybox'],
      ['create', '-p', 'notaport', 'busybox'],
      ['create', '--ulimit', 'nofile=abc', 'busybox'],
      ['run', '--bogus-flag', 'busybox'],
      ['ps', '--format', '{{.Foo'],
      ['ps', '--filter', 'nokey'],
      ['ps', '--filter', 'restart-policy=sometimes'],
      ['start', '--filter', 'bogus=1', '--all'],
      ['inspect', '--format', '{{range}}', 'x'],
      ['volume', 'create', '../escape'],
      ['--root', 'relative/path', 'ps'],
      ['stop', 'no-such-container'],
      ['system', 'check', '--bogus'],
    ];
    for (const c of cases) {
      // pull -q: "Trying to pull" progress lines are not errors.
      const args = c[0] === 'pull' ? ['pull', '-q', ...c.slice(1)] : c;
      assertClean(await s.run(args, {env: {TMPDIR: scratch}}), `skiff ${args.join(' ')}`);
    }
    t.diagnostic(`input: ${cases.length} malformed references/flags → exit 125, one line each`);
  });

  test('garbage config files: registries.conf, auth.json, docker config, seccomp profile', async (t) => {
    const conf = path.join(s.dir, 'bad-registries.conf');
    fs.writeFileSync(conf, '[[registry]\nlocation = "unterminated\nunqualified-search-registries = 7\n');
    assertClean(await s.run(['pull', 'busybox'], {env: {CONTAINERS_REGISTRIES_CONF: conf}}), 'garbage registries.conf', /registries\.conf|toml|parse|invalid/i);
    fs.writeFileSync(conf, 'unqualified-search-registries = ["a", 1, {x = 2}]\n');
    assertClean(await s.run(['pull', 'busybox'], {env: {CONTAINERS_REGISTRIES_CONF: conf}}), 'registries.conf with wrong types', /registries\.conf|invalid|must|expected/i);
    fs.rmSync(conf);

    const auth = path.join(s.dir, 'bad-auth.json');
    for (const body of ['{"auths": {"x": {"auth": "%%%notbase64"}}', '[1,2,3]', '\u0000\u0001binary', '{"auths": {"' + hostile.host + '": {"auth": "bm9jb2xvbg=="}}}']) {
      fs.writeFileSync(auth, body);
      const r = await pull(`${hostile.host}/good:latest`, ['--authfile', auth]);
      if (r.code === 0) {
        // A credential file it could not use for this host: the anonymous pull is fine.
        assert.equal((await s.run(['rmi', `${hostile.host}/good:latest`])).code, 0);
      } else {
        assertClean(r, `garbage auth.json ${JSON.stringify(body.slice(0, 20))}`, /auth|json|credential/i);
      }
    }
    fs.rmSync(auth);
    assertClean(await s.run(['login', '--authfile', path.join(s.dir, 'nope', 'x.json'), '--get-login', hostile.host]), 'login --get-login with no credentials');

    const seccomp = path.join(s.dir, 'bad-seccomp.json');
    fs.writeFileSync(seccomp, '{"defaultAction": 12, "syscalls": "all"');
    const good = await pull(`${hostile.host}/good:latest`);
    assert.equal(good.code, 0, good.stderr);
    assertClean(await s.run(['run', '--rm', '--security-opt', `seccomp=${seccomp}`, `${hostile.host}/good:latest`]), 'garbage seccomp profile', /seccomp/i);
    assert.equal((await s.run(['ps', '-a', '-q'])).stdout, '', 'the failed run --rm leaves no container');
    assert.equal((await s.run(['rmi', `${hostile.host}/good:latest`])).code, 0);
    const v = await verifyStore(s);
    assert.deepEqual(v.problems, []);
    t.diagnostic('input: garbage registries.conf, auth.json and seccomp profiles → exit 125, one line each');
  });

  test('fuzz: reference parsing and manifest/config decoding throw only SkiffErrors (2000 seeded cases)', (t) => {
    const CASES = Number(process.env.SKIFF_FAULT_FUZZ ?? 2000);
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:/@._-+ \t%\u0000\u00e9\ud83d\ude00[]{}"\\';
    const refSeeds = ['busybox', 'docker.io/library/busybox:latest', 'localhost:5000/a/b:c', `quay.io/x/y@sha256:${'a'.repeat(64)}`, 'a:b@sha256:' + '0'.repeat(64), '[::1]:5000/x'];
    const manifestSeeds = [
      {schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 10}, layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'b'.repeat(64)}`, size: 5}]},
      {schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 3, platform: {os: 'linux', architecture: 'amd64'}}]},
      {architecture: 'amd64', os: 'linux', config: {Env: ['A=b'], Cmd: ['sh']}, rootfs: {type: 'layers', diff_ids: [`sha256:${'d'.repeat(64)}`]}, history: [{created_by: 'x'}]},
    ];
    const values = [null, true, 0, -1, 1e308, 'x', '', [], {}, [null], {a: 1}, 'sha256:zz', 2 ** 53, '\u0000'];
    const mutateString = (x: string) => {
      const chars = [...x];
      for (let k = 0, n = 1 + R.int(4); k < n; k++) {
        const op = R.int(3);
        const at = R.int(chars.length + 1);
        if (op === 0) chars.splice(at, 0, alphabet[R.int(alphabet.length)]);
        else if (op === 1) chars.splice(at, 1);
        else chars[at] = alphabet[R.int(alphabet.length)];
      }
      return chars.join('');
    };
    const mutateValue = (v: unknown, depth = 0): unknown => {
      if (R.next() < 0.15 || depth > 4) return R.pick(values);
      if (Array.isArray(v)) return R.next() < 0.2 ? [] : v.map((x) => mutateValue(x, depth + 1));
      if (v && typeof v === 'object') {
        const o: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) if (R.next() > 0.1) o[k] = R.next() < 0.5 ? mutateValue(x, depth + 1) : x;
        return o;
      }
      if (typeof v === 'string') return mutateString(v);
      return v;
    };
    const unclean: string[] = [];
    const tryIt = (what: string, input: unknown, fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        if (!(err instanceof SkiffError) || err.message.includes('\n')) unclean.push(`${what}(${JSON.stringify(input).slice(0, 120)}): ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
      }
    };
    let n = 0;
    for (; n < CASES; n++) {
      const kind = n % 4;
      if (kind === 0) {
        const input = R.next() < 0.2 ? Array.from({length: R.int(40)}, () => alphabet[R.int(alphabet.length)]).join('') : mutateString(R.pick(refSeeds));
        tryIt('parseReference', input, () => parseReference(input));
      } else if (kind === 1 || kind === 2) {
        const doc = mutateValue(R.pick(manifestSeeds));
        let bytes = Buffer.from(JSON.stringify(doc) ?? 'null');
        if (R.next() < 0.15) bytes = bytes.subarray(0, R.int(bytes.length));
        if (kind === 1) tryIt('decodeManifest', bytes.toString(), () => decodeManifest(bytes, R.next() < 0.3 ? R.pick(['', 'text/html', 'application/vnd.docker.distribution.manifest.v1+prettyjws']) : undefined));
        else tryIt('decodeConfig', bytes.toString(), () => decodeConfig(bytes));
      } else {
        const input = mutateString(R.pick(['linux/amd64', 'linux/arm64/v8', 'windows/amd64']));
        tryIt('parsePlatform', input, () => parsePlatform(input));
        const conf = mutateString(R.pick(['unqualified-search-registries = ["docker.io"]\n', '[[registry]]\nlocation = "x.io"\ninsecure = true\n', '[aliases]\n"a" = "docker.io/library/a"\n']));
        tryIt('parseRegistriesConfText', conf, () => parseRegistriesConfText(conf, 'fuzz.conf'));
      }
    }
    t.diagnostic(`fuzz: ${n} cases (seed ${R.seed}), ${unclean.length} non-SkiffError throws`);
    assert.deepEqual(unclean.slice(0, 20), []);
  });
});
