import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {Paths} from '../../../src/lib/state/paths';
import {
  findRegistry,
  loadRegistriesConf,
  loadRegistriesConfFiles,
  parseRegistriesConfText,
  prefixMatchLength,
  pullSources,
  shortNameCandidates,
  type RegistriesConf,
} from '../../../src/lib/image/registries-conf';
import {parseReference, refString} from '../../../src/lib/image/reference';
import {isSkiffError} from '../../../src/lib/util/errors';
import {tempDir} from '../../helpers/tmp';

const H64 = 'ab'.repeat(32);

function tmpdir(): string {
  return tempDir('skiff-regconf-');
}

function write(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), {recursive: true});
  fs.writeFileSync(file, text);
  return file;
}

function conf(text: string): RegistriesConf {
  const dir = tmpdir();
  return loadRegistriesConfFiles(write(path.join(dir, 'registries.conf'), text), []);
}

const ref = (s: string) => parseReference(s).ref;

test('a full v2 file parses', () => {
  const c = conf(`
unqualified-search-registries = ["registry.fedoraproject.org", "quay.io/", "docker.io"]
short-name-mode = "enforcing"

[[registry]]
prefix = "example.com/foo"
location = "internal.example.com/bar"
insecure = true

[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "mirror.local:5000/hub"
insecure = true
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "mirror2.local"

[[registry]]
location = "evil.example"
blocked = true

[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
"ubi" = "registry.access.redhat.com/ubi9/ubi"
"busybox" = "docker.io/busybox"
`);
  assert.deepEqual(c.unqualifiedSearchRegistries, ['registry.fedoraproject.org', 'quay.io', 'docker.io']);
  assert.equal(c.shortNameMode, 'enforcing');
  assert.deepEqual(
    c.registries.map((r) => r.prefix),
    ['docker.io', 'evil.example', 'example.com/foo'],
    'sorted by prefix',
  );
  const hub = c.registries[0]!;
  assert.deepEqual(hub, {
    prefix: 'docker.io',
    location: 'docker.io',
    insecure: false,
    blocked: false,
    mirrorByDigestOnly: false,
    mirrors: [
      {location: 'mirror.local:5000/hub', insecure: true, pullFromMirror: 'digest-only'},
      {location: 'mirror2.local', insecure: false, pullFromMirror: 'all'},
    ],
  });
  assert.equal(c.registries[2]!.insecure, true);
  assert.equal(c.registries[1]!.blocked, true);
  assert.equal(refString(c.aliases.get('busybox')!.ref), 'docker.io/library/busybox', 'alias values are normalised');
  assert.equal(refString(c.aliases.get('ubi')!.ref), 'registry.access.redhat.com/ubi9/ubi');
  assert.equal(c.searchRegistriesOrigin, c.files[0]);
});

test('missing files give the defaults', () => {
  const dir = tmpdir();
  const c = loadRegistriesConfFiles(path.join(dir, 'nope.conf'), [path.join(dir, 'nodir')]);
  assert.deepEqual(c.registries, []);
  assert.deepEqual(c.unqualifiedSearchRegistries, []);
  assert.equal(c.shortNameMode, 'permissive');
  assert.equal(c.aliases.size, 0);
  assert.deepEqual(c.files, []);
});

test('TOML syntax errors name the file and line', () => {
  const dir = tmpdir();
  const file = write(path.join(dir, 'registries.conf'), 'unqualified-search-registries = ["a.io"]\n\n[[registry]\nlocation = "x"\n');
  assert.throws(
    () => loadRegistriesConfFiles(file, []),
    (err: unknown) => isSkiffError(err, 'invalid-input') && err.message.startsWith(`${file}:3:`) && /invalid TOML/.test(err.message) && !err.message.includes('\n'),
  );
});

test('the v1 format is rejected with a clear message', () => {
  for (const text of ['[registries.search]\nregistries = ["docker.io"]\n', '[registries.insecure]\nregistries = []\n', '[registries.block]\nregistries = ["x.io"]\n']) {
    assert.throws(
      () => parseRegistriesConfText(text, '/etc/containers/registries.conf'),
      (err: unknown) => isSkiffError(err, 'invalid-input') && /^\/etc\/containers\/registries\.conf: the v1 format .* is not supported/.test(err.message),
      text,
    );
  }
});

