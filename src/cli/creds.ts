/** --creds USER[:PASSWORD] (password asked for on a terminal when missing, as podman). */
import {invalidInput} from '../lib/util/errors';
import {readSecret} from './prompt';

export async function parseCreds(s: string): Promise<{username: string; password: string}> {
  const i = s.indexOf(':');
  const username = i < 0 ? s : s.slice(0, i);
  if (!username) throw invalidInput('--creds: username must not be empty');
  if (i >= 0) return {username, password: s.slice(i + 1)};
  if (!process.stdin.isTTY) throw invalidInput('--creds: no password given and no terminal to ask for one');
  return {username, password: await readSecret('Password: ')};
}
