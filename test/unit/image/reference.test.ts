import {test} from 'node:test';
import assert from 'node:assert/strict';
import {
  familiarName,
  familiarString,
  isDigest,
  parseDigest,
  parseReference,
  refName,
  refString,
  resolveShortName,
  shortNameRepository,
  withDefaultTag,
  type ImageReference,
} from '../../../src/lib/image/reference';
import {isSkiffError} from '../../../src/lib/util/errors';

const H64 = '0123456789abcdef'.repeat(4);
const H96 = '0123456789abcdef'.repeat(6);
const H128 = '0123456789abcdef'.repeat(8);

function throwsInvalid(fn: () => unknown, re: RegExp, label: string): void {
  assert.throws(
    fn,
    (err: unknown) => {
      assert.ok(isSkiffError(err, 'invalid-input'), `${label}: expected invalid-input, got ${String(err)}`);
      assert.match(err.message, re, label);
      assert.ok(!err.message.includes('\n'), `${label}: message must be one line`);
      return true;
    },
    label,
  );
}

test('parseReference normalises like podman', () => {
  // input, canonical string, shortName
  const cases: Array<[string, string, boolean]> = [
    ['busybox', 'docker.io/library/busybox', true],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', true],
    ['library/busybox', 'docker.io/library/busybox', true],
    ['user/app', 'docker.io/user/app', true],
    ['user/team/app:v1', 'docker.io/user/team/app:v1', true],
    ['docker.io/busybox', 'docker.io/library/busybox', false],
    ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest', false],
    ['index.docker.io/busybox', 'docker.io/library/busybox', false],
    ['index.docker.io/user/app:v1', 'docker.io/user/app:v1', false],
    ['docker://busybox', 'docker.io/library/busybox', false],
    ['docker://quay.io/ns/app:t', 'quay.io/ns/app:t', false],
    ['localhost/app', 'localhost/app', false],
    ['localhost:5000/app:dev', 'localhost:5000/app:dev', false],
    ['127.0.0.1:5000/ns/app', '127.0.0.1:5000/ns/app', false],
    ['[::1]:5000/app', '[::1]:5000/app', false],
    ['[fe80::1]/app', '[fe80::1]/app', false],
    ['registry:5000/x', 'registry:5000/x', false],
    ['Example.COM/app', 'Example.COM/app', false],
    ['a.b/c', 'a.b/c', false],
    ['my-registry.example.com/a/b/c/d', 'my-registry.example.com/a/b/c/d', false],
    // a first component without '.' or ':' that is not localhost is a path
    ['registry/app', 'docker.io/registry/app', true],
    ['localhostx/app', 'docker.io/localhostx/app', true],
    // "host:port" alone is an image with a tag, exactly as docker reads it
    ['localhost:5000', 'docker.io/library/localhost:5000', true],
    ['foo.bar-baz__qux_x', 'docker.io/library/foo.bar-baz__qux_x', true],
    ['a--b---c', 'docker.io/library/a--b---c', true],
    ['app:_tag', 'docker.io/library/app:_tag', true],
    ['app:Tag.1-rc_2', 'docker.io/library/app:Tag.1-rc_2', true],
    ['app:' + 'x'.repeat(128), 'docker.io/library/app:' + 'x'.repeat(128), true],
    [`busybox@sha256:${H64}`, `docker.io/library/busybox@sha256:${H64}`, true],
    [`quay.io/app:v1@sha256:${H64}`, `quay.io/app:v1@sha256:${H64}`, false],
    [`app@sha384:${H96}`, `docker.io/library/app@sha384:${H96}`, true],
    [`app@sha512:${H128}`, `docker.io/library/app@sha512:${H128}`, true],
    // an unregistered algorithm that fits both grammars
    [`app@multi+hash.v2:${'ab'.repeat(16)}`, `docker.io/library/app@multi+hash.v2:${'ab'.repeat(16)}`, true],
    ['quay.io/' + 'a'.repeat(247), 'quay.io/' + 'a'.repeat(247), false],
  ];
  for (const [input, want, short] of cases) {
    const {ref, shortName} = parseReference(input);
    assert.equal(refString(ref), want, input);
    assert.equal(shortName, short, `${input} shortName`);
  }
});

test('parseReference splits into domain, path, tag and digest', () => {
  assert.deepEqual(parseReference('localhost:5000/ns/app:1.0').ref, {domain: 'localhost:5000', path: 'ns/app', tag: '1.0'});
  assert.deepEqual(parseReference('busybox').ref, {domain: 'docker.io', path: 'library/busybox'});
  assert.deepEqual(parseReference(`q.io/a:t@sha256:${H64}`).ref, {domain: 'q.io', path: 'a', tag: 't', digest: `sha256:${H64}`});
  assert.equal(parseReference('busybox').ref.tag, undefined, 'no default tag at parse time');
});