test('invalid settings are rejected', () => {
  const cases: Array<[string, RegExp]> = [
    ['[[registry]]\nlocation = "https://quay.io"\n', /URI schemes are not supported/],
    ['[[registry]]\ninsecure = true\n', /set location/],
    ['[[registry]]\nprefix = "*.example.com/ns"\n', /wildcard prefix "\*\.example\.com\/ns"/],
    ['[[registry]]\nprefix = "*.example.com:5000"\n', /wildcard prefix/],
    ['[[registry]]\nprefix = "example.com"\n', /location is unset and prefix "example.com" is not a wildcard/],
    ['[[registry]]\nlocation = "a.io"\npull-from-mirror = "all"\n', /pull-from-mirror applies to \[\[registry\.mirror\]\]/],
    ['[[registry]]\nlocation = "a.io"\n[[registry.mirror]]\ninsecure = true\n', /mirror #1: location is unset/],
    ['[[registry]]\nlocation = "a.io"\n[[registry.mirror]]\nlocation = "m.io"\npull-from-mirror = "sometimes"\n', /unsupported pull-from-mirror "sometimes"/],
    ['[[registry]]\nlocation = "a.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m.io"\npull-from-mirror = "tag-only"\n', /cannot be combined/],
    ['[[registry]]\nprefix = "a.io/x"\nlocation = "a.io"\ninsecure = true\n[[registry]]\nprefix = "a.io/y"\nlocation = "a.io"\n', /conflicting "insecure"/],
    ['[[registry]]\nprefix = "a.io/x"\nlocation = "a.io"\nblocked = true\n[[registry]]\nprefix = "a.io/y"\nlocation = "a.io"\n', /conflicting "blocked"/],
    ['short-name-mode = "prompt"\n', /invalid short-name-mode "prompt"/],
    ['unqualified-search-registries = ["quay.io/ns"]\n', /invalid unqualified-search-registries entry "quay.io\/ns"/],
    ['unqualified-search-registries = "quay.io"\n', /must be an array of strings/],
    ['unqualified-search-registries = [1]\n', /entries must be a string/],
    ['[[registry]]\nlocation = "a.io"\ninsecure = "yes"\n', /insecure must be true or false/],
    ['registry = "a.io"\n', /array of tables/],
    ['[aliases]\n"quay.io/x" = "quay.io/x"\n', /must not contain a registry/],
    ['[aliases]\n"x:1" = "quay.io/x"\n', /must not contain a tag or digest/],
    ['[aliases]\n"Busy" = "quay.io/x"\n', /invalid short-name alias "Busy"/],
    ['[aliases]\n"x" = "x"\n', /must name a registry and repository/],
    ['[aliases]\n"x" = "quay.io/x:1"\n', /must not contain a tag or digest/],
    ['[aliases]\n"x" = 3\n', /alias "x" must be a string/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseRegistriesConfText(text, '/r.conf'),
      (err: unknown) => isSkiffError(err, 'invalid-input') && err.message.startsWith('/r.conf: ') && re.test(err.message) && !err.message.includes('\n'),
      text,
    );
  }
});

test('within one file the first table of a prefix wins', () => {
  const c = conf('[[registry]]\nlocation = "a.io"\n[[registry.mirror]]\nlocation = "m1.io"\n[[registry]]\nlocation = "a.io"\n[[registry.mirror]]\nlocation = "m2.io"\n');
  assert.equal(c.registries.length, 1);
  assert.equal(c.registries[0]!.mirrors[0]!.location, 'm1.io');
});

test('drop-ins merge in name order, directory by directory; the later file wins', () => {
  const dir = tmpdir();
  const main = write(
    path.join(dir, 'registries.conf'),
    `unqualified-search-registries = ["quay.io"]
short-name-mode = "enforcing"
[[registry]]
location = "a.io"
insecure = true
[[registry]]
location = "b.io"
[aliases]
"one" = "quay.io/one"
"two" = "quay.io/two"
`,
  );
  const sys = path.join(dir, 'sys.d');
  const user = path.join(dir, 'user.d');
  write(path.join(sys, '20-b.conf'), '[[registry]]\nlocation = "a.io"\nblocked = true\n[aliases]\n"two" = ""\n');
  write(path.join(sys, '10-a.conf'), 'unqualified-search-registries = ["docker.io", "quay.io"]\n[[registry]]\nlocation = "a.io"\n');
  write(path.join(sys, '30-ignored.conf.bak'), 'this is not toml at all [[[');
  fs.mkdirSync(path.join(sys, '40-dir.conf'));
  write(path.join(sys, '40-dir.conf', 'x.conf'), 'not read either [[[');
  write(path.join(user, '00-user.conf'), 'short-name-mode = "disabled"\n[[registry]]\nprefix = "c.io/ns"\nlocation = "c.io/other"\n[aliases]\n"one" = "docker.io/one"\n');
  write(path.join(user, '50-empty-search.conf'), 'unqualified-search-registries = []\n');

  const c = loadRegistriesConfFiles(main, [sys, user]);
  assert.deepEqual(c.files, [main, path.join(sys, '10-a.conf'), path.join(sys, '20-b.conf'), path.join(user, '00-user.conf'), path.join(user, '50-empty-search.conf')]);
  assert.deepEqual(c.registries.map((r) => r.prefix), ['a.io', 'b.io', 'c.io/ns']);
  const a = c.registries[0]!;
  assert.equal(a.insecure, false, '10-a replaced the main file entry for a.io');
  assert.equal(a.blocked, true, '20-b replaced it again');
  assert.deepEqual(c.unqualifiedSearchRegistries, [], 'an explicit empty list replaces');
  assert.equal(c.searchRegistriesOrigin, path.join(user, '50-empty-search.conf'));
  assert.equal(c.shortNameMode, 'disabled');
  assert.equal(refString(c.aliases.get('one')!.ref), 'docker.io/library/one');
  assert.equal(c.aliases.get('one')!.origin, path.join(user, '00-user.conf'));
  assert.equal(c.aliases.has('two'), false, 'an empty alias value resets it');
});

test('a drop-in that is absent keeps earlier values, a broken drop-in is an error', () => {
  const dir = tmpdir();
  const main = write(path.join(dir, 'registries.conf'), 'unqualified-search-registries = ["quay.io"]\nshort-name-mode = "enforcing"\n');
  const d = path.join(dir, 'd');
  write(path.join(d, 'a.conf'), '[[registry]]\nlocation = "x.io"\n');
  const c = loadRegistriesConfFiles(main, [d]);
  assert.deepEqual(c.unqualifiedSearchRegistries, ['quay.io']);
  assert.equal(c.shortNameMode, 'enforcing');
  write(path.join(d, 'b.conf'), '[registries.search]\nregistries = ["x.io"]\n');
  assert.throws(() => loadRegistriesConfFiles(main, [d]), (err: unknown) => isSkiffError(err, 'invalid-input') && err.message.includes(path.join(d, 'b.conf')));
});

class FakePaths extends Paths {
  constructor(
    tmp: string,
    private readonly files: string[],
    private readonly dirs: string[],
  ) {
    super({root: path.join(tmp, 'root'), runroot: path.join(tmp, 'run'), env: {HOME: tmp}});
  }
  override registriesConfFiles(): string[] {
    return this.files;
  }
  override registriesConfDropInDirs(): string[] {
    return this.dirs;
  }
}

test('loadRegistriesConf: the user file replaces the system file and its drop-in directory', () => {
  const tmp = tmpdir();
  const sysFile = write(path.join(tmp, 'etc/registries.conf'), 'unqualified-search-registries = ["sys.io"]\n');
  const userFile = path.join(tmp, 'home/registries.conf');
  const sysDir = path.join(tmp, 'etc/registries.conf.d');
  const userDir = path.join(tmp, 'home/registries.conf.d');
  write(path.join(sysDir, 'a.conf'), '[[registry]]\nlocation = "sysdrop.io"\n');
  write(path.join(userDir, 'a.conf'), '[[registry]]\nlocation = "userdrop.io"\n');
  const paths = new FakePaths(tmp, [sysFile, userFile], [sysDir, userDir]);

  let c = loadRegistriesConf(paths);
  assert.deepEqual(c.unqualifiedSearchRegistries, ['sys.io']);
  assert.deepEqual(c.registries.map((r) => r.prefix), ['sysdrop.io', 'userdrop.io'], 'no user file: system file and both directories');

  write(userFile, 'unqualified-search-registries = ["user.io"]\n');
  c = loadRegistriesConf(paths);
  assert.deepEqual(c.unqualifiedSearchRegistries, ['user.io']);
  assert.deepEqual(c.registries.map((r) => r.prefix), ['userdrop.io'], 'user file: only the user directory');
});

test('loadRegistriesConf honours CONTAINERS_REGISTRIES_CONF', () => {
  const tmp = tmpdir();
  const file = write(path.join(tmp, 'custom.conf'), 'unqualified-search-registries = ["custom.io"]\n');
  const paths = new Paths({root: path.join(tmp, 'root'), runroot: path.join(tmp, 'run'), env: {HOME: tmp, CONTAINERS_REGISTRIES_CONF: file}});
  const c = loadRegistriesConf(paths);
  assert.deepEqual(c.unqualifiedSearchRegistries, ['custom.io']);
  assert.deepEqual(c.files, [file]);
});

test('prefix matching follows containers/image', () => {
  const cases: Array<[string, string, number]> = [
    ['example.com', 'example.com', 11],
    ['example.com/foo', 'example.com', 11],
    ['example.com:5000/foo', 'example.com', 11], // containers/image's documented quirk
    ['example.com@sha256:x', 'example.com', 11],
    ['example.com.evil/foo', 'example.com', -1],
    ['example.comx/foo', 'example.com', -1],
    ['example.com/foobar', 'example.com/foo', -1],
    ['example.com/foo/bar', 'example.com/foo', 15],
    ['exam', 'example.com', -1],
    ['a.example.com/x', '*.example.com', 13],
    ['b.a.example.com', '*.example.com', 15],
    ['a.example.com:5000/x', '*.example.com', 13],
    ['example.com/x', '*.example.com', -1],
    ['a.example.community/x', '*.example.com', -1],
    ['evil.io/a.example.com', '*.example.com', -1],
  ];
  for (const [s, prefix, want] of cases) assert.equal(prefixMatchLength(s, prefix), want, `${s} vs ${prefix}`);
});

test('findRegistry picks the longest matching prefix', () => {
  const c = conf(`
[[registry]]
location = "example.com"
[[registry]]
prefix = "example.com/team"
location = "team.example.com"
[[registry]]
prefix = "example.com/team/app"
location = "app.example.com"
[[registry]]
prefix = "*.example.com"
[[registry]]
prefix = "*.b.example.com"
location = "wild.example.net"
`);
  const cases: Array<[string, string | undefined]> = [
    ['example.com/x', 'example.com'],
    ['example.com/team/x', 'example.com/team'],
    ['example.com/team/app:1', 'example.com/team/app'],
    ['example.com/team/apps', 'example.com/team'],
    ['a.example.com/x', '*.example.com'],
    ['x.b.example.com/y', '*.b.example.com'],
    ['other.io/x', undefined],
  ];
  for (const [s, want] of cases) assert.equal(findRegistry(c, ref(s))?.prefix, want, s);
  assert.equal(findRegistry(c, 'example.com')?.prefix, 'example.com', 'a bare host string works too');
});

test('pullSources: mirrors first, then the rewritten primary', () => {
  const c = conf(`
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "digest.mirror.io"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "tag.mirror.io/hub"
pull-from-mirror = "tag-only"
insecure = true
[[registry.mirror]]
location = "all.mirror.io:5000"
pull-from-mirror = "all"

[[registry]]
prefix = "example.com/foo"
location = "internal.example.com/bar"
insecure = true

[[registry]]
location = "strict.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m.strict.io"

[[registry]]
prefix = "*.wild.io"
[[registry]]
prefix = "*.rewrite.io"
location = "central.io/mirrored"

[[registry]]
location = "blocked.io"
blocked = true
[[registry]]
location = "uses-blocked.io"
[[registry.mirror]]
location = "blocked.io/m"
[[registry.mirror]]
location = "ok.io"

[[registry]]
prefix = "bad.io"
location = "nodots"
`);
  const show = (s: string) => pullSources(c, ref(s)).map((p) => `${p.mirror ? 'M' : 'P'}${p.insecure ? '!' : ''} ${p.endpoint}/${p.repoPath}`);
  const cases: Array<[string, string[]]> = [
    ['busybox:1', ['M! tag.mirror.io/hub/library/busybox', 'M all.mirror.io:5000/library/busybox', 'P registry-1.docker.io/library/busybox']],
    [`busybox@sha256:${H64}`, ['M digest.mirror.io/library/busybox', 'M all.mirror.io:5000/library/busybox', 'P registry-1.docker.io/library/busybox']],
    ['example.com/foo/app:1', ['P! internal.example.com/bar/app']],
    ['example.com/foo', ['P! internal.example.com/bar']],
    ['example.com/foobar', ['P example.com/foobar']],
    ['strict.io/x:1', ['P strict.io/x']],
    [`strict.io/x@sha256:${H64}`, ['M m.strict.io/x', 'P strict.io/x']],
    ['a.wild.io/ns/x', ['P a.wild.io/ns/x']],
    ['a.rewrite.io/ns/x:2', ['P central.io/mirrored/ns/x']],
    ['uses-blocked.io/x', ['M ok.io/x', 'P uses-blocked.io/x']],
    ['localhost:5000/x', ['P localhost:5000/x']],
    ['quay.io/x', ['P quay.io/x']],
  ];
  for (const [s, want] of cases) assert.deepEqual(show(s), want, s);

  assert.throws(() => pullSources(c, ref('blocked.io/x')), (err: unknown) => isSkiffError(err, 'registry') && /registry "blocked.io" is blocked/.test(err.message));
  assert.throws(() => pullSources(c, ref('bad.io/x')), (err: unknown) => isSkiffError(err, 'invalid-input') && /not a fully qualified reference/.test(err.message));
});

test('pullSources without any configuration', () => {
  const empty = loadRegistriesConfFiles(undefined, []);
  assert.deepEqual(pullSources(empty, ref('busybox')), [{endpoint: 'registry-1.docker.io', repoPath: 'library/busybox', insecure: false, mirror: false}]);
  assert.deepEqual(pullSources(empty, ref('127.0.0.1:5000/a/b:c')), [{endpoint: '127.0.0.1:5000', repoPath: 'a/b', insecure: false, mirror: false}]);
});

test('shortNameCandidates: aliases first, then the search registries', () => {
  const c = conf(`
unqualified-search-registries = ["quay.io", "docker.io"]
[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
"team/app" = "example.com/team/app"
`);
  const show = (s: string) => shortNameCandidates(c, s).candidates.map(refString);
  assert.deepEqual(show('fedora:40'), ['registry.fedoraproject.org/fedora:40']);
  assert.equal(shortNameCandidates(c, 'fedora').alias?.origin, c.files[0]);
  assert.deepEqual(show(`team/app@sha256:${H64}`), [`example.com/team/app@sha256:${H64}`]);
  assert.deepEqual(show('busybox'), ['quay.io/busybox', 'docker.io/library/busybox']);
  assert.equal(shortNameCandidates(c, 'busybox').alias, undefined);
  assert.deepEqual(show('ghcr.io/x/y'), ['ghcr.io/x/y']);
  assert.deepEqual(show('docker.io/fedora'), ['docker.io/library/fedora'], 'a qualified name is not aliased');
});
