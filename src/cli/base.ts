/**
 * The base of every command: global flags, podman-compatible argv handling,
 * and the single place where an error becomes a message and an exit code.
 *
 * Commands carry oclif's static shape (summary, description, examples,
 * flags, args, strict, hidden), so oclif's Help renders them when --help
 * loads it, but running a command needs nothing of @oclif/core: parsing is
 * parse.ts, definitions params.ts (see there for why).
 */
import {globalFlags, flagShapes} from './flags';
import {parseCommandLine} from './parse';
import type {ArgDef, FlagDef, InferredArgs, InferredFlags} from './params';
import {normalizeBooleans, stopAtFirstPositional} from './argv';
import {exitCodeFor} from './exit-code';
import {configureLog, isLevel, enabled} from '../lib/util/log';
import {messageOf} from '../lib/util/errors';
import type {Engine} from '../lib/engine';
import {writeOut} from './stdout';

export type GlobalFlags = InferredFlags<typeof globalFlags>;

export abstract class SkiffCommand {
  /** Set by the dispatcher: "image:ls" for `skiff image ls`. */
  static id = '';
  static summary?: string;
  static description?: string;
  static examples?: string[];
  static hidden = false;
  static aliases: string[] = [];
  static flags: Record<string, FlagDef> = {};
  static baseFlags: Record<string, FlagDef> = globalFlags;
  static args: Record<string, ArgDef> = {};
  /** false: extra positional arguments are allowed. */
  static strict = true;
  /** false: flags stop at the first positional argument (run, create, exec). */
  static interspersed = true;

  constructor(protected argv: string[]) {}

  /** Run this command with these arguments (oclif's Command.run; its Help also looks for it). */
  static async run(this: new (argv: string[]) => SkiffCommand, argv: string[] = process.argv.slice(2)): Promise<void> {
    await new this(argv)._run();
  }

  abstract run(): Promise<void>;

  /** Run the command; every error becomes one line on stderr and an exit code. */
  async _run(): Promise<void> {
    try {
      await this.run();
    } catch (err) {
      this.catch(err as Error);
    }
  }

  private _engine?: Engine;

  /** Parse with podman's conventions; commands call this instead of this.parse. */
  protected async parseArgs<C extends typeof SkiffCommand>(ctor: C) {
    const parsed = parseFor(ctor, this.argv);
    const flags = parsed.flags as InferredFlags<C['flags']> & GlobalFlags;
    const level = flags['log-level'] ?? process.env.SKIFF_LOG_LEVEL;
    if (level && isLevel(level)) configureLog(level);
    return {
      flags,
      args: parsed.args as InferredArgs<C['args']>,
      argv: parsed.argv as string[],
    };
  }

  /** The engine, built once from the global flags. */
  protected async engine(flags: GlobalFlags): Promise<Engine> {
    if (!this._engine) {
      const {Engine} = await import('../lib/engine');
      this._engine = new Engine({root: flags.root, runroot: flags.runroot, storageDriver: flags['storage-driver']});
    }
    return this._engine;
  }

  /** Write a line to stdout (command output only; diagnostics go to stderr). */
  protected out(line: string): void {
    writeOut(line.endsWith('\n') ? line : line + '\n');
  }

  protected catch(err: Error): void {
    process.stderr.write(`Error: ${messageOf(err)}\n`);
    if (enabled('debug') && err.stack) process.stderr.write(err.stack + '\n');
    if (enabled('debug') && err.cause) process.stderr.write(`caused by: ${String((err.cause as Error).stack ?? err.cause)}\n`);
    process.exitCode = exitCodeFor(err);
  }
}

/** The command line as `ctor` reads it (podman's conventions: see argv.ts and parse.ts). */
export function parseFor(ctor: typeof SkiffCommand, argv: string[]) {
  const shapes = flagShapes({...ctor.baseFlags, ...ctor.flags} as never);
  let words = normalizeBooleans(argv, shapes);
  if (!ctor.interspersed) words = stopAtFirstPositional(words, shapes);
  return parseCommandLine(words, {flags: {...ctor.baseFlags, ...ctor.flags}, args: ctor.args, strict: ctor.strict});
}
