/**
 * Flag helpers shared by commands, so podman's spellings behave the same
 * everywhere: repeatable flags never swallow positional arguments, boolean
 * flags accept --x=false, and global flags are defined once.
 */
import {Flags, type Char} from './params';
import {LEVELS} from '../lib/util/log';
import type {FlagShape} from './argv';

/** A repeatable string flag (-e A -e B) that takes exactly one value per use. */
export function multi(opts: {char?: Char; description: string; helpValue?: string; hidden?: boolean}) {
  return Flags.string({...opts, multiple: true, multipleNonGreedy: true});
}

/** A boolean that also accepts --name=false (and --no-name). */
export function bool(opts: {char?: Char; description: string; default?: boolean; hidden?: boolean}) {
  return Flags.boolean({...opts, allowNo: true});
}

export const globalFlags = {
  root: Flags.string({description: 'path to the root directory in which data, including images, is stored', helpGroup: 'GLOBAL', helpValue: 'PATH'}),
  runroot: Flags.string({description: 'path to the runtime state directory', helpGroup: 'GLOBAL', helpValue: 'PATH'}),
  'log-level': Flags.string({description: 'log messages at and above this level', helpGroup: 'GLOBAL', options: [...LEVELS]}),
  'storage-driver': Flags.string({description: 'storage driver for layers and containers (overlay, or vfs where overlay cannot mount)', helpGroup: 'GLOBAL', options: ['overlay', 'vfs']}),
};

type AnyFlag = {type: string; char?: string; allowNo?: boolean};

/** The shape of a command's flags, as the argv normaliser needs it. */
export function flagShapes(flags: Record<string, AnyFlag | undefined>): FlagShape[] {
  return Object.entries(flags)
    .filter((e): e is [string, AnyFlag] => e[1] !== undefined)
    .map(([name, f]) => ({name, char: f.char, boolean: f.type === 'boolean', allowNo: f.allowNo}));
}
