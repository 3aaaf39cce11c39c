/**
 * Drives skiff in a real terminal: a private tmux server (its own socket,
 * no user config) whose panes run commands; tests type keys and poll the
 * pane's text for what they expect (never a fixed sleep as an assertion).
 */
import {execFileSync} from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {randomBytes} from 'node:crypto';
import {SKIFF_BIN, type Store} from './skiff';

export class Tmux {
  readonly socket = `skiff-test-${randomBytes(6).toString('hex')}`;
  private started = false;

  constructor(
    readonly cols = 100,
    readonly rows = 30,
  ) {}

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], {encoding: 'utf8'});
  }

  /** Opens a window (the first one starts the server) running `command` under sh. */
  open(name: string, command: string): void {
    if (!this.started) {
      this.tmux('new-session', '-d', '-s', 'main', '-n', name, '-x', String(this.cols), '-y', String(this.rows), command);
      this.tmux('set-option', '-g', 'remain-on-exit', 'on');
      this.started = true;
    } else {
      this.tmux('new-window', '-t', 'main', '-n', name, command);
    }
  }

  /** Types text (literally) into a window; `enter` adds the Enter key. */
  type(name: string, text: string, enter = true): void {
    this.tmux('send-keys', '-t', `main:${name}`, '-l', text);
    if (enter) this.tmux('send-keys', '-t', `main:${name}`, 'Enter');
  }

  /** Sends tmux key names (C-p, C-q, ...) one by one. */
  keys(name: string, ...keys: string[]): void {
    for (const k of keys) this.tmux('send-keys', '-t', `main:${name}`, k);
  }

  screen(name: string): string {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-500', '-t', `main:${name}`);
  }

  resize(cols: number, rows: number): void {
    this.tmux('resize-window', '-t', 'main', '-x', String(cols), '-y', String(rows));
  }

  /** Polls the window until its text matches `re`; returns the match. */
  async waitFor(name: string, re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs;
    let text = '';
    for (;;) {
      text = this.screen(name);
      const m = text.match(re);
      if (m) return m;
      if (Date.now() > end) throw new Error(`window ${name}: ${re} did not appear within ${timeoutMs} ms; screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  kill(): void {
    if (!this.started) return;
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
    // tmux leaves its socket file behind.
    const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
    fs.rmSync(path.join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${uid}`, this.socket), {force: true});
  }
}

/** A script that runs skiff on the store with the store's environment (tmux panes do not inherit ours). */
export function skiffScript(store: Store): string {
  const file = path.join(store.dir, 'skiff-in-tty');
  const vars = ['CONTAINERS_REGISTRIES_CONF', 'REGISTRY_AUTH_FILE', 'XDG_CONFIG_HOME', 'DOCKER_CONFIG', 'SKIFF_LOG_LEVEL', 'PATH'];
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = ['#!/bin/sh', ...vars.filter((v) => store.env[v] !== undefined).map((v) => `export ${v}=${q(store.env[v]!)}`), `exec ${q(SKIFF_BIN)} --root ${q(store.root)} --runroot ${q(store.runroot)} "$@"`];
  fs.writeFileSync(file, lines.join('\n') + '\n', {mode: 0o755});
  return file;
}
