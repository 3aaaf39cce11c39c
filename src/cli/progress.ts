/**
 * Pull progress on stderr. On a terminal: a live line per blob (bar, bytes,
 * total, speed), redrawn at most ten times a second, then a summary. Not on
 * a terminal: one plain line per step, as podman prints, and nothing at all
 * with -q. lib reports events; only this file knows about terminals.
 */
import type {PullEvent} from '../lib/image/events';
import {humanSize} from '../lib/util/human';

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

interface Row {
  label: string;
  size: number;
  bytes: number;
  started: number;
  state: 'waiting' | 'copying' | 'done' | 'skipped' | 'queued';
}

export function pullProgress(opts: {quiet: boolean; tty?: boolean; out?: NodeJS.WriteStream}): {onEvent: (e: PullEvent) => void; finish: () => void} {
  const out = opts.out ?? process.stderr;
  if (opts.quiet) return {onEvent: () => {}, finish: () => {}};
  const tty = opts.tty ?? (out.isTTY === true && process.env.TERM !== 'dumb');
  if (!tty) return plain(out);
  return live(out);
}

function plain(out: NodeJS.WriteStream) {
  const kinds = new Map<string, string>();
  return {
    onEvent(e: PullEvent) {
      switch (e.type) {
        case 'blob-start':
          kinds.set(e.digest, e.kind === 'config' ? 'config' : 'blob');
          break;
        case 'trying':
          out.write(`Trying to pull ${e.reference}...\n`);
          break;
        case 'blob-wait':
          out.write(`Copying blob ${e.digest} waiting for another pull of the same layer\n`);
          break;
        case 'blob-done':
          out.write(e.skipped ? `Copying blob ${e.digest} skipped: already exists\n` : `Copying ${kinds.get(e.digest) ?? 'blob'} ${e.digest} done\n`);
          break;
        case 'writing-manifest':
          out.write('Writing manifest to image destination\n');
          break;
        case 'warning':
          out.write(`WARNING: ${e.message}\n`);
          break;
      }
    },
    finish() {},
  };
}

function bar(bytes: number, size: number, width = 30): string {
  const frac = size > 0 ? Math.min(1, bytes / size) : 0;
  const full = Math.floor(frac * width);
  return '[' + '='.repeat(Math.max(0, full - 1)) + (full > 0 ? '>' : '') + ' '.repeat(width - full) + ']';
}

function live(out: NodeJS.WriteStream) {
  const rows = new Map<string, Row>();
  let drawn = 0;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const started = Date.now();
  let totalBytes = 0;

  const render = () => {
    timer = undefined;
    last = Date.now();
    const lines: string[] = [];
    for (const r of rows.values()) {
      const secs = Math.max(0.001, (Date.now() - r.started) / 1000);
      switch (r.state) {
        case 'done':
          lines.push(`${r.label} done   ${humanSize(r.size || r.bytes)}`);
          break;
        case 'skipped':
          lines.push(`${r.label} skipped: already exists`);
          break;
        case 'waiting':
          lines.push(`${r.label} waiting for another pull`);
          break;
        case 'queued':
          lines.push(`${r.label} queued`);
          break;
        default:
          lines.push(`${r.label} ${bar(r.bytes, r.size)} ${humanSize(r.bytes)} / ${humanSize(r.size)} ${humanSize(r.bytes / secs)}/s`);
      }
    }
    let s = drawn > 0 ? `\x1b[${drawn}F` : '';
    for (const l of lines) s += `\x1b[2K${l}\n`;
    out.write(s);
    drawn = lines.length;
  };
  const schedule = (now = false) => {
    if (now) {
      if (timer) clearTimeout(timer);
      render();
      return;
    }
    if (timer) return;
    timer = setTimeout(render, Math.max(0, 100 - (Date.now() - last)));
  };

  return {
    onEvent(e: PullEvent) {
      switch (e.type) {
        case 'trying':
          schedule(true);
          out.write(`Trying to pull ${e.reference}...\n`);
          drawn = 0;
          rows.clear();
          break;
        case 'blob-start':
          rows.set(e.digest, {label: `Copying ${e.kind === 'config' ? 'config' : 'blob'} ${short(e.digest)}`, size: e.size, bytes: 0, started: Date.now(), state: 'copying'});
          schedule();
          break;
        case 'blob-progress': {
          const r = rows.get(e.digest);
          if (r) {
            totalBytes += e.bytes - r.bytes;
            r.bytes = e.bytes;
          }
          schedule();
          break;
        }
        case 'blob-wait': {
          rows.set(e.digest, {label: `Copying blob ${short(e.digest)}`, size: 0, bytes: 0, started: Date.now(), state: 'waiting'});
          schedule();
          break;
        }
        case 'blob-done': {
          const r = rows.get(e.digest) ?? {label: `Copying blob ${short(e.digest)}`, size: 0, bytes: 0, started: Date.now(), state: 'done' as const};
          r.state = e.skipped ? 'skipped' : 'done';
          rows.set(e.digest, r);
          schedule();
          break;
        }
        case 'writing-manifest':
          schedule(true);
          out.write('Writing manifest to image destination\n');
          drawn = 0;
          break;
        case 'warning':
          schedule(true);
          out.write(`WARNING: ${e.message}\n`);
          drawn = 0;
          break;
      }
    },
    finish() {
      if (timer) clearTimeout(timer);
      const secs = (Date.now() - started) / 1000;
      if (totalBytes > 0) out.write(`Pulled ${humanSize(totalBytes)} in ${secs.toFixed(1)}s (${humanSize(totalBytes / Math.max(secs, 0.001))}/s)\n`);
    },
  };
}
