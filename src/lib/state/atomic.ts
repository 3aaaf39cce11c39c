/**
 * Atomic files: write a temp file in the same directory, fsync it, rename it
 * over the target (runc's saveState pattern). A reader sees the old file or
 * the new one, never a torn one; a writer killed midway leaves only a
 * *.tmp-* file, which nothing reads and the next cleanup removes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {errnoCode, storageError} from '../util/errors';

export interface AtomicOptions {
  mode?: number;
  /** fsync the data before rename (default true). Off for scratch files. */
  fsync?: boolean;
}

export function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${(require('node:crypto') as typeof import('node:crypto')).randomBytes(4).toString('hex')}`);
}

export function isTempName(name: string): boolean {
  return /\.tmp-\d+-[0-9a-f]{8}$/.test(name);
}

export function writeFileAtomic(target: string, data: string | Uint8Array, opts: AtomicOptions = {}): void {
  try {
    writeFileAtomicRaw(target, data, opts);
  } catch (err) {
    const code = errnoCode(err);
    // A full disk is the user's to fix: say so in one line, naming the file.
    if (code === 'ENOSPC' || code === 'EDQUOT') throw storageError(`writing ${target}: ${code === 'ENOSPC' ? 'no space left on device' : 'disk quota exceeded'}`, err);
    throw err;
  }
}

function writeFileAtomicRaw(target: string, data: string | Uint8Array, opts: AtomicOptions): void {
  const tmp = tempName(target);
  const fd = fs.openSync(tmp, 'wx', opts.mode ?? 0o644);
  try {
    fs.writeFileSync(fd, data);
    if (opts.fsync !== false) fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, {force: true});
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, {force: true});
    throw err;
  }
}

/**
 * fsync files (and directories) written earlier without it: lets a caller
 * write under a lock and make the result durable after releasing it.
 */
export function syncPaths(...paths: string[]): void {
  for (const p of paths) {
    const fd = fs.openSync(p, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

export function writeJsonAtomic(target: string, value: unknown, opts: AtomicOptions = {}): void {
  writeFileAtomic(target, JSON.stringify(value, null, 1) + '\n', opts);
}

/** A file's text, or undefined when it does not exist (other errors are thrown). */
export function readTextIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Parsed JSON, or undefined when the file does not exist. */
export function readJsonIfExists<T>(file: string): T | undefined {
  const text = readTextIfExists(file);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

export function ensureDir(dir: string, mode = 0o700): void {
  fs.mkdirSync(dir, {recursive: true, mode});
}