test('parseReference rejects malformed references with clear one-line errors', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /at least one component/],
    ['docker://', /at least one component/],
    [':tag', /at least one component/],
    ['Busybox', /must be lowercase/],
    ['quay.io/Foo/bar', /must be lowercase/],
    ['Foo/bar', /must be lowercase/],
    ['user/App:v1', /must be lowercase/],
    ['busybox:', /invalid tag ""/],
    ['busybox:-x', /invalid tag "-x"/],
    ['busybox:.x', /invalid tag/],
    ['busybox:a:b', /invalid tag "a:b"/],
    ['busybox:a+b', /invalid tag/],
    ['app:' + 'x'.repeat(129), /invalid tag/],
    ['busybox@sha256:abc', /invalid digest/],
    [`busybox@sha256:${H64.slice(1)}`, /need 64 hex digits, got 63/],
    [`busybox@sha256:${H64}0`, /need 64 hex digits, got 65/],
    [`busybox@sha256:${H64.toUpperCase()}`, /lowercase hexadecimal/],
    [`busybox@sha256:${'g'.repeat(64)}`, /invalid digest/],
    [`busybox@sha512:${H64}`, /128 hex digits/],
    [`busybox@SHA256:${H64}`, /invalid algorithm/],
    [`busybox@md5`, /invalid digest/],
    ['busybox@', /invalid digest ""/],
    [`a@sha256:${H64}@x`, /invalid digest/],
    [`busybox@1sha:${H64}`, /invalid digest/],
    ['foo//bar', /empty path component/],
    ['foo/', /empty path component/],
    ['/foo', /empty path component/],
    ['quay.io/', /empty path component/],
    ['-foo', /invalid repository name component "-foo"/],
    ['foo-', /invalid repository name component/],
    ['foo..bar', /invalid repository name component/],
    ['foo___bar', /invalid repository name component/],
    ['foo_-bar', /invalid repository name component/],
    ['.foo/bar', /invalid registry/],
    ['foo bar', /invalid repository name component/],
    ['foo\nbar', /invalid repository name component "foo\\nbar"/],
    ['quay.io:port/x', /invalid registry "quay.io:port"/],
    ['quay.io:/x', /invalid registry/],
    ['-quay.io/x', /invalid registry/],
    ['quay..io/x', /invalid registry/],
    ['in_ex.docker.io/x', /invalid registry "in_ex.docker.io"/],
    ['[::1/x', /invalid registry/],
    [H64, /64-byte hexadecimal/],
    ['quay.io/' + 'a'.repeat(248), /not be more than 255 characters/],
    ['a'.repeat(300), /not be more than 255 characters/],
    ['https://quay.io/x', /unsupported transport "https"/],
    ['oci:/tmp/layout', /unsupported transport "oci"/],
    ['docker-archive:/x.tar', /unsupported transport "docker-archive"/],
    ['containers-storage:busybox', /unsupported transport/],
  ];
  for (const [input, re] of cases) throwsInvalid(() => parseReference(input), re, JSON.stringify(input));
});

test('refName, refString, withDefaultTag, familiarName', () => {
  const cases: Array<[ImageReference, string, string, string, string]> = [
    // ref, refName, refString(withDefaultTag), familiarName, familiarString
    [{domain: 'docker.io', path: 'library/busybox'}, 'docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox', 'busybox'],
    [{domain: 'docker.io', path: 'user/app', tag: 'v1'}, 'docker.io/user/app', 'docker.io/user/app:v1', 'user/app', 'user/app:v1'],
    [{domain: 'docker.io', path: 'library/a/b'}, 'docker.io/library/a/b', 'docker.io/library/a/b:latest', 'library/a/b', 'library/a/b'],
    [
      {domain: 'quay.io', path: 'ns/app', digest: `sha256:${H64}`},
      'quay.io/ns/app',
      `quay.io/ns/app@sha256:${H64}`,
      'quay.io/ns/app',
      `quay.io/ns/app@sha256:${H64}`,
    ],
    [
      {domain: 'localhost:5000', path: 'x', tag: 't', digest: `sha256:${H64}`},
      'localhost:5000/x',
      `localhost:5000/x:t@sha256:${H64}`,
      'localhost:5000/x',
      `localhost:5000/x:t@sha256:${H64}`,
    ],
  ];
  for (const [ref, name, withTag, fam, famStr] of cases) {
    assert.equal(refName(ref), name);
    assert.equal(refString(withDefaultTag(ref)), withTag);
    assert.equal(familiarName(ref), fam);
    assert.equal(familiarString(ref), famStr);
  }
  const ref: ImageReference = {domain: 'docker.io', path: 'library/x'};
  withDefaultTag(ref);
  assert.equal(ref.tag, undefined, 'withDefaultTag does not mutate its argument');
});

