import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import {Paths} from '../../../src/lib/state/paths';
import {certDirFor, tlsFor} from '../../../src/lib/image/certs';
import {isSkiffError} from '../../../src/lib/util/errors';
import {tempDir} from '../../helpers/tmp';

// Two throwaway self-signed P-256 pairs made for these tests (CN=skiff-test-a / skiff-test-b).
const CERT_A = `-----BEGIN CERTIFICATE-----
MIIBhjCCASugAwIBAgIUA960JXr7WPAyz0lAb85IaVAfGNswCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMc2tpZmYtdGVzdC1hMCAXDTI2MTEyMzE5NDkwN1oYDzIxMjYx
MDMwMTk0OTA3WjAXMRUwEwYDVQQDDAxza2lmZi10ZXN0LWEwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAATY/PIxag7aOJeLsES9BL1nJyYW42XfyKVO8KJDnt9oLa2p
6AcOHAn4AY9M8GTHV9afiebeR8PjLsIlR7i43yVno1MwUTAdBgNVHQ4EFgQUUM4e
jueXPU3oyWxXd8ql26044q4wHwYDVR0jBBgwFoAUUM4ejueXPU3oyWxXd8ql2604
4q4wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA5ZSnrxGg79yB
r6clAQ06xslcEH4sTw1VzIedk4FqmMECIQDSyWilZXGFc4DHFhwhCLTWXXs37k5X
fOBPK7HDT3odFw==
-----END CERTIFICATE-----
`;
const KEY_A = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgixSZIPXPUZWFWBgb
XQkCrnvqPAr2rIaMrK9a7iknzOChRANCAATY/PIxag7aOJeLsES9BL1nJyYW42Xf
yKVO8KJDnt9oLa2p6AcOHAn4AY9M8GTHV9afiebeR8PjLsIlR7i43yVn
-----END PRIVATE KEY-----
`;
const CERT_B = `-----BEGIN CERTIFICATE-----
MIIBhjCCASugAwIBAgIUBm7BH95PVDEog145zdFL2YIyssAwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMc2tpZmYtdGVzdC1iMCAXDTI2MTEyMzE5NDkwN1oYDzIxMjYx
MDMwMTk0OTA3WjAXMRUwEwYDVQQDDAxza2lmZi10ZXN0LWIwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAARu8xV/DhkDNNslkivERr4JkKoezwrFT0St74eWl+4QwueG
4FfoDqFEalfyi89YxPAGqTMEsBgFPZsv1FKmiI9jo1MwUTAdBgNVHQ4EFgQUw25a
GLIEcim5T3/ST2AUCjYPbdQwHwYDVR0jBBgwFoAUw25aGLIEcim5T3/ST2AUCjYP
bdQwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA0zp5dzjCUwlo
emqzokNeflBWCl1djRaPWdX4as5SvhQCIQCCZZTTPoR4Css+hsRnS6u6DSuCKl9B
qKn99fgJD/lTXg==
-----END CERTIFICATE-----
`;
const KEY_B = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgxI2vZi9hvkYUzpft
pZedMsNyY21dvRTu7pX7kSKAg8OhRANCAARu8xV/DhkDNNslkivERr4JkKoezwrF
T0St74eWl+4QwueG4FfoDqFEalfyi89YxPAGqTMEsBgFPZsv1FKmiI9j
-----END PRIVATE KEY-----
`;

const HOST = 'skiff-test.invalid:5000';

function setup(): {tmp: string; paths: Paths; userCerts: string} {
  const tmp = tempDir('skiff-certs-');
  const env = {HOME: path.join(tmp, 'home'), XDG_CONFIG_HOME: path.join(tmp, 'config')};
  const paths = new Paths({root: path.join(tmp, 'root'), runroot: path.join(tmp, 'run'), env, uid: 1000});
  return {tmp, paths, userCerts: path.join(tmp, 'config/containers/certs.d')};
}

