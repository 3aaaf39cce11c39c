import {test, after} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {Paths} from '../../../src/lib/state/paths';
import {
  listAuthKeys,
  normalizeAuthKey,
  readCredentials,
  removeAllCredentials,
  removeCredentials,
  saveCredentials,
} from '../../../src/lib/image/auth-file';
import {isSkiffError} from '../../../src/lib/util/errors';
import {configureLog} from '../../../src/lib/util/log';
import {tempDir} from '../../helpers/tmp';

interface Env {
  tmp: string;
  paths: Paths;
  /** $XDG_RUNTIME_DIR/containers/auth.json */
  runtimeAuth: string;
  /** $XDG_CONFIG_HOME/containers/auth.json */
  configAuth: string;
  dockerConfig: string;
  dockercfg: string;
}

function setup(extraEnv: Record<string, string> = {}): Env {
  const tmp = tempDir('skiff-auth-');
  const env = {HOME: path.join(tmp, 'home'), XDG_RUNTIME_DIR: path.join(tmp, 'xdg-run'), XDG_CONFIG_HOME: path.join(tmp, 'home/.config'), ...extraEnv};
  const paths = new Paths({root: path.join(tmp, 'root'), runroot: path.join(tmp, 'run'), env, uid: 1000});
  return {
    tmp,
    paths,
    runtimeAuth: path.join(env.XDG_RUNTIME_DIR, 'containers/auth.json'),
    configAuth: path.join(env.XDG_CONFIG_HOME, 'containers/auth.json'),
    dockerConfig: path.join(extraEnv.DOCKER_CONFIG ?? path.join(env.HOME, '.docker'), 'config.json'),
    dockercfg: path.join(env.HOME, '.dockercfg'),
  };
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), {recursive: true});
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const entry = (user: string, pass: string) => ({auth: b64(`${user}:${pass}`)});

/** Capture log lines for the duration of fn. */
function captureLog(fn: () => void): string[] {
  const lines: string[] = [];
  configureLog('warn', (l) => lines.push(l));
  try {
    fn();
  } finally {
    configureLog('warn', (l) => process.stderr.write(l + '\n'));
  }
  return lines;
}

after(() => configureLog('warn', (l) => process.stderr.write(l + '\n')));

test('save then read round-trips, with mode 0600 in a new 0700 directory', async () => {
  const e = setup();
  const written = await saveCredentials('quay.io', {username: 'alice', password: 'p:ss wörd'}, {paths: e.paths});
  assert.equal(written, e.runtimeAuth);
  assert.equal(fs.statSync(e.runtimeAuth).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(e.runtimeAuth)).mode & 0o777, 0o700);
  assert.deepEqual(readCredentials('quay.io', {paths: e.paths}), {username: 'alice', password: 'p:ss wörd'});
  assert.deepEqual(readCredentials('quay.io/ns/app', {paths: e.paths}), {username: 'alice', password: 'p:ss wörd'});
  assert.equal(readCredentials('ghcr.io', {paths: e.paths}), undefined);
  const doc = JSON.parse(fs.readFileSync(e.runtimeAuth, 'utf8'));
  assert.deepEqual(doc, {auths: {'quay.io': {auth: b64('alice:p:ss wörd')}}}, 'the containers-auth.json layout');
  assert.deepEqual(fs.readdirSync(path.dirname(e.runtimeAuth)).sort(), ['auth.json', 'auth.json.lock'], 'no temp files left behind (the flock file stays, as lock files do)');
});

test('saving keeps unrelated entries and fields, and tightens an existing file to 0600', async () => {
  const e = setup();
  const file = path.join(e.tmp, 'custom/auth.json');
  writeJson(file, {auths: {'a.io': entry('a', '1'), 'b.io/ns': {auth: b64('b:2'), email: 'x@y'}}, credHelpers: {}, HttpHeaders: {'X-Meta': 'v'}});
  fs.chmodSync(file, 0o644);
  await saveCredentials('https://c.io/v2/', {username: 'c', password: '3'}, {paths: e.paths, authfile: file});
  await saveCredentials('a.io', {username: 'a2', password: '11'}, {paths: e.paths, authfile: file});
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.deepEqual(Object.keys(doc.auths).sort(), ['a.io', 'b.io/ns', 'c.io']);
  assert.deepEqual(doc.auths['b.io/ns'], {auth: b64('b:2'), email: 'x@y'});
  assert.deepEqual(doc.HttpHeaders, {'X-Meta': 'v'});
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readCredentials('a.io', {paths: e.paths, authfile: file}), {username: 'a2', password: '11'});
  assert.deepEqual(readCredentials('c.io', {paths: e.paths, authfile: file}), {username: 'c', password: '3'});
});

