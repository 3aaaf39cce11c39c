/**
 * A real registry for integration tests: Debian's docker-registry
 * (Distribution 2.8) on 127.0.0.1 with a free port, filesystem storage in a
 * temp dir, optionally TLS (a throwaway CA, server cert with IP SAN
 * 127.0.0.1), Basic auth (htpasswd -B) or token auth (a small token server
 * in this process signing ES256 JWTs whose x5c header carries the signing
 * certificate, which the registry trusts through auth.token.rootcertbundle).
 * Several can run at once; stop() kills the process and removes its files.
 */
import {spawn, execFileSync, type ChildProcess} from 'node:child_process';
import {randomBytes, randomUUID} from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const REGISTRY_BIN = process.env.SKIFF_TEST_REGISTRY_BIN ?? '/usr/bin/docker-registry';

export interface TestRegistry {
  /** 127.0.0.1:PORT */
  host: string;
  username?: string;
  password?: string;
  tls: boolean;
  auth: 'none' | 'basic' | 'token';
  /** PEM of the CA that signed the server (and token server) certificate. */
  caFile?: string;
  /** A certs.d-style directory: <certsDir>/<host>/ca.crt. */
  certsDir?: string;
  storageDir: string;
  /** The token server's realm URL ('token' auth only). */
  tokenRealm?: string;
  /** A refresh token the token server accepts ('token' auth only): an identity token for OAuth2 grants. */
  identityToken?: string;
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  auth?: 'none' | 'basic' | 'token';
  /** Forced on for 'token'. */
  tls?: boolean;
}

export interface TestPki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** Self-signed EC P-256 certificate and key that sign the JWTs. */
  tokenCert: string;
  tokenKey: string;
}

let pki: TestPki | undefined;

/** Registries still running, killed if the test process exits without stopping them. */
const running = new Set<{child: ChildProcess; dir: string}>();
process.on('exit', () => {
  for (const r of running) {
    r.child.kill('SIGKILL');
    fs.rmSync(r.dir, {recursive: true, force: true});
  }
});

/** A CA, a 127.0.0.1 server cert and a JWT signing cert, made once per test process. */
export function testPki(): TestPki {
  if (pki) return pki;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-pki-'));
  process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}));
  const p = (f: string) => path.join(dir, f);
  const ossl = (args: string[]) => execFileSync('openssl', args, {cwd: dir, stdio: ['ignore', 'ignore', 'pipe']});
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3', '-subj', '/CN=skiff test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ossl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n');
  ossl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '3', '-extfile', 'server.ext']);
  ossl(['req', '-x509', ...ec, '-keyout', 'token.key', '-out', 'token.crt', '-days', '3', '-subj', '/CN=skiff test token signer']);
  pki = {dir, caCert: p('ca.crt'), caKey: p('ca.key'), serverCert: p('server.crt'), serverKey: p('server.key'), tokenCert: p('token.crt'), tokenKey: p('token.key')};
  return pki;
}

/** A port that was free a moment ago (the caller retries if it is taken by then). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = opts.auth ?? 'none';
  const tls = auth === 'token' ? true : (opts.tls ?? false);
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await startOnce(auth, tls);
    } catch (err) {
      lastErr = err;
      if (!/address already in use/i.test(String(err))) throw err;
    }
  }
  throw lastErr;
}

async function startOnce(auth: 'none' | 'basic' | 'token', tls: boolean): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-registry-'));
  const storageDir = path.join(dir, 'storage');
  fs.mkdirSync(storageDir);
  const cleanups: (() => Promise<void> | void)[] = [() => fs.rmSync(dir, {recursive: true, force: true})];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const username = auth === 'none' ? undefined : 'skiff-user';
    const password = auth === 'none' ? undefined : 'pw-' + randomBytes(6).toString('hex');
    const config: Record<string, unknown> = {
      version: '0.1',
      log: {level: 'error', accesslog: {disabled: true}},
      storage: {filesystem: {rootdirectory: storageDir}, delete: {enabled: true}, maintenance: {uploadpurging: {enabled: false}}},
      http: {addr: host, secret: randomBytes(16).toString('hex')},
    };
    let caFile: string | undefined;
    let certsDir: string | undefined;
    let tokenRealm: string | undefined;
    let identityToken: string | undefined;
    if (tls) {
      const k = testPki();
      caFile = path.join(dir, 'ca.crt');
      fs.copyFileSync(k.caCert, caFile);
      certsDir = path.join(dir, 'certs.d');
      fs.mkdirSync(path.join(certsDir, host), {recursive: true});
      fs.copyFileSync(k.caCert, path.join(certsDir, host, 'ca.crt'));
      (config.http as Record<string, unknown>).tls = {certificate: k.serverCert, key: k.serverKey};
    }
    if (auth === 'basic') {
      const htpasswd = path.join(dir, 'htpasswd');
      fs.writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', username!, password!]));
      config.auth = {htpasswd: {realm: 'skiff-test', path: htpasswd}};
    } else if (auth === 'token') {
      const service = `skiff-registry-${port}`;
      const issuer = 'skiff-test-token-issuer';
      const ts = await startTokenServer({service, issuer, username: username!, password: password!});
      cleanups.push(() => ts.stop());
      tokenRealm = ts.realm;
      identityToken = ts.refreshToken;
      config.auth = {token: {realm: ts.realm, service, issuer, rootcertbundle: testPki().tokenCert}};
    }
    const configFile = path.join(dir, 'config.yml');
    // JSON is YAML: no YAML writer needed.
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    const child = spawn(REGISTRY_BIN, ['serve', configFile], {
      env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir},
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-8000);
    });
    const entry = {child, dir};
    running.add(entry);
    cleanups.push(async () => {
      await killChild(child);
      running.delete(entry);
    });
    await waitReady(child, host, tls, () => stderr);
    let stopped = false;
    return {
      host,
      username,
      password,
      tls,
      auth,
      caFile,
      certsDir,
      storageDir,
      tokenRealm,
      identityToken,
      async stop() {
        if (stopped) return;
        stopped = true;
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function killChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitReady(child: ChildProcess, host: string, tls: boolean, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let exited = false;
  child.once('exit', () => (exited = true));
  const ca = tls ? fs.readFileSync(testPki().caCert) : undefined;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`docker-registry exited during startup: ${stderr().trim()}`);
    const status = await probe(host, ca).catch(() => 0);
    if (status === 200 || status === 401) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry on ${host} not ready after 15s: ${stderr().trim()}`);
}

function probe(host: string, ca?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = `${ca ? 'https' : 'http'}://${host}/v2/`;
    const req = (ca ? https : http).get(url, ca ? {ca, agent: false} : {agent: false}, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.setTimeout(1000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// --- token server --------------------------------------------------------

interface TokenServer {
  realm: string;
  refreshToken: string;
  stop(): Promise<void>;
}

/**
 * Distribution's token protocol: GET /token?service=&scope=repository:NAME:ACTIONS
 * with Basic credentials (or POST form grant_type=password|refresh_token).
 * Valid credentials get every action they ask for; anything else gets 401.
 */
