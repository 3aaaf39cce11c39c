/**
 * Argument normalisation so podman's (pflag's) command lines parse the same
 * way under oclif. Pure functions, table-tested in test/unit/cli/argv.test.ts.
 *
 * - Global flags may come before the command: `skiff --root /x images`.
 * - `--bool=false` / `--bool=true` (pflag) become `--no-bool` / `--bool`.
 * - Commands that run another program (run, create, exec) stop parsing flags
 *   at the first positional argument, so `skiff run img ls -la` passes -la to
 *   ls: a `--` is inserted there.
 */

export interface FlagShape {
  name: string;
  char?: string;
  boolean: boolean;
  allowNo?: boolean;
}

function byLong(flags: FlagShape[]): Map<string, FlagShape> {
  return new Map(flags.map((f) => [f.name, f]));
}

function byChar(flags: FlagShape[]): Map<string, FlagShape> {
  const m = new Map<string, FlagShape>();
  for (const f of flags) if (f.char) m.set(f.char, f);
  return m;
}

/** Rewrite pflag-style boolean values; leaves everything after `--` alone. */
export function normalizeBooleans(argv: string[], flags: FlagShape[]): string[] {
  const long = byLong(flags);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^--([^=]+)=(.*)$/.exec(a);
    const f = m ? long.get(m[1]) : undefined;
    if (m && f?.boolean) {
      const v = m[2].toLowerCase();
      if (v === 'true' || v === '1' || v === 't') out.push(`--${f.name}`);
      else if (v === 'false' || v === '0' || v === 'f') out.push(f.allowNo ? `--no-${f.name}` : `--${f.name}=false`);
      else out.push(a); // let the parser report it
      continue;
    }
    out.push(a);
  }
  return out;
}

/** Index of the first positional argument, skipping flags and their values; -1 if none. */
export function firstPositional(argv: string[], flags: FlagShape[]): number {
  const long = byLong(flags);
  const chars = byChar(flags);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return -1;
    if (a === '-' || !a.startsWith('-')) return i;
    if (a.startsWith('--')) {
      if (a.includes('=')) continue;
      const name = a.slice(2);
      const f = long.get(name) ?? (name.startsWith('no-') ? long.get(name.slice(3)) : undefined);
      if (f && !f.boolean) i++; // its value
      continue;
    }
    // short cluster: -it, -p8080:80, -e FOO
    for (let j = 1; j < a.length; j++) {
      const f = chars.get(a[j]);
      if (!f) break;
      if (!f.boolean) {
        if (j === a.length - 1) i++; // value is the next argument
        break;
      }
    }
  }
  return -1;
}

/** Insert `--` before the first positional argument (non-interspersed commands). */
export function stopAtFirstPositional(argv: string[], flags: FlagShape[]): string[] {
  const i = firstPositional(argv, flags);
  if (i < 0) return argv;
  return [...argv.slice(0, i), '--', ...argv.slice(i)];
}

/**
 * Split the process argv into leading global flags, the command id words and
 * the rest. `ids` is the set of command ids ("image:ls" style); the longest
 * match of leading words wins. Global flags found before the command are
 * put first in the command's own argv, before anything a non-interspersed
 * command would pass through to the container.
 */
export function splitCommand(
  argv: string[],
  ids: ReadonlySet<string>,
  globals: FlagShape[],
): {id?: string; argv: string[]} {
  const long = byLong(globals);
  const lead: string[] = [];
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-') && argv[i] !== '--') {
    const a = argv[i];
    const name = a.startsWith('--') ? a.slice(2).split('=')[0] : undefined;
    const f = name ? long.get(name) : undefined;
    if (!f) break;
    lead.push(a);
    if (!f.boolean && !a.includes('=') && i + 1 < argv.length) lead.push(argv[++i]);
    i++;
  }
  const words: string[] = [];
  for (let j = i; j < argv.length && !argv[j].startsWith('-') && words.length < 3; j++) words.push(argv[j]);
  for (let n = words.length; n > 0; n--) {
    const id = words.slice(0, n).join(':');
    if (ids.has(id)) return {id, argv: [...lead, ...argv.slice(i + n)]};
  }
  return {id: undefined, argv: [...lead, ...argv.slice(i)]};
}
