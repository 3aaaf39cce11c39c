/**
 * login / logout: credentials are verified against the registry (GET /v2/
 * with the auth challenge completed) before they are saved, as podman does.
 */
import type {Paths} from '../state/paths';
import {loadRegistriesConf, isInsecureHost} from './registries-conf';
import {readCredentials, removeAllCredentials, removeCredentials, saveCredentials, normalizeAuthKey} from './auth-file';
import {tlsFor} from './certs';
import {invalidInput, notFound} from '../util/errors';

export interface LoginOptions {
  registry: string;
  username: string;
  password: string;
  authfile?: string;
  certDir?: string;
  tlsVerify?: boolean;
}

/** "host[:port][/path]" with docker.io's aliases folded; the key credentials are stored under. */
export function loginKey(registry: string): string {
  const key = normalizeAuthKey(registry.replace(/^docker:\/\//, ''));
  if (key.includes('@') || /:[^/]*\/?$/.test(key.split('/').slice(1).join('/'))) throw invalidInput(`login: "${registry}" must be a registry or repository, without tag or digest`);
  return key;
}

export async function login(paths: Paths, opts: LoginOptions): Promise<string> {
  const key = loginKey(opts.registry);
  const host = key.split('/')[0];
  const endpoint = host === 'docker.io' ? 'registry-1.docker.io' : host;
  let insecure = opts.tlsVerify === false;
  if (opts.tlsVerify === undefined) {
    insecure = isInsecureHost(loadRegistriesConf(paths), host);
  }
  const {RegistryClient} = await import('./registry');
  const client = new RegistryClient(
    {host: endpoint, insecure, tls: tlsFor(endpoint, {paths, certDir: opts.certDir})},
    {credentials: {username: opts.username, password: opts.password}},
  );
  try {
    await client.ping();
  } finally {
    await client.close();
  }
  await saveCredentials(key, {username: opts.username, password: opts.password}, {paths, authfile: opts.authfile});
  return key;
}

export async function logout(paths: Paths, registry: string, authfile?: string): Promise<void> {
  const key = loginKey(registry);
  if (!(await removeCredentials(key, {paths, authfile}))) {
    if (readCredentials(key, {paths})) {
      throw notFound(`not logged into ${key} with the current auth file; the credentials found come from another file (e.g. ~/.docker/config.json)`);
    }
    throw notFound(`not logged into ${key}`);
  }
}

export async function logoutAll(paths: Paths, authfile?: string): Promise<number> {
  return removeAllCredentials({paths, authfile});
}

export function currentLogin(paths: Paths, registry: string, authfile?: string): string | undefined {
  const c = readCredentials(loginKey(registry), {paths, authfile});
  return c && 'username' in c ? c.username : undefined;
}
