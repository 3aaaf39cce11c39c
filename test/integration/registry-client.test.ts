/**
 * The registry client against a real Distribution registry (plain HTTP,
 * Basic auth, token auth over TLS) and small local servers that misbehave
 * on purpose: 5xx storms, connections cut mid-blob, wrong bytes, silence,
 * schema1 manifests.
 */
import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import {createHash} from 'node:crypto';
import {RegistryClient, MANIFEST_ACCEPT, type Credentials, type RegistryEndpoint} from '../../src/lib/image/registry';
import {isSkiffError, type SkiffError} from '../../src/lib/util/errors';
import {startRegistry, type TestRegistry} from '../helpers/registry';
import {buildBusybox, buildMultiPlatform, pushImage, readBlob, MULTIPLATFORM, type BuiltImage} from '../helpers/images';

const ACCEPT = [...MANIFEST_ACCEPT];
const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function readAll(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

async function rejectsWith(p: Promise<unknown>, kind: SkiffError['kind'], re: RegExp): Promise<SkiffError> {
  try {
    await p;
  } catch (err) {
    assert.ok(isSkiffError(err), `expected a SkiffError, got ${String(err)}`);
    assert.equal(err.kind, kind, `kind of: ${err.message}`);
    assert.match(err.message, re);
    assert.ok(!err.message.includes('\n'), 'one-line message');
    return err;
  }
  assert.fail('expected a rejection');
}

function client(reg: {host: string}, opts: {insecure?: boolean; ca?: string; credentials?: Credentials; retries?: number; timeoutMs?: number} = {}): RegistryClient {
  const endpoint: RegistryEndpoint = {host: reg.host, insecure: opts.insecure ?? true, tls: opts.ca ? {ca: [fs.readFileSync(opts.ca)]} : undefined};
  return new RegistryClient(endpoint, {credentials: opts.credentials, retries: opts.retries ?? 3, retryDelayMs: 10, timeoutMs: opts.timeoutMs});
}

/** A local HTTP server; `handle` gets each request and the upstream registry to forward to. */
interface Proxy {
  host: string;
  requests: {method: string; url: string; range?: string}[];
  close(): Promise<void>;
}

async function startServer(handle: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void): Promise<Proxy> {
  const requests: Proxy['requests'] = [];
  const srv = http.createServer((req, res) => {
    requests.push({method: req.method ?? '', url: req.url ?? '', range: req.headers.range});
    handle(req, res, requests.length);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(srv.address() as net.AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** Forwards a request to a plain-HTTP upstream and hands back the full response. */
function forward(upstream: string, req: http.IncomingMessage, headers: http.OutgoingHttpHeaders = req.headers, urlPath = req.url): Promise<{status: number; headers: http.IncomingHttpHeaders; body: Buffer}> {
  return new Promise((resolve, reject) => {
    const [hostname, port] = upstream.split(':');
    const up = http.request({hostname, port: Number(port), method: req.method, path: urlPath, headers: {...headers, host: upstream}}, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(parts)}));
      res.on('error', reject);
    });
    up.on('error', reject);
    req.pipe(up);
  });
}

function relay(res: http.ServerResponse, r: {status: number; headers: http.IncomingHttpHeaders; body: Buffer}): void {
  const h = {...r.headers};
  delete h['transfer-encoding'];
  delete h.connection;
  res.writeHead(r.status, {...h, 'content-length': String(r.body.length)});
  res.end(r.body);
}

describe('registry client', {timeout: 180_000}, () => {
  let plain: TestRegistry;
  let basic: TestRegistry;
  let token: TestRegistry;
  let bb: BuiltImage;
  let bbDigest: string;
  let layer: {digest: string; size: number; bytes: Buffer};

  before(async () => {
    [plain, basic, token, bb] = await Promise.all([startRegistry(), startRegistry({auth: 'basic'}), startRegistry({auth: 'token'}), buildBusybox()]);
    bbDigest = await pushImage(bb.layoutDir, bb.ref, `${plain.host}/test/busybox:latest`, plain);
    await Promise.all([
      pushImage(bb.layoutDir, bb.ref, `${basic.host}/test/busybox:latest`, basic),
      pushImage(bb.layoutDir, bb.ref, `${token.host}/test/busybox:latest`, token),
    ]);
    const l = bb.layers[0];
    layer = {digest: l.digest, size: l.size, bytes: readBlob(bb.layoutDir, l.digest)};
  });

  after(async () => {
    await Promise.all([plain, basic, token].filter(Boolean).map((r) => r.stop()));
  });

  describe('plain HTTP (insecure)', () => {
    it('reads a manifest by tag and by digest, and its blobs', async () => {
      const c = client(plain);
      try {
        await c.ping();
        const byTag = await c.getManifest('test/busybox', 'latest', ACCEPT);
        assert.equal(byTag.digest, bbDigest);
        assert.equal(byTag.digest, bb.manifest.digest, 'the registry serves the bytes skopeo pushed unchanged');
        assert.equal(byTag.mediaType, 'application/vnd.oci.image.manifest.v1+json');
        assert.equal(sha256(byTag.bytes), byTag.digest);
        const byDigest = await c.getManifest('test/busybox', bbDigest, ACCEPT);
        assert.deepEqual(byDigest.bytes, byTag.bytes);

        const config = await readAll(c.openBlob('test/busybox', bb.config.digest, bb.config.size));
        assert.equal(JSON.parse(config.toString()).rootfs.diff_ids[0], bb.layers[0].diffId);
        const blob = await readAll(c.openBlob('test/busybox', layer.digest, layer.size));
        assert.ok(blob.equals(layer.bytes));
        // Without an expected size the digest alone is checked.
        assert.ok((await readAll(c.openBlob('test/busybox', layer.digest))).equals(layer.bytes));

        assert.equal(await c.blobExists('test/busybox', layer.digest), true);
        assert.equal(await c.blobExists('test/busybox', sha256(Buffer.from('nope'))), false);
      } finally {
        await c.close();
      }
    });

    it('reads an OCI index pushed with --all', async () => {
      const mp = await buildMultiPlatform();
      const pushed = await pushImage(mp.layoutDir, mp.ref, `${plain.host}/test/multi:latest`, plain);
      const c = client(plain);
      try {
        const idx = await c.getManifest('test/multi', 'latest', ACCEPT);
        assert.equal(idx.digest, pushed);
        assert.equal(idx.mediaType, 'application/vnd.oci.image.index.v1+json');
        const doc = JSON.parse(idx.bytes.toString()) as {manifests: {digest: string; platform: {architecture: string}}[]};
        assert.deepEqual(doc.manifests.map((m) => `linux/${m.platform.architecture}`).sort(), [...MULTIPLATFORM.platforms].sort());
        const arm = doc.manifests.find((m) => m.platform.architecture === 'arm64')!;
        const armManifest = JSON.parse((await c.getManifest('test/multi', arm.digest, ACCEPT)).bytes.toString()) as {layers: {digest: string; size: number}[]};
        assert.equal(armManifest.layers.length, MULTIPLATFORM.layerCount['linux/arm64']);
        const tgz = await readAll(c.openBlob('test/multi', armManifest.layers[0].digest, armManifest.layers[0].size));
        assert.equal(sha256(tgz), armManifest.layers[0].digest);
      } finally {
        await c.close();
      }
    });

    it('reports a missing manifest like podman', async () => {
      const c = client(plain);
      try {
        await rejectsWith(c.getManifest('nope', 'latest', ACCEPT), 'not-found', new RegExp(`^reading manifest latest in ${plain.host}/nope: manifest unknown$`));
      } finally {
        await c.close();
      }
    });

    it('reports an unreachable registry', async () => {
      const c = client({host: '127.0.0.1:1'}, {retries: 0});
      try {
        await rejectsWith(c.ping(), 'registry', /^pinging container registry 127\.0\.0\.1:1: .*ECONNREFUSED/);
      } finally {
        await c.close();
      }
    });

    it('refuses plain HTTP unless the endpoint is insecure', async () => {
      const c = client(plain, {insecure: false, retries: 0});
      try {
        await rejectsWith(c.ping(), 'registry', new RegExp(`^pinging container registry ${plain.host}: `));
      } finally {
        await c.close();
      }
    });
  });

  describe('basic auth', () => {
    it('works with the right password', async () => {
      const c = client(basic, {credentials: {username: basic.username!, password: basic.password!}});
      try {
        await c.ping();
        const m = await c.getManifest('test/busybox', 'latest', ACCEPT);
        assert.equal(m.digest, bbDigest);
        assert.ok((await readAll(c.openBlob('test/busybox', layer.digest, layer.size))).equals(layer.bytes));
      } finally {
        await c.close();
      }
    });

    it('rejects a wrong password and anonymous access', async () => {
      const bad = client(basic, {credentials: {username: basic.username!, password: 'wrong'}});
      const anon = client(basic);
      try {
        await rejectsWith(bad.ping(), 'auth', /invalid username\/password/);
        await rejectsWith(bad.getManifest('test/busybox', 'latest', ACCEPT), 'auth', /^reading manifest latest in .*: invalid username\/password$/);
        await rejectsWith(anon.getManifest('test/busybox', 'latest', ACCEPT), 'auth', /: authentication required$/);
      } finally {
        await Promise.all([bad.close(), anon.close()]);
      }
    });
  });

  describe('token auth over TLS', () => {
    it('fetches a token with Basic credentials and reads the image', async () => {
      const c = client(token, {insecure: false, ca: token.caFile, credentials: {username: token.username!, password: token.password!}});
      try {
        await c.ping();
        const m = await c.getManifest('test/busybox', 'latest', ACCEPT);
        assert.equal(m.digest, bbDigest);
        assert.ok((await readAll(c.openBlob('test/busybox', layer.digest, layer.size))).equals(layer.bytes));
        // Another repository needs another scope: the cached token must not be reused blindly.
        await rejectsWith(c.getManifest('test/other', 'latest', ACCEPT), 'not-found', /manifest unknown|name unknown/);
      } finally {
        await c.close();
      }
    });

    it('uses an identity (refresh) token through the OAuth2 POST', async () => {
      const c = client(token, {insecure: false, ca: token.caFile, credentials: {identityToken: token.identityToken!}});
      try {
        assert.equal((await c.getManifest('test/busybox', 'latest', ACCEPT)).digest, bbDigest);
      } finally {
        await c.close();
      }
    });

    it('rejects bad credentials and anonymous access', async () => {
      const bad = client(token, {insecure: false, ca: token.caFile, credentials: {username: token.username!, password: 'nope'}});
      const anon = client(token, {insecure: false, ca: token.caFile});
      try {
        await rejectsWith(bad.ping(), 'auth', /invalid username\/password/);
        await rejectsWith(anon.getManifest('test/busybox', 'latest', ACCEPT), 'auth', /authentication required/);
      } finally {
        await Promise.all([bad.close(), anon.close()]);
      }
    });

    it('fails certificate verification without the CA', async () => {
      const c = client(token, {insecure: false, credentials: {username: token.username!, password: token.password!}, retries: 0});
      try {
        await rejectsWith(c.ping(), 'registry', /pinging container registry .*(certificate|self.signed|issuer)/i);
      } finally {
        await c.close();
      }
    });
  });

  describe('failures and recovery', () => {
    it('retries 5xx responses with backoff', async () => {
      let failures = 4;
      const proxy = await startServer((req, res) => {
        if (failures-- > 0) {
          res.writeHead(503, {'content-type': 'application/json'});
          res.end('{"errors":[{"code":"UNAVAILABLE","message":"service unavailable"}]}');
          return;
        }
        forward(plain.host, req).then((r) => relay(res, r), () => res.destroy());
      });
      try {
        const c = client(proxy, {retries: 5});
        const m = await c.getManifest('test/busybox', 'latest', ACCEPT);
        assert.equal(m.digest, bbDigest);
        await c.close();
        assert.equal(proxy.requests.filter((r) => r.url === '/v2/').length >= 4, true, 'the ping absorbed the 503s');

        failures = 10;
        const impatient = client(proxy, {retries: 1});
        await rejectsWith(impatient.ping(), 'registry', /service unavailable/);
        await impatient.close();
      } finally {
        await proxy.close();
      }
    });

    it('follows a blob redirect to another origin without forwarding Authorization', async () => {
      const blobPath = `/v2/test/busybox/blobs/${layer.digest}`;
      const seenAuth: (string | undefined)[] = [];
      const storage = await startServer((req, res) => {
        seenAuth.push(req.headers.authorization);
        const headers = {...req.headers};
        delete headers.authorization;
        forward(plain.host, req, headers, blobPath).then((r) => relay(res, r), () => res.destroy());
      });
      const front = await startServer((req, res) => {
        if (req.url === blobPath) {
          assert.ok(req.headers.authorization, 'the registry itself gets the credentials');
          return res.writeHead(307, {location: `http://${storage.host}/storage/blob?sig=x`}).end();
        }
        forward(basic.host, req).then((r) => relay(res, r), () => res.destroy());
      });
      try {
        const c = client(front, {credentials: {username: basic.username!, password: basic.password!}});
        assert.ok((await readAll(c.openBlob('test/busybox', layer.digest, layer.size))).equals(layer.bytes));
        await c.close();
        assert.deepEqual(seenAuth, [undefined]);
        assert.equal(storage.requests[0].url, '/storage/blob?sig=x');
      } finally {
        await Promise.all([front.close(), storage.close()]);
      }
    });

    it('does not retry other 4xx', async () => {
      const proxy = await startServer((req, res) => {
        if (req.url === '/v2/') return res.writeHead(200).end('{}');
        res.writeHead(400, {'content-type': 'application/json'});
        res.end('{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}');
      });
      try {
        const c = client(proxy, {retries: 3});
        await rejectsWith(c.getManifest('test/busybox', 'latest', ACCEPT), 'registry', /manifest invalid/);
        await c.close();
        assert.equal(proxy.requests.filter((r) => r.url.includes('/manifests/')).length, 1);
      } finally {
        await proxy.close();
      }
    });

    for (const honourRange of [true, false]) {
      it(`resumes a blob cut mid-stream (server ${honourRange ? 'honours' : 'ignores'} Range)`, async () => {
        let cuts = 2;
        const blobPath = `/v2/test/busybox/blobs/${layer.digest}`;
        const proxy = await startServer((req, res) => {
          const headers = {...req.headers};
          if (!honourRange) delete headers.range;
          forward(plain.host, req, headers).then(
            (r) => {
              if (req.url !== blobPath || cuts-- <= 0) return relay(res, r);
              // Announce the whole length, send a third, then drop the connection.
              const h = {...r.headers};
              delete h['transfer-encoding'];
              res.writeHead(r.status, {...h, 'content-length': String(r.body.length)});
              res.write(r.body.subarray(0, Math.floor(r.body.length / 3)), () => setTimeout(() => res.socket?.destroy(), 20));
            },
            () => res.destroy(),
          );
        });
        try {
          const c = client(proxy, {retries: 3});
          const got = await readAll(c.openBlob('test/busybox', layer.digest, layer.size));
          await c.close();
          assert.equal(got.length, layer.size);
          assert.ok(got.equals(layer.bytes));
          const blobReqs = proxy.requests.filter((r) => r.url === blobPath);
          assert.equal(blobReqs.length, 3);
          assert.equal(blobReqs[0].range, undefined);
          assert.match(blobReqs[1].range ?? '', /^bytes=\d+-$/);
          const from = blobReqs.slice(1).map((r) => Number(/^bytes=(\d+)-$/.exec(r.range ?? '')?.[1]));
          if (honourRange) assert.ok(from[1] > from[0], 'each resume starts further on');
          // Ignored Range: every response restarts at 0 and is cut at the same place, so the offset stays.
          else assert.equal(from[1], from[0]);
        } finally {
          await proxy.close();
        }
      });
    }

    it('gives up when the connection keeps dropping', async () => {
      const blobPath = `/v2/test/busybox/blobs/${layer.digest}`;
      const proxy = await startServer((req, res) => {
        forward(plain.host, req).then((r) => {
          if (req.url !== blobPath) return relay(res, r);
          res.writeHead(200, {'content-length': String(r.body.length)});
          res.write(r.body.subarray(0, 10), () => setTimeout(() => res.socket?.destroy(), 20));
        }, () => res.destroy());
      });
      try {
        const c = client(proxy, {retries: 2});
        await rejectsWith(readAll(c.openBlob('test/busybox', layer.digest, layer.size)), 'registry', /reading blob .*: /);
        await c.close();
        assert.equal(proxy.requests.filter((r) => r.url === blobPath).length, 3);
      } finally {
        await proxy.close();
      }
    });

    it('detects a wrong blob (digest mismatch) and an over-long one', async () => {
      const blobPath = `/v2/test/busybox/blobs/${layer.digest}`;
      let extra = 0;
      const proxy = await startServer((req, res) => {
        forward(plain.host, req).then((r) => {
          if (req.url !== blobPath) return relay(res, r);
          const body = Buffer.concat([r.body, Buffer.alloc(extra, 1)]);
          body[100] ^= 0xff; // same length, different bytes
          res.writeHead(200, {'content-length': String(body.length), 'docker-content-digest': layer.digest});
          res.end(body);
        }, () => res.destroy());
      });
      try {
        const c = client(proxy);
        const err = await rejectsWith(readAll(c.openBlob('test/busybox', layer.digest, layer.size)), 'digest-mismatch', /digest mismatch/);
        assert.ok(err.message.includes(layer.digest));
        extra = 5;
        await rejectsWith(readAll(c.openBlob('test/busybox', layer.digest, layer.size)), 'digest-mismatch', /larger than the expected/);
        await c.close();
      } finally {
        await proxy.close();
      }
    });

    it('detects a manifest that does not match the digest it was fetched by', async () => {
      const proxy = await startServer((req, res) => {
        forward(plain.host, req).then((r) => {
          if (!req.url?.includes('/manifests/')) return relay(res, r);
          relay(res, {...r, body: Buffer.from(r.body.toString().replace('"schemaVersion":2', '"schemaVersion": 2'))});
        }, () => res.destroy());
      });
      try {
        const c = client(proxy);
        await rejectsWith(c.getManifest('test/busybox', bbDigest, ACCEPT), 'digest-mismatch', /manifest digest mismatch/);
        await rejectsWith(c.getManifest('test/busybox', 'latest', ACCEPT), 'digest-mismatch', /Docker-Content-Digest/);
        await c.close();
      } finally {
        await proxy.close();
      }
    });

    it('fails in bounded time against a server that never answers', async () => {
      const sockets = new Set<net.Socket>();
      const silent = net.createServer((s) => {
        sockets.add(s);
        s.on('error', () => {});
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const host = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
      try {
        const c = client({host}, {insecure: false, retries: 1, timeoutMs: 300});
        const t0 = Date.now();
        await rejectsWith(c.ping(), 'registry', /pinging container registry .*timed out/);
        assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
        await c.close();
      } finally {
        for (const s of sockets) s.destroy();
        silent.close();
      }
    });

    it('fails in bounded time when a blob stalls mid-body', async () => {
      const blobPath = `/v2/test/busybox/blobs/${layer.digest}`;
      const proxy = await startServer((req, res) => {
        forward(plain.host, req).then((r) => {
          if (req.url !== blobPath) return relay(res, r);
          res.writeHead(200, {'content-length': String(r.body.length)});
          res.write(r.body.subarray(0, 1000)); // ...and nothing more
        }, () => res.destroy());
      });
      try {
        const c = client(proxy, {retries: 1, timeoutMs: 300});
        const t0 = Date.now();
        await rejectsWith(readAll(c.openBlob('test/busybox', layer.digest, layer.size)), 'registry', /timed out reading the response body/);
        assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
        assert.equal(proxy.requests.filter((r) => r.url === blobPath).length, 2, 'one resume attempt');
        await c.close();
      } finally {
        await proxy.close();
      }
    });

    it('rejects schema1 manifests', async () => {
      const schema1 = JSON.stringify({schemaVersion: 1, name: 'old/image', tag: 'latest', architecture: 'amd64', fsLayers: [], history: []});
      let contentType = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
      const srv = await startServer((req, res) => {
        if (req.url === '/v2/') return res.writeHead(200, {'content-type': 'application/json'}).end('{}');
        res.writeHead(200, {'content-type': contentType, 'content-length': String(Buffer.byteLength(schema1))});
        res.end(schema1);
      });
      try {
        const c = client(srv);
        await rejectsWith(c.getManifest('old/image', 'latest', ACCEPT), 'unsupported', /schema1 manifests are not supported/);
        contentType = 'application/json'; // a vague registry: detected from the body
        await rejectsWith(c.getManifest('old/image', 'latest', ACCEPT), 'unsupported', /schema1 manifests are not supported/);
        await c.close();
      } finally {
        await srv.close();
      }
    });
  });
});
