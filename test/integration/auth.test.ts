/**
 * login, logout and pulls through registries that need credentials: htpasswd
 * basic auth over plain HTTP, and bearer tokens over TLS with a private CA.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {makeStore, type Store} from '../helpers/skiff';
import {startRegistry, type TestRegistry} from '../helpers/registry';
import {buildBusybox, pushImage, type BuiltImage} from '../helpers/images';

let basic: TestRegistry;
let token: TestRegistry;
let busybox: BuiltImage;
const stores: Store[] = [];
const store = () => {
  const s = makeStore();
  stores.push(s);
  return s;
};

before(async () => {
  [basic, token] = await Promise.all([startRegistry({auth: 'basic'}), startRegistry({auth: 'token'})]);
  busybox = await buildBusybox();
  await pushImage(busybox.layoutDir, busybox.ref, `${basic.host}/private/busybox:latest`, basic);
  await pushImage(busybox.layoutDir, busybox.ref, `${token.host}/private/busybox:latest`, token);
});

after(async () => {
  for (const s of stores) await s.cleanup();
  await Promise.all([basic?.stop(), token?.stop()]);
});

describe('basic auth registry', () => {
  test('pull without credentials fails cleanly; --creds works', async () => {
    const s = store();
    const anon = await s.run(['pull', '--tls-verify=false', `${basic.host}/private/busybox`]);
    assert.equal(anon.code, 125);
    assert.match(anon.stderr, /authentication required|unauthorized/i);
    const bad = await s.run(['pull', '--tls-verify=false', '--creds', `${basic.username}:wrong`, `${basic.host}/private/busybox`]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid username\/password|unauthorized|authentication/i);
    const ok = await s.run(['pull', '-q', '--tls-verify=false', '--creds', `${basic.username}:${basic.password}`, `${basic.host}/private/busybox`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), busybox.config.digest.slice(7));
  });

  test('login verifies, stores 0600 credentials that pull uses; logout removes them', async () => {
    const s = store();
    const authfile = s.env.REGISTRY_AUTH_FILE!;
    const wrong = await s.run(['login', '--tls-verify=false', '-u', basic.username!, '-p', 'wrong', basic.host]);
    assert.equal(wrong.code, 125);
    assert.equal(fs.existsSync(authfile), false, 'nothing stored for bad credentials');

    const login = await s.run(['login', '--tls-verify=false', '-u', basic.username!, '--password-stdin', basic.host], {input: `${basic.password}\n`});
    assert.equal(login.code, 0, login.stderr);
    assert.equal(login.stdout.trim(), 'Login Succeeded!');
    assert.equal(fs.statSync(authfile).mode & 0o777, 0o600);
    const auths = JSON.parse(fs.readFileSync(authfile, 'utf8')).auths;
    assert.equal(Buffer.from(auths[basic.host].auth, 'base64').toString(), `${basic.username}:${basic.password}`);
    assert.equal((await s.run(['login', '--get-login', basic.host])).stdout.trim(), basic.username);

    const pull = await s.run(['pull', '-q', '--tls-verify=false', `${basic.host}/private/busybox`]);
    assert.equal(pull.code, 0, pull.stderr);

    const out = await s.run(['logout', basic.host]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), `Removed login credentials for ${basic.host}`);
    const again = await s.run(['logout', basic.host]);
    assert.equal(again.code, 125);
    assert.match(again.stderr, /not logged into/);
    const anon = await s.run(['pull', '--tls-verify=false', `${basic.host}/private/busybox:latest`]);
    assert.equal(anon.code, 125, 'pull always asks the registry, which refuses without the stored credentials');
  });

  test('login without a password and no terminal is a clear error', async () => {
    const s = store();
    const r = await s.run(['login', '--tls-verify=false', '-u', 'x', basic.host]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /no --password given and no terminal/);
  });

  test('parallel logins to several repositories keep every entry (the auth file is edited under a lock)', async () => {
    const s = store();
    const keys = Array.from({length: 8}, (_, i) => `${basic.host}/private/ns${i}`);
    const results = await Promise.all(keys.map((k) => s.run(['login', '--tls-verify=false', '-u', basic.username!, '-p', basic.password!, k])));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const auths = JSON.parse(fs.readFileSync(s.env.REGISTRY_AUTH_FILE!, 'utf8')).auths;
    assert.deepEqual(Object.keys(auths).sort(), [...keys].sort());
    const outs = await Promise.all(keys.slice(0, 4).map((k) => s.run(['logout', k])));
    for (const r of outs) assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(s.env.REGISTRY_AUTH_FILE!, 'utf8')).auths).sort(), keys.slice(4).sort());
  });

  test('logout --all empties the auth file', async () => {
    const s = store();
    assert.equal((await s.run(['login', '--tls-verify=false', '-u', basic.username!, '-p', basic.password!, basic.host])).code, 0);
    const r = await s.run(['logout', '--all']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(fs.readFileSync(s.env.REGISTRY_AUTH_FILE!, 'utf8')).auths, {});
  });
});

describe('token auth registry over TLS', () => {
  test('the private CA is required; with it, login and pull work', async () => {
    const s = store();
    const certDir = path.join(token.certsDir!, token.host);
    const noCa = await s.run(['login', '-u', token.username!, '-p', token.password!, token.host]);
    assert.equal(noCa.code, 125);
    assert.match(noCa.stderr, /certificate|self.signed|unable to verify/i);
    const login = await s.run(['login', '--cert-dir', certDir, '-u', token.username!, '-p', token.password!, token.host]);
    assert.equal(login.code, 0, login.stderr);
    const pull = await s.run(['pull', '-q', '--cert-dir', certDir, `${token.host}/private/busybox`]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(pull.stdout.trim(), busybox.config.digest.slice(7));
  });

  test('a CA given only in NODE_EXTRA_CA_CERTS is trusted, as Node would (the launcher hands it over without Node parsing it)', async () => {
    const s = store();
    const ca = path.join(token.certsDir!, token.host, 'ca.crt');
    assert.ok(fs.existsSync(ca), ca);
    const env = {NODE_EXTRA_CA_CERTS: ca};
    const pull = await s.run(['pull', '-q', '--creds', `${token.username}:${token.password}`, `${token.host}/private/busybox`], {env});
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(pull.stdout.trim(), busybox.config.digest.slice(7));
    const without = await s.run(['pull', '-q', '--creds', `${token.username}:${token.password}`, `${token.host}/private/busybox`], {env: {NODE_EXTRA_CA_CERTS: ''}});
    assert.equal(without.code, 125, 'without it the private CA is unknown');
  });

  test('bad token credentials are refused at login and pull', async () => {
    const s = store();
    const certDir = path.join(token.certsDir!, token.host);
    const r = await s.run(['login', '--cert-dir', certDir, '-u', token.username!, '-p', 'nope', token.host]);
    assert.equal(r.code, 125);
    const p = await s.run(['pull', '--cert-dir', certDir, '--creds', `${token.username}:nope`, `${token.host}/private/busybox`]);
    assert.equal(p.code, 125);
    assert.match(p.stderr, /unauthorized|authentication|invalid username/i);
  });
});