test('identity tokens round-trip', async () => {
  const e = setup();
  await saveCredentials('registry.example', {identityToken: 'tok-123'}, {paths: e.paths});
  assert.deepEqual(readCredentials('registry.example/x', {paths: e.paths}), {identityToken: 'tok-123'});
  writeJson(e.runtimeAuth, {auths: {'t.io': {identitytoken: 'only-token'}}});
  assert.deepEqual(readCredentials('t.io', {paths: e.paths}), {identityToken: 'only-token'});
});

test('repository-scoped keys: the most specific entry wins', async () => {
  const e = setup();
  writeJson(e.runtimeAuth, {
    auths: {
      'quay.io': entry('host', 'h'),
      'quay.io/team': entry('team', 't'),
      'quay.io/team/app': entry('app', 'a'),
      'localhost:5000/ns': entry('local', 'l'),
    },
  });
  const cases: Array<[string, string | undefined]> = [
    ['quay.io', 'host'],
    ['quay.io/other/app', 'host'],
    ['quay.io/team', 'team'],
    ['quay.io/team/other', 'team'],
    ['quay.io/team/app', 'app'],
    ['quay.io/team/app/sub', 'app'],
    ['quay.io/teamx/app', 'host'],
    ['localhost:5000/ns/x', 'local'],
    ['localhost:5000/other', undefined],
    ['localhost:5000', undefined],
  ];
  for (const [key, user] of cases) {
    const creds = readCredentials(key, {paths: e.paths});
    assert.equal(creds && 'username' in creds ? creds.username : undefined, user, key);
  }
});

test('URL-style and docker.io keys normalise to their registry', async () => {
  const e = setup();
  writeJson(e.dockerConfig, {
    auths: {
      'https://index.docker.io/v1/': entry('hub', 'h'),
      'http://myreg:5000/v2/': entry('my', 'm'),
      'https://ghcr.io': entry('gh', 'g'),
    },
  });
  const cases: Array<[string, string]> = [
    ['docker.io', 'hub'],
    ['docker.io/library/busybox', 'hub'],
    ['registry-1.docker.io', 'hub'],
    ['index.docker.io', 'hub'],
    ['myreg:5000/x/y', 'my'],
    ['ghcr.io/o/r', 'gh'],
  ];
  for (const [key, user] of cases) {
    const creds = readCredentials(key, {paths: e.paths});
    assert.equal(creds && 'username' in creds ? creds.username : undefined, user, key);
  }
  // a lookup by Docker Hub's API host finds podman's docker.io entries, scoped ones included
  writeJson(e.runtimeAuth, {auths: {'docker.io': entry('hub2', 'x'), 'docker.io/myorg': entry('org', 'x')}});
  const byEndpoint = (key: string) => {
    const c = readCredentials(key, {paths: e.paths});
    return c && 'username' in c ? c.username : undefined;
  };
  assert.equal(byEndpoint('registry-1.docker.io/myorg/app'), 'org');
  assert.equal(byEndpoint('registry-1.docker.io/library/busybox'), 'hub2');
  assert.equal(byEndpoint('docker.io/myorg'), 'org');
  fs.rmSync(e.runtimeAuth);
  writeJson(e.dockerConfig, {auths: {'registry-1.docker.io': entry('r1', 'x')}});
  const creds = readCredentials('docker.io/library/busybox', {paths: e.paths});
  assert.equal(creds && 'username' in creds ? creds.username : undefined, 'r1');
});

