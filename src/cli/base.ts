/**
 * The base of every command: global flags, podman-compatible argv handling,
 * and the single place where an error becomes a message and an exit code.
 */
import {Command, Interfaces} from '@oclif/core';
import {globalFlags, flagShapes} from './flags';
import {normalizeBooleans, stopAtFirstPositional} from './argv';
import {exitCodeFor} from './exit-code';
import {configureLog, isLevel, enabled} from '../lib/util/log';
import {messageOf} from '../lib/util/errors';
import type {Engine} from '../lib/engine';

export type GlobalFlags = Interfaces.InferredFlags<typeof globalFlags>;

export abstract class SkiffCommand extends Command {
  static override baseFlags = globalFlags;
  /** false: flags stop at the first positional argument (run, create, exec). */
  static interspersed = true;

  private _engine?: Engine;

  /** Parse with podman's conventions; commands call this instead of this.parse. */
  protected async parseArgs<C extends typeof SkiffCommand>(ctor: C) {
    const shapes = flagShapes({...ctor.baseFlags, ...ctor.flags} as never);
    let argv = normalizeBooleans(this.argv, shapes);
    if (!ctor.interspersed) argv = stopAtFirstPositional(argv, shapes);
    const parsed = await this.parse(ctor as never, argv);
    const flags = parsed.flags as Interfaces.InferredFlags<C['flags']> & GlobalFlags;
    const level = flags['log-level'] ?? process.env.SKIFF_LOG_LEVEL;
    if (level && isLevel(level)) configureLog(level);
    return {
      flags,
      args: parsed.args as Interfaces.InferredArgs<C['args']>,
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
    process.stdout.write(line.endsWith('\n') ? line : line + '\n');
  }

  protected override async catch(err: Error & {oclif?: {exit?: number}}): Promise<void> {
    if (err.oclif?.exit !== undefined && err.message.startsWith('EEXIT')) {
      process.exitCode = err.oclif.exit;
      return;
    }
    process.stderr.write(`Error: ${messageOf(err)}\n`);
    if (enabled('debug') && err.stack) process.stderr.write(err.stack + '\n');
    if (enabled('debug') && err.cause) process.stderr.write(`caused by: ${String((err.cause as Error).stack ?? err.cause)}\n`);
    process.exitCode = exitCodeFor(err);
  }
}
