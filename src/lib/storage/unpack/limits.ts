/**
 * Size and type limits that protect the extractor from hostile archives.
 * Each is a separate rule with its own regression test.
 */
import {entryError} from './entry-error';
import type {EntryType} from './entry';

/** PAX ('x'/'g') and GNU long-name ('L'/'K') records are buffered in memory: cap them. */
export const MAX_META_RECORD = 1 << 20;

/** Rejects a PAX/long-name record bigger than MAX_META_RECORD before any of it is buffered. */
export function assertMetaRecordSize(size: number, name: string): void {
  if (size > MAX_META_RECORD) throw entryError(name, `extended header of ${size} bytes exceeds the ${MAX_META_RECORD}-byte limit`);
}

/** Rejects sizes that are negative or that a JavaScript number cannot count exactly. */
export function assertEntrySize(size: number, name: string): void {
  if (!Number.isSafeInteger(size) || size < 0) throw entryError(name, `invalid size ${size}`);
}

/** Device nodes are allowed only when the caller may create them (rootful). */
export function assertDeviceAllowed(type: EntryType, allowDevices: boolean, name: string): void {
  if (!allowDevices && (type === 'char' || type === 'block')) {
    throw entryError(name, `${type} device nodes are not allowed here`);
  }
}