test('parseDigest and isDigest', () => {
  assert.deepEqual(parseDigest(`sha256:${H64}`), {algorithm: 'sha256', hex: H64});
  assert.deepEqual(parseDigest(`sha512:${H128}`), {algorithm: 'sha512', hex: H128});
  assert.deepEqual(parseDigest('multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8'), {
    algorithm: 'multihash+base58',
    hex: 'QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8',
  });
  const good = [`sha256:${H64}`, `sha384:${H96}`, `blake3:${H64}`, 'sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564', 'x.y_z-w:abc='];
  const bad = ['', 'sha256', ':abc', 'sha256:', `sha256:${H64.toUpperCase()}`, `sha256:${H64}ab`, 'Sha1:abc', 'sha1:ab cd', 'a..b:abc', 'a:b/c', '-a:abc'];
  for (const d of good) assert.equal(isDigest(d), true, d);
  for (const d of bad) {
    assert.equal(isDigest(d), false, d);
    throwsInvalid(() => parseDigest(d), /invalid digest/, d);
  }
});

test('resolveShortName yields one candidate per search registry, in order', () => {
  const ds = (refs: ImageReference[]) => refs.map(refString);
  assert.deepEqual(ds(resolveShortName('busybox', ['quay.io', 'docker.io', 'localhost:5000'])), [
    'quay.io/busybox',
    'docker.io/library/busybox',
    'localhost:5000/busybox',
  ]);
  assert.deepEqual(ds(resolveShortName('ns/app:1', ['docker.io', 'registry.fedoraproject.org'])), [
    'docker.io/ns/app:1',
    'registry.fedoraproject.org/ns/app:1',
  ]);
  assert.deepEqual(ds(resolveShortName(`app@sha256:${H64}`, ['q.io'])), [`q.io/app@sha256:${H64}`]);
  assert.deepEqual(ds(resolveShortName('busybox', ['quay.io', 'quay.io'])), ['quay.io/busybox'], 'duplicates dropped');
  assert.deepEqual(ds(resolveShortName('busybox', [])), []);
  assert.deepEqual(ds(resolveShortName('quay.io/app', ['docker.io'])), ['quay.io/app'], 'qualified input is itself');
  assert.deepEqual(ds(resolveShortName('docker://busybox', ['quay.io'])), ['docker.io/library/busybox'], 'docker:// is never searched');
  throwsInvalid(() => resolveShortName('Busybox', ['quay.io']), /lowercase/, 'uppercase short name');
});

test('shortNameRepository strips tag and digest only', () => {
  const cases: Array<[string, string]> = [
    ['busybox', 'busybox'],
    ['busybox:1', 'busybox'],
    ['fedora/httpd:2.4', 'fedora/httpd'],
    [`app:t@sha256:${H64}`, 'app'],
    [`app@sha256:${H64}`, 'app'],
  ];
  for (const [input, want] of cases) assert.equal(shortNameRepository(input), want, input);
});

// --- fuzz ------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An independent statement of the accepted language: podman's domain split
 * on the raw string, then one anchored regular expression for the whole
 * distribution grammar, then the registered-digest and length rules.
 */
const LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${LABEL}(?:\\.${LABEL})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const COMP = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const GRAMMAR = new RegExp(
  `^((?:${DOMAIN}/)?${COMP}(?:/${COMP})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
);
const FIXED: Record<string, number> = {sha256: 64, sha384: 96, sha512: 128, blake3: 64};

function oracleAccepts(input: string): boolean {
  let s = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  if (/^[a-f0-9]{64}$/.test(s)) return false;
  const i = s.indexOf('/');
  let domain = 'docker.io';
  let rest = s;
  if (i !== -1 && (/[.:]/.test(s.slice(0, i)) || s.slice(0, i) === 'localhost')) {
    domain = s.slice(0, i);
    rest = s.slice(i + 1);
  }
  // The grammar's domain is optional, so "a_b.io/x" would match with the
  // whole string as a path; podman then carries an empty registry. A split-off
  // domain must itself be a domain.
  if (!new RegExp(`^${DOMAIN}$`).test(domain)) return false;
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !rest.includes('/')) rest = 'library/' + rest;
  const remote = rest.includes(':') ? rest.slice(0, rest.indexOf(':')) : rest;
  if (remote.toLowerCase() !== remote) return false;
  s = `${domain}/${rest}`;
  const m = GRAMMAR.exec(s);
  if (!m) return false;
  if (m[1]!.length > 255) return false;
  if (m[3] !== undefined) {
    const [alg, enc] = [m[3].slice(0, m[3].indexOf(':')), m[3].slice(m[3].indexOf(':') + 1)];
    if (FIXED[alg] !== undefined) return enc.length === FIXED[alg] && /^[a-f0-9]+$/.test(enc);
    return alg === alg.toLowerCase();
  }
  return true;
}

function looksLikeOtherTransport(s: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s) && !s.startsWith('docker://')
    || /^(containers-storage|dir|docker-archive|docker-daemon|oci|oci-archive|ostree|sif|tarball):./.test(s);
}

test('fuzz: parseReference accepts exactly the grammar, round-trips, and fails only with invalid-input', () => {
  const rand = prng(0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const chars = 'abz09._-:/@AZ[] '.split('');
  const tokens = ['localhost', 'docker.io', 'index.docker.io', 'quay.io', ':5000', `sha256:${H64}`, `@sha256:${H64}`, `@sha512:${H128}`,
    'library', ':latest', '__', '--', '/', 'docker://', `@sha256:${H64.slice(2)}`, 'x'.repeat(130), '[::1]', H64];
  const comps = ['a', 'b0', 'app', 'a.b', 'a_b', 'a__b', 'a-b', 'a--b', 'z9'];
  const structured = (): string => {
    let s = '';
    const r = rand();
    if (r < 0.2) s += pick(['localhost', 'quay.io', 'docker.io', 'index.docker.io', '127.0.0.1:5000', '[::1]:5000', 'r.io:1']) + '/';
    else if (r < 0.25) s += 'docker://';
    const n = 1 + Math.floor(rand() * 3);
    s += Array.from({length: n}, () => pick(comps)).join('/');
    if (rand() < 0.4) s += ':' + pick(['latest', 'v1.0', '_x', 'T-1', 'x'.repeat(128)]);
    if (rand() < 0.3) s += '@' + pick([`sha256:${H64}`, `sha512:${H128}`, `alg+x:${H64}`, `sha256:${H64.slice(1)}`]);
    // mutate a little, half the time
    if (rand() < 0.5) {
      const at = Math.floor(rand() * (s.length + 1));
      const op = rand();
      if (op < 0.4) s = s.slice(0, at) + pick(chars) + s.slice(at);
      else if (op < 0.7) s = s.slice(0, at) + s.slice(at + 1);
      else s = s.slice(0, at) + pick(chars) + s.slice(at + 1);
    }
    return s;
  };
  const random = (): string => {
    let s = '';
    const n = Math.floor(rand() * 12);
    for (let i = 0; i < n; i++) s += rand() < 0.8 ? pick(chars) : pick(tokens);
    return s;
  };

  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 5000; i++) {
    const input = rand() < 0.6 ? structured() : random();
    let parsed;
    try {
      parsed = parseReference(input);
    } catch (err) {
      assert.ok(isSkiffError(err, 'invalid-input'), `${JSON.stringify(input)} threw ${String(err)}`);
      assert.ok(!err.message.includes('\n'), `${JSON.stringify(input)}: multi-line message`);
      if (!looksLikeOtherTransport(input)) assert.equal(oracleAccepts(input), false, `${JSON.stringify(input)} rejected but the grammar accepts it: ${err.message}`);
      rejected++;
      continue;
    }
    accepted++;
    assert.ok(!looksLikeOtherTransport(input), `${JSON.stringify(input)} should be a transport error`);
    assert.equal(oracleAccepts(input), true, `${JSON.stringify(input)} accepted but the grammar rejects it`);
    const again = parseReference(refString(parsed.ref));
    assert.deepEqual(again.ref, parsed.ref, `${JSON.stringify(input)} does not round-trip`);
    assert.equal(again.shortName, false, 'a canonical string is fully qualified');
  }
  assert.ok(accepted > 500, `only ${accepted} accepted: the generator is not exercising valid references`);
  assert.ok(rejected > 500, `only ${rejected} rejected: the generator is not exercising invalid references`);
});
