/**
 * Man pages from the same definitions as --help (oclif's static summary,
 * description, args and flags), so the two cannot drift: scripts/gen-man.ts
 * writes man/*.1 and test/unit/cli/man.test.ts fails when they are stale.
 */
import type {SkiffCommand} from './base';

type FlagDef = {type: string; char?: string; description?: string; default?: unknown; options?: readonly string[]; allowNo?: boolean; multiple?: boolean; hidden?: boolean; helpValue?: string; helpGroup?: string};
type ArgDef = {description?: string; required?: boolean};

function esc(s: string): string {
  return s.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^\./gm, '\\&.').replace(/^'/gm, "\\&'");
}

export function manName(id: string): string {
  return `skiff-${id.replace(/:/g, '-')}`;
}

function flagLine(name: string, f: FlagDef): string {
  const value = f.type === 'option' ? `=${f.helpValue ?? (f.options ? f.options.join('|') : name.toUpperCase().replace(/-/g, '_'))}` : '';
  const long = f.allowNo ? `--[no-]${name}` : `--${name}`;
  return [f.char ? `-${f.char}, ` : '', long, value].join('');
}

function flagBody(f: FlagDef): string {
  const parts = [f.description ?? ''];
  if (f.multiple) parts.push('Can be given more than once.');
  if (f.default !== undefined && typeof f.default !== 'function' && f.default !== false) parts.push(`Default: ${String(f.default)}.`);
  return parts.filter(Boolean).join(' ');
}

export function renderMan(id: string, cmd: typeof SkiffCommand, aliasesOf: string[], version: string): string {
  const flags = Object.entries((cmd.flags ?? {}) as Record<string, FlagDef>).filter(([, f]) => !f.hidden);
  const globals = Object.entries((cmd.baseFlags ?? {}) as Record<string, FlagDef>);
  const args = Object.entries((cmd.args ?? {}) as Record<string, ArgDef>);
  const words = id.split(':').join(' ');
  const synopsisArgs = args.map(([n, a]) => (a.required ? n.toUpperCase() : `[${n.toUpperCase()}]`)).join(' ') + (cmd.strict === false && args.length ? ' ...' : '');
  const out: string[] = [];
  out.push(`.TH "${manName(id).toUpperCase()}" "1" "" "skiff ${version}" "skiff Manual"`);
  out.push('.SH NAME', `${esc(manName(id))} \\- ${esc(cmd.summary ?? '')}`);
  out.push('.SH SYNOPSIS', `\\fBskiff ${esc(words)}\\fR [\\fIoptions\\fR] ${esc(synopsisArgs)}`.trimEnd());
  if (aliasesOf.length) out.push('.PP', `Also available as: ${aliasesOf.map((a) => `\\fBskiff ${esc(a.split(':').join(' '))}\\fR`).join(', ')}.`);
  out.push('.SH DESCRIPTION', esc(cmd.description ?? cmd.summary ?? ''));
  if (args.length) {
    out.push('.SH ARGUMENTS');
    for (const [n, a] of args) out.push('.TP', `\\fB${esc(n.toUpperCase())}\\fR`, esc(a.description ?? ''));
  }
  if (flags.length) {
    out.push('.SH OPTIONS');
    for (const [n, f] of flags.sort(([a], [b]) => a.localeCompare(b))) out.push('.TP', `\\fB${esc(flagLine(n, f))}\\fR`, esc(flagBody(f)));
  }
  out.push('.SH GLOBAL OPTIONS');
  for (const [n, f] of globals) out.push('.TP', `\\fB${esc(flagLine(n, f))}\\fR`, esc(flagBody(f)));
  out.push('.SH EXIT STATUS', esc('0 on success; 125 when skiff itself fails (bad input, missing image, registry or storage error); commands that run a container return its status (126: cannot be invoked, 127: not found).'));
  out.push('.SH SEE ALSO', '\\fBskiff\\fR(1)');
  return out.join('\n') + '\n';
}

/** Ids that share a class with `id` (podman's aliases, e.g. images / image ls / image list). */
export function aliasesFor(id: string, commands: Record<string, typeof SkiffCommand>): string[] {
  return Object.keys(commands).filter((k) => k !== id && commands[k] === commands[id]);
}

/** The canonical id of each class: the first key mapping to it. */
export function canonicalIds(commands: Record<string, typeof SkiffCommand>): string[] {
  const seen = new Set<unknown>();
  return Object.keys(commands).filter((k) => (seen.has(commands[k]) ? false : (seen.add(commands[k]), true)));
}

export function renderIndexMan(commands: Record<string, typeof SkiffCommand>, version: string): string {
  const out: string[] = [];
  out.push(`.TH "SKIFF" "1" "" "skiff ${version}" "skiff Manual"`);
  out.push('.SH NAME', 'skiff \\- a daemonless, podman\\-compatible container engine');
  out.push('.SH SYNOPSIS', '\\fBskiff\\fR [\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]');
  out.push('.SH COMMANDS');
  for (const id of canonicalIds(commands)) out.push('.TP', `\\fB${esc(manName(id))}\\fR(1)`, esc(commands[id].summary ?? ''));
  return out.join('\n') + '\n';
}
