/**
 * A registry that misbehaves on purpose, for the fault suite. Plain HTTP on
 * 127.0.0.1, random port. The repository name picks the misbehaviour:
 *
 *   good          a valid one-layer image (the control)
 *   hang          manifest request accepted, never answered
 *   reset         connection reset on the manifest request
 *   error500      always 500
 *   garbage       200 with a body that is not JSON
 *   notmanifest   JSON that is not a manifest
 *   hugemanifest  an endless manifest body
 *   badconfig     config blob whose bytes do not match its digest
 *   shortlayer    layer blob shorter than its descriptor's size
 *   longlayer     layer blob longer than its descriptor's size
 *   badlayer      layer blob of the right size with the wrong bytes
 *   notgzip       layer blob matching its digest that is not a tar at all
 *   stall         layer blob that sends a few bytes, then nothing
 *   badheader     manifest with a Docker-Content-Digest header that lies
 */
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import {createHash, randomBytes} from 'node:crypto';
import type {AddressInfo} from 'node:net';
import {buildTar} from '../unit/storage/unpack/tar-fixture';
import {HOST_ARCH} from './images';

export const MODES = ['hang', 'reset', 'error500', 'garbage', 'notmanifest', 'hugemanifest', 'badconfig', 'shortlayer', 'longlayer', 'badlayer', 'notgzip', 'stall', 'badheader'] as const;

export interface HostileRegistry {
  host: string;
  close(): Promise<void>;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function hostileRegistry(): Promise<HostileRegistry> {
  const tar = buildTar([{name: 'hello', data: 'hello from a hostile registry\n'}]);
  const layer = zlib.gzipSync(tar);
  const junk = randomBytes(layer.length);
  const config = Buffer.from(JSON.stringify({architecture: HOST_ARCH, os: 'linux', config: {Cmd: ['/hello']}, rootfs: {type: 'layers', diff_ids: [sha(tar)]}}));
  const manifestFor = (layerBlob: Buffer, size = layerBlob.length) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length},
        layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layerBlob), size}],
      }),
    );
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/' || url === '/v2') {
      res.writeHead(200, {'Content-Type': 'application/json'}).end('{}');
      return;
    }
    const m = /^\/v2\/([^/]+)\/(manifests|blobs)\/(.+)$/.exec(url);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const [, mode, kind, ref] = m;
    const layerBlob = mode === 'notgzip' ? junk : layer;
    const manifest = manifestFor(layerBlob);
    const send = (body: Buffer, type = 'application/octet-stream', extra: Record<string, string> = {}) => {
      res.writeHead(200, {'Content-Type': type, 'Content-Length': String(body.length), ...extra});
      if (req.method === 'HEAD') res.end();
      else res.end(body);
    };
    if (kind === 'manifests') {
      switch (mode) {
        case 'hang':
          return; // never answer
        case 'reset':
          req.socket.destroy();
          return;
        case 'error500':
          res.writeHead(500).end('{"errors":[{"code":"UNKNOWN","message":"boom"}]}');
          return;
        case 'garbage':
          send(Buffer.from('{this is not json at all'), 'application/vnd.oci.image.manifest.v1+json');
          return;
        case 'notmanifest':
          send(Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":42,"layers":"none"}'), 'application/vnd.oci.image.manifest.v1+json');
          return;
        case 'hugemanifest': {
          res.writeHead(200, {'Content-Type': 'application/vnd.oci.image.manifest.v1+json'});
          const chunk = Buffer.alloc(1 << 16, 0x20);
          const pump = () => {
            while (res.write(chunk)) {
              if (res.destroyed) return;
            }
            res.once('drain', pump);
          };
          res.on('close', () => res.removeAllListeners('drain'));
          pump();
          return;
        }
        case 'badheader':
          send(manifest, 'application/vnd.oci.image.manifest.v1+json', {'Docker-Content-Digest': sha(Buffer.from('something else'))});
          return;
        default:
          send(manifest, 'application/vnd.oci.image.manifest.v1+json', {'Docker-Content-Digest': sha(manifest)});
          return;
      }
    }
    // blobs
    if (ref === sha(config)) {
      if (mode === 'badconfig') send(Buffer.from(config.toString().replace('"os":"linux"', '"os":"linux","x":1')));
      else send(config);
      return;
    }
    if (ref === sha(layerBlob)) {
      switch (mode) {
        case 'shortlayer':
          res.writeHead(200, {'Content-Type': 'application/octet-stream', 'Content-Length': String(layerBlob.length)});
          res.write(layerBlob.subarray(0, layerBlob.length >> 1));
          setTimeout(() => req.socket.destroy(), 50);
          return;
        case 'longlayer':
          send(Buffer.concat([layerBlob, randomBytes(4096)]));
          return;
        case 'badlayer':
          send(randomBytes(layerBlob.length));
          return;
        case 'stall':
          res.writeHead(200, {'Content-Type': 'application/octet-stream', 'Content-Length': String(layerBlob.length)});
          res.write(layerBlob.subarray(0, 10));
          return; // and nothing more
        default:
          send(layerBlob);
          return;
      }
    }
    res.writeHead(404, {'Content-Type': 'application/json'}).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
