/**
 * The command-line parser: pflag's (podman's) rules over the definitions in
 * params.ts. A pure function, table-tested in test/unit/cli/parse.test.ts.
 *
 * - `--name VALUE`, `--name=VALUE`, `-n VALUE`, `-nVALUE`, `-n=VALUE`;
 *   boolean clusters `-it`, ending in a value flag: `-itp 80`.
 * - An option flag takes the next argument whatever it looks like (`-n -1`),
 *   except another of the command's flags, which means the value is missing.
 * - A repeated single-value flag: the last one wins (pflag). Repeatable flags
 *   take exactly one value per use.
 * - Booleans: `--x`, `--no-x` (allowNo); `--x=true|false` is rewritten to
 *   those forms by argv.ts before this runs.
 * - `--` ends the flags; everything after it is positional.
 * Errors are SkiffErrors of kind invalid-input (exit 125), one line each,
 * worded as oclif's were ("Nonexistent flag: --x").
 */
import {invalidInput} from '../lib/util/errors';
import type {ArgDef, FlagDef, OptionFlag} from './params';

export interface ParseInput {
  flags: Record<string, FlagDef | undefined>;
  args?: Record<string, ArgDef | undefined>;
  /** false: extra positional arguments are allowed (returned in argv). */
  strict?: boolean;
}

export interface ParseOutput {
  flags: Record<string, unknown>;
  args: Record<string, string | undefined>;
  /** Every positional argument, in order (the named args included). */
  argv: string[];
}

export function parseCommandLine(argv: readonly string[], input: ParseInput): ParseOutput {
  const defs = Object.entries(input.flags).filter((e): e is [string, FlagDef] => e[1] !== undefined);
  const long = new Map(defs);
  const short = new Map<string, [string, FlagDef]>();
  for (const [name, f] of defs) if (f.char) short.set(f.char, [name, f]);

  const values: Record<string, unknown> = {};
  const positional: string[] = [];
  const unknown: string[] = [];

  const isFlag = (a: string): boolean => {
    if (a.startsWith('--')) {
      const n = a.slice(2).split('=')[0];
      return long.has(n) || (n.startsWith('no-') && long.get(n.slice(3))?.type === 'boolean');
    }
    return a.length === 2 && a[0] === '-' && short.has(a[1]);
  };

  const setOption = (name: string, f: OptionFlag<unknown>, raw: string | undefined) => {
    if (raw === undefined) {
      if (f.options) throw invalidInput(`Flag --${name} expects one of these values: ${f.options.join(', ')}`);
      throw invalidInput(`Flag --${name} expects a value`);
    }
    if (f.options && !f.options.includes(raw)) throw invalidInput(`Expected --${name}=${raw} to be one of: ${f.options.join(', ')}`);
    let v: string | number = raw;
    if (f.kind === 'integer') {
      if (!/^-?\d+$/.test(raw.trim())) throw invalidInput(`Expected an integer but received: ${raw}`);
      v = Number.parseInt(raw, 10);
      if (f.min !== undefined && v < f.min) throw invalidInput(`Expected an integer greater than or equal to ${f.min} but received: ${raw}`);
      if (f.max !== undefined && v > f.max) throw invalidInput(`Expected an integer less than or equal to ${f.max} but received: ${raw}`);
    }
    if (f.multiple) ((values[name] ??= []) as unknown[]).push(v);
    else values[name] = v;
  };

  let i = 0;
  const next = (): string | undefined => {
    const a = argv[i + 1];
    if (a === undefined || isFlag(a)) return undefined;
    i++;
    return a;
  };

  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-' || !a.startsWith('-')) {
      positional.push(a);
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const f = long.get(name);
      if (f?.type === 'option') {
        setOption(name, f, eq < 0 ? next() : a.slice(eq + 1));
        continue;
      }
      if (f?.type === 'boolean') {
        if (eq >= 0) throw invalidInput(`invalid argument "${a.slice(eq + 1)}" for "--${name}" flag: expected true or false`);
        values[name] = true;
        continue;
      }
      const neg = name.startsWith('no-') ? long.get(name.slice(3)) : undefined;
      if (eq < 0 && neg?.type === 'boolean' && neg.allowNo) {
        values[name.slice(3)] = false;
        continue;
      }
      unknown.push(eq < 0 ? a : a.slice(0, eq));
      continue;
    }
    // A short cluster: booleans, then at most one option flag taking the rest.
    if (/^-\d/.test(a) && !short.has(a[1])) {
      positional.push(a); // a negative number
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const hit = short.get(a[j]);
      if (!hit) {
        unknown.push(`-${a[j]}`);
        break;
      }
      const [name, f] = hit;
      if (f.type === 'boolean') {
        if (a[j + 1] === '=') throw invalidInput(`invalid argument "${a.slice(j + 2)}" for "-${a[j]}" flag: expected no value`);
        values[name] = true;
        continue;
      }
      const rest = a.slice(j + 1);
      setOption(name, f, rest === '' ? next() : rest.startsWith('=') ? rest.slice(1) : rest);
      break;
    }
  }

  if (unknown.length) throw invalidInput(`Nonexistent flag${unknown.length === 1 ? '' : 's'}: ${unknown.join(', ')}`);

  for (const [name, f] of defs) {
    if (values[name] !== undefined) continue;
    if (f.env && process.env[f.env] !== undefined) {
      const raw = process.env[f.env] as string;
      if (f.type === 'boolean') values[name] = /^(1|true|t|yes)$/i.test(raw);
      else setOption(name, f, raw);
      continue;
    }
    if (f.default !== undefined) values[name] = Array.isArray(f.default) ? [...f.default] : f.default;
    else if (f.required) throw invalidInput(`Missing required flag --${name}`);
  }

  const argDefs = Object.entries(input.args ?? {}).filter((e): e is [string, ArgDef] => e[1] !== undefined);
  const args: Record<string, string | undefined> = {};
  const missing: string[] = [];
  argDefs.forEach(([name, d], k) => {
    const v = positional[k];
    if (v === undefined) {
      if (d.default !== undefined) args[name] = d.default;
      else if (d.required) missing.push(name);
      return;
    }
    if (d.options && !d.options.includes(v)) throw invalidInput(`Expected ${v} to be one of: ${d.options.join(', ')}`);
    args[name] = v;
  });
  if (missing.length) throw invalidInput(`Missing ${missing.length} required arg${missing.length === 1 ? '' : 's'}: ${missing.join(', ')}`);
  if (input.strict !== false && positional.length > argDefs.length) {
    const extra = positional.slice(argDefs.length);
    throw invalidInput(`Unexpected argument${extra.length === 1 ? '' : 's'}: ${extra.join(', ')}`);
  }
  return {flags: values, args, argv: positional};
}
