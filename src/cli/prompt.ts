/** Terminal prompts (stderr + stdin), used only when both are terminals. */
import * as readline from 'node:readline';
import {invalidInput} from '../lib/util/errors';

export async function readLine(question: string): Promise<string> {
  const rl = readline.createInterface({input: process.stdin, output: process.stderr, terminal: true});
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
  }
}

/** Read a secret without echoing it. */
export async function readSecret(question: string): Promise<string> {
  const rl = readline.createInterface({input: process.stdin, output: process.stderr, terminal: true});
  const out = rl as unknown as {_writeToOutput: (s: string) => void};
  let asked = false;
  out._writeToOutput = (s: string) => {
    if (!asked) process.stderr.write(s);
  };
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, (a) => {
        process.stderr.write('\n');
        resolve(a);
      });
      asked = true;
    });
  } finally {
    rl.close();
  }
}

/** podman's short-name prompt: pick one of several fully-qualified candidates. */
export async function chooseOnTerminal(candidates: string[]): Promise<string> {
  process.stderr.write('? Please select an image:\n');
  candidates.forEach((c, i) => process.stderr.write(`  ${i + 1}) ${c}\n`));
  const a = (await readLine(`Enter 1-${candidates.length}: `)).trim();
  const n = Number(a);
  if (!Number.isInteger(n) || n < 1 || n > candidates.length) throw invalidInput(`no image selected ("${a}")`);
  return candidates[n - 1];
}
