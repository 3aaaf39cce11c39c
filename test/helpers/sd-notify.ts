/**
 * A stand-in for systemd's notify socket: a unix datagram socket bound by
 * python3 (Node's dgram module has no unix sockets) that prints each
 * message it receives as one JSON string per line.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = `
import json, os, socket, sys
p = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(p)
print(json.dumps("bound"), flush=True)
while True:
    print(json.dumps(s.recv(65536).decode()), flush=True)
`;

export interface NotifySocket {
  path: string;
  messages: string[];
  /** Resolves when a message satisfying `pred` has arrived (rejects after timeoutMs). */
  waitFor(pred: (m: string) => boolean, timeoutMs?: number): Promise<string>;
  close(): void;
}

export async function notifySocket(): Promise<NotifySocket> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-notify-'));
  const sock = path.join(dir, 'notify.sock');
  const child: ChildProcess = spawn('python3', ['-c', SCRIPT, sock], {stdio: ['ignore', 'pipe', 'inherit']});
  const messages: string[] = [];
  const waiters: Array<() => void> = [];
  let buf = '';
  let bound!: () => void;
  const ready = new Promise<void>((r) => (bound = r));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      const m = JSON.parse(l) as string;
      if (m === 'bound') bound();
      else messages.push(m);
    }
    for (const w of waiters.splice(0)) w();
  });
  await ready;
  return {
    path: sock,
    messages,
    waitFor(pred, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching sd_notify message; got ${JSON.stringify(messages)}`)), timeoutMs);
        const check = () => {
          const hit = messages.find(pred);
          if (hit !== undefined) {
            clearTimeout(t);
            resolve(hit);
          } else waiters.push(check);
        };
        check();
      });
    },
    close() {
      child.kill('SIGKILL');
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}
