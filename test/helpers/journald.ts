/**
 * A systemd journal to log into. Machines whose PID 1 is not systemd (this
 * VM, CI containers) run no journald; as root the test starts Debian's
 * systemd-journald by hand for its duration. Returns why not when it
 * cannot, so the test can skip with that reason.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import * as fs from 'node:fs';

const SOCKET = '/run/systemd/journal/socket';
const DAEMON = '/lib/systemd/systemd-journald';

/** A journald process is alive (its socket file outlives it, so the file alone proves nothing). */
function journaldRunning(): boolean {
  try {
    execFileSync('pgrep', ['-x', 'systemd-journal'], {stdio: 'ignore'}); // comm is cut to 15 characters
    return true;
  } catch {
    return false;
  }
}

export async function ensureJournald(): Promise<{stop(): void} | string> {
  if (journaldRunning() && fs.existsSync(SOCKET)) return {stop() {}};
  if (process.getuid?.() !== 0) return 'no journald running, and only root can start one';
  if (!fs.existsSync(DAEMON)) return `no journald running and ${DAEMON} is missing (Debian package systemd)`;
  // Sockets left by a journald that has exited would make it look alive, and block its bind.
  fs.rmSync('/run/systemd/journal', {recursive: true, force: true});
  fs.mkdirSync('/run/systemd/journal', {recursive: true});
  const child: ChildProcess = spawn(DAEMON, [], {stdio: 'ignore', detached: true});
  for (let i = 0; i < 100 && !fs.existsSync(SOCKET); i++) await new Promise((r) => setTimeout(r, 50));
  if (!fs.existsSync(SOCKET)) {
    child.kill('SIGKILL');
    return 'systemd-journald did not start';
  }
  return {
    stop() {
      child.kill('SIGTERM');
      fs.rmSync('/run/systemd/journal', {recursive: true, force: true});
    },
  };
}