function files(dir: string, contents: Record<string, string>): string {
  fs.mkdirSync(dir, {recursive: true});
  for (const [name, text] of Object.entries(contents)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

function throwsInvalid(fn: () => unknown, re: RegExp, label: string): void {
  assert.throws(fn, (err: unknown) => isSkiffError(err, 'invalid-input') && re.test(err.message) && !err.message.includes('\n'), label);
}

test('no certs.d directory for the host: nothing', () => {
  const {paths} = setup();
  assert.equal(certDirFor(HOST, {paths}), undefined);
  assert.deepEqual(tlsFor(HOST, {paths}), {});
});

test('*.crt files add CAs on top of the default roots', () => {
  const {paths, userCerts} = setup();
  const dir = files(path.join(userCerts, HOST), {'b-ca.crt': CERT_B, 'a-ca.crt': CERT_A, 'README': 'ignored'});
  fs.mkdirSync(path.join(dir, 'sub.crt'));
  const m = tlsFor(HOST, {paths});
  assert.equal(certDirFor(HOST, {paths}), dir);
  assert.ok(m.ca);
  assert.equal(m.ca.length, tls.rootCertificates.length + 2);
  assert.deepEqual(m.ca.slice(-2).map(String), [CERT_A, CERT_B], 'sorted by name, after the defaults');
  assert.equal(m.cert, undefined);
  assert.equal(m.key, undefined);
});

test('a .cert/.key pair is a client certificate', () => {
  const {paths, userCerts} = setup();
  files(path.join(userCerts, HOST), {'client.cert': CERT_A, 'client.key': KEY_A});
  const m = tlsFor(HOST, {paths});
  assert.equal(m.ca, undefined);
  assert.equal(String(m.cert), CERT_A);
  assert.equal(String(m.key), KEY_A);
  // the material is usable as Node TLS options
  assert.doesNotThrow(() => tls.createSecureContext({cert: m.cert, key: m.key}));
});

test('incomplete or inconsistent client pairs are clear errors', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{'client.cert': CERT_A}, /missing key client\.key for client certificate .*client\.cert \(CA certificates use the extension \.crt\)/],
    [{'client.key': KEY_A}, /missing client certificate client\.cert for key .*client\.key/],
    [{'client.cert': CERT_A, 'client.key': KEY_B}, /client key .*client\.key does not match certificate .*client\.cert/],
    [{'client.cert': 'garbage', 'client.key': KEY_A}, /client certificate .*client\.cert is not a PEM certificate/],
    [{'client.cert': CERT_A, 'client.key': 'garbage'}, /client key .*client\.key is not a PEM private key/],
    [{'ca.crt': CERT_A, 'other.cert': CERT_B}, /missing key other\.key/],
  ];
  for (const [contents, re] of cases) {
    const {paths, userCerts} = setup();
    files(path.join(userCerts, HOST), contents);
    throwsInvalid(() => tlsFor(HOST, {paths}), re, Object.keys(contents).join(','));
  }
});

test('several client pairs: the first by name is used', () => {
  const {paths, userCerts} = setup();
  files(path.join(userCerts, HOST), {'b.cert': CERT_B, 'b.key': KEY_B, 'a.cert': CERT_A, 'a.key': KEY_A});
  const m = tlsFor(HOST, {paths});
  assert.equal(String(m.cert), CERT_A);
  assert.equal(String(m.key), KEY_A);
});

class CertPaths extends Paths {
  constructor(
    tmp: string,
    private readonly dirs: string[],
  ) {
    super({root: path.join(tmp, 'root'), runroot: path.join(tmp, 'run'), env: {HOME: tmp}});
  }
  override certsDirs(): string[] {
    return this.dirs;
  }
}

test('only the first certs.d directory with the host is read', () => {
  const {tmp} = setup();
  const first = path.join(tmp, 'one');
  const second = path.join(tmp, 'two');
  const paths = new CertPaths(tmp, [first, second]);
  files(path.join(second, HOST), {'ca.crt': CERT_B});
  assert.deepEqual(tlsFor(HOST, {paths}).ca?.slice(-1).map(String), [CERT_B]);
  files(path.join(first, HOST), {'ca.crt': CERT_A});
  const m = tlsFor(HOST, {paths});
  assert.equal(m.ca?.length, tls.rootCertificates.length + 1, 'not merged with the second directory');
  assert.deepEqual(m.ca?.slice(-1).map(String), [CERT_A]);
  assert.deepEqual(tlsFor('other.invalid', {paths}), {}, 'per host:port');
  assert.deepEqual(tlsFor('skiff-test.invalid', {paths}), {}, 'the port is part of the directory name');
});

test('--cert-dir replaces the search and holds the files directly', () => {
  const {tmp, paths, userCerts} = setup();
  files(path.join(userCerts, HOST), {'ca.crt': CERT_A});
  const certDir = files(path.join(tmp, 'mycerts'), {'ca.crt': CERT_B, 'c.cert': CERT_A, 'c.key': KEY_A});
  const m = tlsFor(HOST, {paths, certDir});
  assert.deepEqual(m.ca?.slice(-1).map(String), [CERT_B]);
  assert.equal(String(m.cert), CERT_A);
  assert.deepEqual(tlsFor(HOST, {paths, certDir: path.join(tmp, 'absent')}), {}, 'a missing --cert-dir has nothing in it');
});

test('Docker Hub reads certs.d/docker.io for its API host', () => {
  const {paths, userCerts} = setup();
  const dir = files(path.join(userCerts, 'docker.io'), {'ca.crt': CERT_A});
  assert.equal(certDirFor('registry-1.docker.io', {paths}), dir);
  assert.equal(certDirFor('docker.io', {paths}), dir);
  assert.deepEqual(tlsFor('registry-1.docker.io', {paths}).ca?.slice(-1).map(String), [CERT_A]);
});

test('host strings that would escape certs.d are rejected', () => {
  const {paths} = setup();
  for (const host of ['', '..', '.', 'a/b', '../etc']) throwsInvalid(() => tlsFor(host, {paths}), /invalid registry host/, JSON.stringify(host));
});
