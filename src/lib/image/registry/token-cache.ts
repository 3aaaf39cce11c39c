/**
 * Process-wide cache of bearer tokens, keyed by realm, service, scope and the
 * identity that asked for them, so concurrent pulls of the same repository
 * share one token request and a token never leaks to another identity.
 * Entries expire `expires_in` seconds after issue (60 s when the server does
 * not say, as the token spec requires), minus a safety margin.
 */

interface Entry {
  token: Promise<string>;
  value?: string; // set once the request has completed
  expiresAt: number; // ms since epoch; Infinity while the request is in flight
}

const cache = new Map<string, Entry>();

/** Margin before real expiry at which a cached token is no longer handed out. */
const MARGIN_MS = 5_000;

export function tokenKey(parts: {realm: string; service: string; scopes: string[]; identity: string}): string {
  return JSON.stringify([parts.realm, parts.service, [...parts.scopes].sort(), parts.identity]);
}

export interface IssuedToken {
  token: string;
  expiresInSec: number;
}

/** The cached token for `key`, or the result of `fetch` (shared by concurrent callers). */
export async function cachedToken(key: string, fetch: () => Promise<IssuedToken>, now: () => number = Date.now): Promise<string> {
  const hit = cache.get(key);
  if (hit && hit.expiresAt > now()) return hit.token;
  const entry: Entry = {token: Promise.resolve(''), expiresAt: Infinity};
  entry.token = fetch().then(
    (t) => {
      const lifetimeMs = Math.max(t.expiresInSec, 60) * 1000;
      entry.expiresAt = now() + Math.max(lifetimeMs - MARGIN_MS, lifetimeMs / 2);
      entry.value = t.token;
      return t.token;
    },
    (err) => {
      if (cache.get(key) === entry) cache.delete(key);
      throw err;
    },
  );
  cache.set(key, entry);
  return entry.token;
}

/** Drop a token the registry rejected so the next request fetches a new one. */
export function invalidateToken(key: string, token?: string): void {
  const hit = cache.get(key);
  if (!hit) return;
  // Only drop the entry holding the rejected token; a newer one stays.
  if (token === undefined || hit.value === token) cache.delete(key);
}

/** For tests: forget every token. */
export function clearTokenCache(): void {
  cache.clear();
}
