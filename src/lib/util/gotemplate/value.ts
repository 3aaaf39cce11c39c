/**
 * How JavaScript values appear to Go template code: their Go kind and type
 * name (for error messages and %T), truthiness, and field lookup.
 *
 * JS data is untyped, so objects and Maps behave like Go's
 * map[string]interface{}, arrays like []interface{}, integral numbers (within
 * int64's range) like int and other numbers like float64. null and undefined are Go's nil.
 */

export type GoKind = 'nil' | 'bool' | 'int' | 'float' | 'string' | 'slice' | 'map' | 'func';

export function goKind(v: unknown): GoKind {
  if (v === null || v === undefined) return 'nil';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      // Integral values beyond int64 can only have been floats in Go.
      return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'string';
    case 'function':
      return 'func';
  }
  return Array.isArray(v) || v instanceof Uint8Array ? 'slice' : 'map';
}

export function goTypeName(v: unknown): string {
  switch (goKind(v)) {
    case 'nil':
      return '<nil>';
    case 'bool':
      return 'bool';
    case 'int':
      return 'int';
    case 'float':
      return 'float64';
    case 'string':
      return 'string';
    case 'slice':
      return v instanceof Uint8Array ? '[]uint8' : '[]interface {}';
    case 'func':
      return 'func(...interface {}) interface {}';
    case 'map':
      return v instanceof Date ? 'time.Time' : 'map[string]interface {}';
  }
}

/** Entries of a map-like value, keys sorted as Go sorts string map keys. */
export function mapEntries(v: object): Array<[string, unknown]> {
  const entries: Array<[string, unknown]> =
    v instanceof Map ? [...v.entries()].map(([k, x]) => [String(k), x]) : Object.entries(v);
  return entries.sort(([a], [b]) => compareStrings(a, b));
}

/** Byte-wise (UTF-8) comparison, as Go compares strings. */
export function compareStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Go's template truth: false, 0, nil and empty strings, slices and maps are false. */
export function isTrue(v: unknown): boolean {
  switch (goKind(v)) {
    case 'nil':
      return false;
    case 'bool':
      return v as boolean;
    case 'int':
    case 'float':
      return typeof v === 'bigint' ? v !== 0n : v !== 0;
    case 'string':
      return (v as string).length > 0;
    case 'slice':
      return (v as ArrayLike<unknown>).length > 0;
    case 'func':
      return true;
    case 'map':
      if (v instanceof Map) return v.size > 0;
      if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return true;
      return Object.keys(v as object).length > 0;
  }
}

export type FieldLookup = {found: true; value: unknown; isMethod: boolean} | {found: false};

/**
 * Looks up `name` on a map-like value: Map keys, own properties, and
 * getters or methods of a class (never Object.prototype's members).
 */
export function lookupField(receiver: object, name: string): FieldLookup {
  if (receiver instanceof Map) {
    return receiver.has(name) ? {found: true, value: receiver.get(name), isMethod: false} : {found: false};
  }
  for (let o: object | null = receiver; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    const desc = Object.getOwnPropertyDescriptor(o, name);
    if (!desc) continue;
    if (o !== receiver && name === 'constructor') return {found: false};
    const value = desc.get ? desc.get.call(receiver) : desc.value;
    return {found: true, value, isMethod: typeof value === 'function'};
  }
  return {found: false};
}