test('file order: default, containers config, docker config.json, .dockercfg', async () => {
  const e = setup();
  const who = (key = 'r.io') => {
    const c = readCredentials(key, {paths: e.paths});
    return c && 'username' in c ? c.username : undefined;
  };
  assert.equal(who(), undefined);
  writeJson(e.dockercfg, {'https://r.io': {auth: b64('legacy:1'), email: 'e'}});
  assert.equal(who(), 'legacy', '.dockercfg (legacy layout, URL keys)');
  writeJson(e.dockerConfig, {auths: {'r.io': entry('docker', '1')}});
  assert.equal(who(), 'docker');
  writeJson(e.configAuth, {auths: {'r.io': entry('config', '1')}});
  assert.equal(who(), 'config');
  writeJson(e.runtimeAuth, {auths: {'r.io': entry('runtime', '1')}});
  assert.equal(who(), 'runtime');
  // an empty marker entry (a credential helper's placeholder) does not stop the search
  writeJson(e.runtimeAuth, {auths: {'r.io': {}}});
  assert.equal(who(), 'config');
  // the legacy file answers by registry only
  assert.equal(who('other.io'), undefined);
});

test('DOCKER_CONFIG moves config.json', async () => {
  const e = setup({DOCKER_CONFIG: '/nonexistent-placeholder'});
  const dockerDir = path.join(e.tmp, 'dockercfgdir');
  const e2 = setup({DOCKER_CONFIG: dockerDir});
  writeJson(path.join(dockerDir, 'config.json'), {auths: {'d.io': entry('dc', '1')}});
  assert.deepEqual(readCredentials('d.io', {paths: e2.paths}), {username: 'dc', password: '1'});
  assert.equal(readCredentials('d.io', {paths: e.paths}), undefined);
});

test('an explicit authfile is the only file read', async () => {
  const e = setup();
  writeJson(e.runtimeAuth, {auths: {'r.io': entry('runtime', '1')}});
  writeJson(e.dockerConfig, {auths: {'r.io': entry('docker', '1')}});
  const own = path.join(e.tmp, 'own.json');
  assert.equal(readCredentials('r.io', {paths: e.paths, authfile: own}), undefined, 'missing authfile: no credentials');
  writeJson(own, {auths: {'r.io': entry('own', '1')}});
  assert.deepEqual(readCredentials('r.io', {paths: e.paths, authfile: own}), {username: 'own', password: '1'});
});

test('corrupt files are invalid-input errors naming the file', async () => {
  const e = setup();
  // [text, message, also blocks writes] (a bad secret is replaced by saving, not a structural problem)
  const cases: Array<[string, RegExp, boolean?]> = [
    ['{"auths": {', /invalid JSON/],
    ['[]', /expected a JSON object/],
    ['"x"', /expected a JSON object/],
    ['{"auths": []}', /"auths" must be an object/],
    ['{"auths": {"r.io": "abc"}}', /entry "r.io" must be an object/],
    ['{"auths": {"r.io": {"auth": 5}}}', /"auth" must be a string/],
    ['{"auths": {"r.io": {"auth": "not base64!"}}}', /not valid base64/, false],
    ['{"credHelpers": "x"}', /"credHelpers" must be an object/],
  ];
  for (const [text, re, blocksWrite = true] of cases) {
    writeJson(e.runtimeAuth, text);
    assert.throws(
      () => readCredentials('r.io', {paths: e.paths}),
      (err: unknown) => isSkiffError(err, 'invalid-input') && err.message.includes(e.runtimeAuth) && re.test(err.message) && !err.message.includes('\n'),
      text,
    );
    if (!blocksWrite) continue;
    const before = fs.readFileSync(e.runtimeAuth, 'utf8');
    await assert.rejects(() => saveCredentials('r.io', {username: 'u', password: 'p'}, {paths: e.paths}), (err: unknown) => isSkiffError(err, 'invalid-input'));
    assert.equal(fs.readFileSync(e.runtimeAuth, 'utf8'), before, `${text}: a corrupt file is not overwritten`);
  }
  writeJson(e.runtimeAuth, '');
  assert.equal(readCredentials('r.io', {paths: e.paths}), undefined, 'an empty file has no entries');
});

test('an auth value without a colon is skipped with a warning', async () => {
  const e = setup();
  writeJson(e.runtimeAuth, {auths: {'r.io': {auth: b64('nocolon')}}});
  writeJson(e.dockerConfig, {auths: {'r.io': entry('docker', '1')}});
  let creds;
  const lines = captureLog(() => {
    creds = readCredentials('r.io', {paths: e.paths});
  });
  assert.deepEqual(creds, {username: 'docker', password: '1'});
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /without a ":"/);
  assert.ok(!lines[0]!.includes('nocolon'), 'secrets stay out of logs');
});

