/**
 * The container's environment, merged as podman does
 * (pkg/specgen/generate/container.go and libpod): built-in defaults (PATH,
 * container=podman), then the image's Env, then TERM=xterm for a terminal
 * when nothing set TERM, then the user's -e/--env-file values; HOSTNAME and
 * HOME are added last, only when still unset. Later values replace earlier
 * ones but keep the first position.
 */

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface EnvInput {
  imageEnv: readonly string[];
  userEnv: readonly string[];
  tty: boolean;
  hostname: string;
  home: string;
}

function put(map: Map<string, string>, entry: string): void {
  const i = entry.indexOf('=');
  if (i <= 0) return; // "NAME" alone was resolved (or dropped) by resolveEnv before it got here
  map.set(entry.slice(0, i), entry.slice(i + 1));
}

export function buildEnv(input: EnvInput): string[] {
  const env = new Map<string, string>([
    ['PATH', DEFAULT_PATH],
    ['container', 'podman'],
  ]);
  for (const e of input.imageEnv) put(env, e);
  if (input.tty && !env.has('TERM')) env.set('TERM', 'xterm');
  for (const e of input.userEnv) put(env, e);
  if (!env.has('HOSTNAME') && input.hostname) env.set('HOSTNAME', input.hostname);
  if (!env.has('HOME')) env.set('HOME', input.home || '/');
  return [...env].map(([k, v]) => `${k}=${v}`);
}
