/**
 * Flag and argument definitions for commands: the same object shapes as
 * oclif's `Flags` and `Args` (type, char, description, default, options,
 * multiple, allowNo, hidden, helpValue, helpGroup ...), so oclif's Help can
 * render them when --help loads it, but without importing @oclif/core.
 *
 * Why not oclif's own builders: `@oclif/core/flags` pulls in its help, ux
 * and error modules (~190 kB of bundled code with ejs, ansis, string-width,
 * cli-spinners ...). Evaluated in the start-up snapshot, that heap costs every
 * skiff command ~10 ms of deserialisation (bench/startup.sh, docs/design.md
 * "Start-up"); the definitions themselves are plain objects.
 */

export type Char = 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 'h' | 'i' | 'j' | 'k' | 'l' | 'm' | 'n' | 'o' | 'p' | 'q' | 'r' | 's' | 't' | 'u' | 'v' | 'w' | 'x' | 'y' | 'z'
  | 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I' | 'J' | 'K' | 'L' | 'M' | 'N' | 'O' | 'P' | 'Q' | 'R' | 'S' | 'T' | 'U' | 'V' | 'W' | 'X' | 'Y' | 'Z';

interface Common {
  char?: Char;
  description?: string;
  summary?: string;
  hidden?: boolean;
  helpGroup?: string;
  helpValue?: string;
  required?: boolean;
  env?: string;
}

export interface BooleanFlag<V> extends Common {
  type: 'boolean';
  allowNo?: boolean;
  default?: boolean;
  /** Never set: carries the parsed value's type. */
  readonly __value?: [V];
}

export interface OptionFlag<V> extends Common {
  type: 'option';
  /** 'integer' for Flags.integer: the parser checks and converts. */
  kind: 'string' | 'integer';
  multiple?: boolean;
  multipleNonGreedy?: boolean;
  options?: readonly string[];
  default?: unknown;
  min?: number;
  max?: number;
  readonly __value?: [V];
}

export type FlagDef = BooleanFlag<unknown> | OptionFlag<unknown>;

export interface ArgDef<V = unknown> {
  description?: string;
  required?: boolean;
  default?: string;
  options?: readonly string[];
  hidden?: boolean;
  readonly __value?: [V];
}

interface StringOpts extends Common {
  multiple?: boolean;
  multipleNonGreedy?: boolean;
  options?: readonly string[];
  default?: string | string[];
}

interface IntegerOpts extends Common {
  multiple?: boolean;
  default?: number;
  min?: number;
  max?: number;
}

interface BooleanOpts extends Common {
  allowNo?: boolean;
  default?: boolean;
}

/** T, T[] with multiple, and undefined unless required or defaulted (oclif's typing). */
type Valued<T, O> = (O extends {multiple: true} ? T[] : T) | (O extends {required: true} | {default: unknown} ? never : undefined);

export const Flags = {
  string<const O extends StringOpts>(opts: O = {} as O): OptionFlag<Valued<string, O>> {
    return {...opts, type: 'option', kind: 'string'};
  },
  integer<const O extends IntegerOpts>(opts: O = {} as O): OptionFlag<Valued<number, O>> {
    return {...opts, type: 'option', kind: 'integer'};
  },
  boolean<const O extends BooleanOpts>(opts: O = {} as O): BooleanFlag<boolean> {
    return {...opts, type: 'boolean'};
  },
};

export const Args = {
  string<const O extends {description?: string; required?: boolean; default?: string; options?: readonly string[]; hidden?: boolean}>(
    opts: O = {} as O,
  ): ArgDef<O extends {required: true} | {default: string} ? string : string | undefined> {
    return {...opts};
  },
};

type ValueOf<F> = F extends {readonly __value?: [infer V]} ? V : never;

export type InferredFlags<F> = {[K in keyof F]: ValueOf<F[K]>};
export type InferredArgs<A> = {[K in keyof A]: ValueOf<A[K]>};
