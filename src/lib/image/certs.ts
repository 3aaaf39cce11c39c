/**
 * Per-registry TLS material from certs.d directories, laid out as
 * containers-certs.d(5) and containers/image describe:
 *
 *   <certs.d>/<host[:port]>/*.crt           extra CA certificates
 *   <certs.d>/<host[:port]>/<name>.cert     client certificate, needs <name>.key
 *   <certs.d>/<host[:port]>/<name>.key      its key, needs <name>.cert
 *
 * The first of Paths.certsDirs() that has a <host[:port]> subdirectory is
 * used (only that one); Docker Hub's is "docker.io" even when the caller
 * names its API host registry-1.docker.io. An explicit certDir (--cert-dir) replaces the search
 * and is itself the directory holding the files.
 *
 * The .crt CAs extend the default trust store rather than replace it, as Go's
 * system pool does: when there are any, `ca` holds Node's default root
 * certificates followed by them, ready to pass as the `ca` TLS option.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import {X509Certificate, createPrivateKey} from 'node:crypto';
import type {Paths} from '../state/paths';
import {errnoCode, invalidInput, messageOf} from '../util/errors';
import {log} from '../util/log';

export interface TlsMaterial {
  ca?: Buffer[];
  cert?: Buffer;
  key?: Buffer;
}

export interface TlsOptions {
  paths: Paths;
  /** --cert-dir: the directory with the .crt/.cert/.key files (no host subdirectory). */
  certDir?: string;
}

function exists(p: string): boolean {
  try {
    fs.statSync(p);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    if (code === 'EACCES') {
      log.debug(`skipping certificate directory ${p}: permission denied`);
      return false;
    }
    throw invalidInput(`checking certificate directory ${p}: ${messageOf(err)}`, err);
  }
}

/** The directory to read for hostPort, or undefined when none exists. */
export function certDirFor(hostPort: string, opts: TlsOptions): string | undefined {
  if (opts.certDir) return opts.certDir;
  if (hostPort === '' || hostPort.includes('/') || hostPort === '.' || hostPort === '..') {
    throw invalidInput(`invalid registry host ${JSON.stringify(hostPort)} for certificate lookup`);
  }
  // containers/image reads Docker Hub's material from certs.d/docker.io, whatever API host serves it.
  const name = hostPort === 'registry-1.docker.io' ? 'docker.io' : hostPort;
  for (const dir of opts.paths.certsDirs()) {
    const candidate = path.join(dir, name);
    if (exists(candidate)) return candidate;
  }
  return undefined;
}

function read(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw invalidInput(`reading ${file}: ${messageOf(err)}`, err);
  }
}

/**
 * The CAs of $NODE_EXTRA_CA_CERTS. bin/skiff moves that variable to
 * SKIFF_EXTRA_CA_CERTS before starting Node, because Node parses the file
 * at every start-up (~40 ms here, for commands that never open a TLS
 * connection); registry connections add the CAs back here, so they trust
 * exactly what Node would have trusted.
 */
let extraCas: Buffer[] | undefined;
function extraCaCerts(): Buffer[] {
  if (extraCas) return extraCas;
  const file = process.env.SKIFF_EXTRA_CA_CERTS;
  extraCas = [];
  if (!file) return extraCas;
  try {
    const text = fs.readFileSync(file, 'utf8');
    extraCas = (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => Buffer.from(pem));
  } catch (err) {
    log.warn(`ignoring extra CA certificates ${file}: ${messageOf(err)}`); // Node itself only warns too
  }
  return extraCas;
}

/** TLS material for a registry host[:port]; {} when neither a certs.d directory nor extra CAs apply. */
export function tlsFor(hostPort: string, opts: TlsOptions): TlsMaterial {
  const out = tlsFromCertDir(hostPort, opts);
  const extra = extraCaCerts();
  if (extra.length > 0) out.ca = [...(out.ca ?? tls.rootCertificates.map((pem) => Buffer.from(pem))), ...extra];
  return out;
}

function tlsFromCertDir(hostPort: string, opts: TlsOptions): TlsMaterial {
  const dir = certDirFor(hostPort, opts);
  if (dir === undefined) return {};
  let names: string[];
  try {
    names = fs
      .readdirSync(dir, {withFileTypes: true})
      .filter((e) => !e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return {};
    if (code === 'EACCES') {
      log.debug(`skipping certificate directory ${dir}: permission denied`);
      return {};
    }
    throw invalidInput(`reading certificate directory ${dir}: ${messageOf(err)}`, err);
  }
  const present = new Set(names);
  const cas: Buffer[] = [];
  const pairs: Array<{cert: string; key: string}> = [];
  for (const name of names) {
    if (name.endsWith('.crt')) {
      cas.push(read(path.join(dir, name)));
    } else if (name.endsWith('.cert')) {
      const key = name.slice(0, -'.cert'.length) + '.key';
      if (!present.has(key)) {
        throw invalidInput(`missing key ${key} for client certificate ${path.join(dir, name)} (CA certificates use the extension .crt)`);
      }
      pairs.push({cert: name, key});
    } else if (name.endsWith('.key')) {
      const cert = name.slice(0, -'.key'.length) + '.cert';
      if (!present.has(cert)) throw invalidInput(`missing client certificate ${cert} for key ${path.join(dir, name)}`);
    }
  }
  const out: TlsMaterial = {};
  if (cas.length > 0) out.ca = [...tls.rootCertificates.map((pem) => Buffer.from(pem)), ...cas];
  if (pairs.length > 0) {
    const [first, ...rest] = pairs;
    if (rest.length > 0) {
      log.warn(`${dir}: several client certificates; using ${first!.cert} and ignoring ${rest.map((p) => p.cert).join(', ')}`);
    }
    const cert = read(path.join(dir, first!.cert));
    const key = read(path.join(dir, first!.key));
    checkPair(path.join(dir, first!.cert), cert, path.join(dir, first!.key), key);
    out.cert = cert;
    out.key = key;
  }
  return out;
}

/** Fail early, naming the files, rather than with an opaque handshake error. */
function checkPair(certFile: string, cert: Buffer, keyFile: string, key: Buffer): void {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw invalidInput(`client certificate ${certFile} is not a PEM certificate: ${messageOf(err)}`, err);
  }
  let pkey;
  try {
    pkey = createPrivateKey(key);
  } catch (err) {
    throw invalidInput(`client key ${keyFile} is not a PEM private key: ${messageOf(err)}`, err);
  }
  if (!x509.checkPrivateKey(pkey)) throw invalidInput(`client key ${keyFile} does not match certificate ${certFile}`);
}
