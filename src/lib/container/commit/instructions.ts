/**
 * `commit --change` instructions (the Dockerfile subset podman accepts
 * there): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME,
 * WORKDIR. Pure: an image config's `config` object in, a new one out.
 */
import {invalidInput} from '../../util/errors';
import type {ImageConfig} from '../../image/manifest';

export type RunConfig = NonNullable<ImageConfig['config']>;

const SUPPORTED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'];

/** A JSON array of strings (exec form), or undefined when the text is not one. */
function jsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* shell form */
  }
  return undefined;
}

/** Split on unquoted whitespace, honouring "..." and '...' and backslash escapes. */
export function splitWords(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      any = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      cur += text[++i];
      any = true;
    } else if (/\s/.test(ch)) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += ch;
      any = true;
    }
  }
  if (quote) throw invalidInput(`unterminated quote in ${JSON.stringify(text)}`);
  if (cur || any) out.push(cur);
  return out;
}

/** KEY=VALUE pairs (several per line), or the legacy "KEY VALUE..." form. */
function pairs(args: string, what: string): Array<[string, string]> {
  const words = splitWords(args);
  if (words.length === 0) throw invalidInput(`${what} requires at least one argument`);
  if (!words[0].includes('=')) {
    const sp = args.trim().search(/\s/);
    if (sp < 0) throw invalidInput(`${what} ${args}: needs a value (${what} KEY=VALUE)`);
    const rest = splitWords(args.trim().slice(sp)).join(' ');
    return [[words[0], rest]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw invalidInput(`${what} ${w}: expected KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function command(args: string): string[] {
  return jsonArray(args.trim()) ?? ['/bin/sh', '-c', args.trim()];
}

/** Apply one instruction ("CMD [\"sh\"]", "ENV A=1", "EXPOSE 80/tcp 53/udp", ...). */
export function applyChange(config: RunConfig, change: string): RunConfig {
  const m = /^\s*([A-Za-z]+)(?:\s+|=)?([\s\S]*)$/.exec(change);
  if (!m) throw invalidInput(`invalid change "${change}"`);
  const op = m[1].toUpperCase();
  const args = m[2].trim();
  if (!SUPPORTED.includes(op)) throw invalidInput(`invalid change "${change}" - invalid instruction ${op}`);
  if (args === '') throw invalidInput(`invalid change "${change}": ${op} requires an argument`);
  const c: RunConfig = {...config};
  switch (op) {
    case 'CMD':
      c.Cmd = command(args);
      break;
    case 'ENTRYPOINT':
      c.Entrypoint = command(args);
      break;
    case 'ENV': {
      const env = [...(c.Env ?? [])];
      for (const [k, v] of pairs(args, 'ENV')) {
        const i = env.findIndex((e) => e.split('=')[0] === k);
        if (i >= 0) env[i] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      }
      c.Env = env;
      break;
    }
    case 'LABEL': {
      const labels = {...(c.Labels ?? {})};
      for (const [k, v] of pairs(args, 'LABEL')) labels[k] = v;
      c.Labels = labels;
      break;
    }
    case 'EXPOSE': {
      const ports = {...(c.ExposedPorts ?? {})};
      for (const p of splitWords(args)) {
        const pm = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
        if (!pm) throw invalidInput(`invalid change "${change}": invalid port ${p}`);
        const proto = (pm[3] ?? 'tcp').toLowerCase();
        const lo = Number(pm[1]);
        const hi = pm[2] ? Number(pm[2]) : lo;
        if (lo < 1 || hi > 65535 || hi < lo) throw invalidInput(`invalid change "${change}": invalid port ${p}`);
        for (let n = lo; n <= hi; n++) ports[`${n}/${proto}`] = {};
      }
      c.ExposedPorts = ports;
      break;
    }
    case 'VOLUME': {
      const vols = {...(c.Volumes ?? {})};
      for (const v of jsonArray(args) ?? splitWords(args)) {
        if (!v.startsWith('/')) throw invalidInput(`invalid change "${change}": volume ${v} is not an absolute path`);
        vols[v] = {};
      }
      c.Volumes = vols;
      break;
    }
    case 'STOPSIGNAL':
      c.StopSignal = args;
      break;
    case 'USER':
      c.User = args;
      break;
    case 'WORKDIR':
      c.WorkingDir = args.startsWith('/') ? args : `${(c.WorkingDir ?? '/').replace(/\/?$/, '/')}${args}`;
      break;
  }
  return c;
}