async function startTokenServer(o: {service: string; issuer: string; username: string; password: string}): Promise<TokenServer> {
  const {SignJWT, importPKCS8} = await import('jose');
  const k = testPki();
  const key = await importPKCS8(fs.readFileSync(k.tokenKey, 'utf8'), 'ES256');
  const x5c = [pemToDerBase64(fs.readFileSync(k.tokenCert, 'utf8'))];
  const refreshToken = 'refresh-' + randomBytes(12).toString('hex');

  const issue = async (subject: string, scopes: string[]) => {
    const access = scopes.flatMap(parseScope);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({access})
      .setProtectedHeader({alg: 'ES256', typ: 'JWT', x5c})
      .setIssuer(o.issuer)
      .setSubject(subject)
      .setAudience(o.service)
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + 300)
      .setJti(randomUUID())
      .sign(key);
    return {token, access_token: token, expires_in: 300, issued_at: new Date(now * 1000).toISOString()};
  };

  const srv = https.createServer({cert: fs.readFileSync(k.serverCert), key: fs.readFileSync(k.serverKey)}, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'https://127.0.0.1');
        let ok = false;
        let scopes: string[] = [];
        let service = url.searchParams.get('service');
        let extra: Record<string, unknown> = {};
        if (url.pathname !== '/token') return send(res, 404, {errors: [{code: 'NOT_FOUND', message: 'not found'}]});
        if (req.method === 'GET') {
          scopes = url.searchParams.getAll('scope');
          const m = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
          const [u, ...rest] = m ? Buffer.from(m[1], 'base64').toString('utf8').split(':') : [];
          ok = u === o.username && rest.join(':') === o.password;
          if (url.searchParams.get('offline_token') === 'true' && ok) extra = {refresh_token: refreshToken};
        } else if (req.method === 'POST') {
          const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
          service = form.get('service');
          scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
          if (form.get('grant_type') === 'password') {
            ok = form.get('username') === o.username && form.get('password') === o.password;
            if (ok && form.get('access_type') === 'offline') extra = {refresh_token: refreshToken};
          } else if (form.get('grant_type') === 'refresh_token') {
            ok = form.get('refresh_token') === refreshToken;
          }
        }
        if (service !== null && service !== o.service) return send(res, 400, {errors: [{code: 'UNSUPPORTED', message: `unknown service ${service}`}]});
        if (!ok) return send(res, 401, {errors: [{code: 'UNAUTHORIZED', message: 'authentication required'}]}, {'www-authenticate': 'Basic realm="skiff-token"'});
        send(res, 200, {...(await issue(o.username, scopes)), ...extra});
      })().catch((err) => send(res, 500, {errors: [{code: 'UNKNOWN', message: String(err)}]}));
    });
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (srv.address() as net.AddressInfo).port;
  return {
    realm: `https://127.0.0.1:${port}/token`,
    refreshToken,
    stop: () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers});
  res.end(text);
}

/** "repository:a/b:pull,push" → one access entry; anything unparsable grants nothing. */
function parseScope(scope: string): {type: string; name: string; actions: string[]}[] {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return [];
  return [{type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean)}];
}

function pemToDerBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}
