/**
 * Multi-target verbs (stop, kill, rm, start, wait...): one report per
 * argument, printed as podman does; the exit code is decided here from the
 * reports (podman: 125 for errors, with rm's 1 for a missing container
 * and 2 for one in use, when those are the only failures).
 */
import {isSkiffError, SkiffError} from '../lib/util/errors';
import {exitCodeFor} from './exit-code';
import {writeOut} from './stdout';

export interface TargetReport {
  rawInput: string;
  output?: string;
  error?: SkiffError;
}

export function finishReports(reports: TargetReport[], opts: {missing?: number; inUse?: number} = {}): number {
  let code = 0;
  for (const r of reports) {
    if (r.output !== undefined) writeOut(r.output + '\n');
    if (!r.error) continue;
    process.stderr.write(`Error: ${r.error.message}\n`);
    let c = exitCodeFor(r.error);
    if (opts.missing !== undefined && isSkiffError(r.error, 'not-found')) c = opts.missing;
    else if (opts.inUse !== undefined && isSkiffError(r.error, 'conflict')) c = opts.inUse;
    code = code === 0 || (code < c && c === 125) ? c : code;
  }
  return code;
}

export async function eachTarget(inputs: string[], fn: (input: string) => Promise<string | undefined>): Promise<TargetReport[]> {
  const out: TargetReport[] = [];
  for (const raw of inputs) {
    try {
      out.push({rawInput: raw, output: await fn(raw)});
    } catch (err) {
      out.push({rawInput: raw, error: err instanceof SkiffError ? err : new SkiffError('internal', (err as Error).message ?? String(err), {cause: err})});
    }
  }
  return out;
}