test('credential helpers are reported and ignored', async () => {
  const e = setup();
  writeJson(e.dockerConfig, {credsStore: 'desktop', credHelpers: {'gcr.io': 'gcloud'}, auths: {'gcr.io': {}, 'x.io': entry('x', '1')}});
  let creds: unknown;
  const lines = captureLog(() => {
    creds = readCredentials('gcr.io/p/img', {paths: e.paths});
  });
  assert.equal(creds, undefined);
  assert.ok(lines.some((l) => /credential helper "gcloud" for gcr.io is not supported/.test(l)), lines.join('|'));
  const lines2 = captureLog(() => {
    creds = readCredentials('other.io', {paths: e.paths});
  });
  assert.ok(lines2.some((l) => /credsStore "desktop" is not supported/.test(l)), lines2.join('|'));
  assert.deepEqual(readCredentials('x.io', {paths: e.paths}), {username: 'x', password: '1'});
});

test('remove, remove all and list', async () => {
  const e = setup();
  await saveCredentials('a.io', {username: 'a', password: '1'}, {paths: e.paths});
  await saveCredentials('b.io/ns', {username: 'b', password: '2'}, {paths: e.paths});
  writeJson(e.dockerConfig, {auths: {'https://index.docker.io/v1/': entry('hub', 'h'), 'a.io': entry('dup', 'd'), 'empty.io': {}}});
  assert.deepEqual(listAuthKeys({paths: e.paths}), ['a.io', 'b.io/ns', 'index.docker.io']);

  assert.equal(await removeCredentials('b.io/ns', {paths: e.paths}), true);
  assert.equal(await removeCredentials('b.io/ns', {paths: e.paths}), false);
  assert.equal(await removeCredentials('index.docker.io', {paths: e.paths}), false, 'only the written file is edited');
  assert.equal(fs.statSync(e.runtimeAuth).mode & 0o777, 0o600);
  assert.deepEqual(listAuthKeys({paths: e.paths}), ['a.io', 'index.docker.io']);

  assert.equal(await removeAllCredentials({paths: e.paths}), 1);
  assert.deepEqual(JSON.parse(fs.readFileSync(e.runtimeAuth, 'utf8')), {auths: {}});
  assert.deepEqual(readCredentials('a.io', {paths: e.paths}), {username: 'dup', password: 'd'}, 'docker config.json untouched');

  const missing = path.join(e.tmp, 'missing.json');
  assert.equal(await removeCredentials('a.io', {paths: e.paths, authfile: missing}), false);
  assert.equal(await removeAllCredentials({paths: e.paths, authfile: missing}), 0);
  assert.equal(fs.existsSync(missing), false, 'nothing to remove creates no file');
  assert.deepEqual(listAuthKeys({paths: e.paths, authfile: missing}), []);
});

test('normalizeAuthKey', async () => {
  const good: Array<[string, string]> = [
    ['quay.io', 'quay.io'],
    ['quay.io/', 'quay.io'],
    ['quay.io/ns/repo', 'quay.io/ns/repo'],
    ['localhost:5000', 'localhost:5000'],
    ['localhost:5000/ns', 'localhost:5000/ns'],
    ['https://quay.io', 'quay.io'],
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['http://10.0.0.1:5000/v2/', '10.0.0.1:5000'],
    [' docker.io ', 'docker.io'],
  ];
  for (const [input, want] of good) assert.equal(normalizeAuthKey(input), want, input);
  const bad = ['', '  ', 'quay.io/app:tag', 'quay.io/app@sha256:abc', '/ns', 'a b'];
  for (const input of bad) {
    assert.throws(() => normalizeAuthKey(input), (err: unknown) => isSkiffError(err, 'invalid-input'), JSON.stringify(input));
  }
  const e = setup();
  await assert.rejects(() => saveCredentials('r.io', {username: 'a:b', password: 'x'}, {paths: e.paths}), (err: unknown) => isSkiffError(err, 'invalid-input') && /username/.test(err.message));
});
