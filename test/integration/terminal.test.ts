/**
 * Terminals and streams on real conmon + runc: exec (conmon's exec mode),
 * attach (several clients, detach keys, logs), and -t sessions in a real
 * terminal (tmux): raw mode, window size, detach and re-attach, exec -it,
 * start -ai, and the local terminal restored on every way out.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {SKIFF_BIN, type Store} from '../helpers/skiff';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';
import {Tmux, skiffScript} from '../helpers/tmux';

let fx: BusyboxStore;
let s: Store;
let IMG: string;

before(async () => {
  fx = await busyboxStore();
  ({store: s, image: IMG} = fx);
});

after(async () => {
  await fx?.close();
});

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runDetached(args: string[]): Promise<string> {
  const r = await s.run(['run', '-d', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

interface Client {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exit: Promise<number>;
}

/** A skiff process with piped stdio, its output collected as it comes. */
function client(args: string[]): Client {
  const child = spawn(SKIFF_BIN, ['--root', s.root, '--runroot', s.runroot, ...args], {env: s.env, stdio: ['pipe', 'pipe', 'pipe']});
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const exit = new Promise<number>((resolve) => child.on('close', (code, sig) => resolve(code ?? (sig ? 128 : -1))));
  return {child, out: () => out, err: () => err, exit};
}

const status = async (name: string) => (await s.run(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name])).stdout.trim();

describe('exec', () => {
  let C: string;
  before(async () => {
    C = await runDetached(['--name', 'ex', IMG, 'sleep', '1000']);
  });
  after(async () => {
    await s.run(['rm', '-f', '-t', '0', 'ex']);
  });

  test('stdin through -i, and the process exit status', async () => {
    const r = await s.run(['exec', '-i', 'ex', 'cat'], {input: 'hi\nthere\n'});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\nthere\n');
    const out = await s.run(['exec', 'ex', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.equal(out.code, 7);
    assert.equal(out.stdout, 'out\n');
    assert.equal(out.stderr, 'err\n');
    const noStdin = await s.run(['exec', 'ex', 'cat'], {input: 'ignored\n'});
    assert.equal(noStdin.code, 0, noStdin.stderr);
    assert.equal(noStdin.stdout, '');
  });

  test('127 for a missing command, 126 for one that cannot run; the container keeps running', async () => {
    const nf = await s.run(['exec', 'ex', 'nosuchcmd']);
    assert.equal(nf.code, 127, nf.stderr);
    assert.match(nf.stderr, /executable file not found/);
    const ne = await s.run(['exec', 'ex', '/etc/passwd']);
    assert.equal(ne.code, 126, ne.stderr);
    assert.match(await status('ex'), /^running 0$/);
  });

  test('-u, -w, -e and --env-file; the container environment otherwise', async () => {
    const envFile = path.join(s.dir, 'exec.env');
    fs.writeFileSync(envFile, '# comment\nFROMFILE=f1\nB=file\n');
    const r = await s.run(['exec', '-u', 'app', '-w', '/tmp', '-e', 'A=1', '-e', 'B=flag', '--env-file', envFile, 'ex', 'sh', '-c', 'echo $A $B $FROMFILE $(pwd) $(id -u):$(id -g) $HOME $PATH']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '1 flag f1 /tmp 1000:1000 /home/app /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
    const num = await s.run(['exec', '-u', '4242:4343', 'ex', 'id']);
    assert.equal(num.stdout, 'uid=4242 gid=4343\n');
    const bad = await s.run(['exec', '-u', 'nobodyhere', 'ex', 'id']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /unable to find user nobodyhere/);
  });

  test('same namespaces, cgroup and seccomp as the container; --privileged adds capabilities', async () => {
    const pid = (await s.run(['inspect', '--format', '{{.State.Pid}}', 'ex'])).stdout.trim();
    const hostNs = fs.readlinkSync(`/proc/${pid}/ns/pid`);
    const inner = await s.run(['exec', 'ex', 'sh', '-c', 'readlink /proc/1/ns/pid; cat /proc/self/cgroup | grep -c "' + C + '"; grep Seccomp: /proc/self/status; grep CapEff /proc/self/status']);
    assert.equal(inner.code, 0, inner.stderr);
    const [ns, cg, sec, cap] = inner.stdout.trim().split('\n');
    assert.equal(ns, hostNs);
    assert.ok(Number(cg) >= 1, `exec process not in the container's cgroup: ${inner.stdout}`);
    assert.match(sec, /Seccomp:\s+2/);
    const priv = await s.run(['exec', '--privileged', 'ex', 'grep', 'CapEff', '/proc/self/status']);
    const bits = (line: string) => BigInt('0x' + line.split(/\s+/)[1]);
    assert.ok(bits(priv.stdout.trim()) > bits(cap), `--privileged did not add capabilities: ${cap} vs ${priv.stdout}`);
  });

  test('-d returns at once with the session ID; the process runs on', async () => {
    const r = await s.run(['exec', '-d', 'ex', 'sh', '-c', 'echo done > /tmp/bg']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
    await until('the background exec to write its file', async () => ((await s.run(['exec', 'ex', 'cat', '/tmp/bg'])).stdout === 'done\n' ? true : undefined));
  });

  test('--preserve-fds passes descriptors 3.. on to the process', async () => {
    const file = path.join(s.dir, 'fd3.txt');
    fs.writeFileSync(file, 'from fd 3\n');
    const fd = fs.openSync(file, 'r');
    try {
      const child = spawn(SKIFF_BIN, ['--root', s.root, '--runroot', s.runroot, 'exec', '--preserve-fds', '1', 'ex', 'sh', '-c', 'cat <&3'], {env: s.env, stdio: ['ignore', 'pipe', 'pipe', fd]});
      let out = '';
      let err = '';
      child.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
      child.stderr!.setEncoding('utf8').on('data', (d) => (err += d));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0, err);
      assert.equal(out, 'from fd 3\n');
    } finally {
      fs.closeSync(fd);
    }
    const none = await s.run(['exec', 'ex', 'sh', '-c', 'cat <&3']);
    assert.notEqual(none.code, 0, 'without --preserve-fds the process has no fd 3');
  });

  test('a stopped or missing container is 125 with a clear message; container exec is an alias', async () => {
    assert.equal((await s.run(['create', '--name', 'exstopped', IMG, 'true'])).code, 0);
    const st = await s.run(['exec', 'exstopped', 'true']);
    assert.equal(st.code, 125);
    assert.match(st.stderr, /can only create exec sessions on running containers/);
    const missing = await s.run(['exec', 'nothere', 'true']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /no container with name or ID "nothere" found/);
    const alias = await s.run(['container', 'exec', 'ex', 'echo', 'alias']);
    assert.equal(alias.stdout, 'alias\n');
    await s.run(['rm', 'exstopped']);
  });
});

describe('attach', () => {
  test('several clients see the output; stdin from one; logs stay whole; the container exit ends both', async () => {
    await runDetached(['-i', '--name', 'at', IMG, 'sh', '-c', 'echo ready; while read l; do echo got:$l; done; echo bye; exit 3']);
    const a = client(['attach', 'at']);
    const b = client(['container', 'attach', '--no-stdin', 'at']);
    try {
      // Both connected: a line typed into a reaches both.
      let n = 0;
      await until('both clients to see a line', () => {
        a.child.stdin.write(`l${n++}\n`);
        return /got:l\d/.test(a.out()) && /got:l\d/.test(b.out()) ? true : undefined;
      });
      a.child.stdin.write('last\n');
      a.child.stdin.end(); // conmon closes the container's stdin: it says bye and exits 3
      assert.equal(await a.exit, 0, a.err());
      assert.equal(await b.exit, 0, b.err());
      for (const c of [a, b]) assert.match(c.out(), /got:last\nbye\n$/);
      assert.equal(await status('at'), 'exited 3');
      const logs = await s.run(['logs', 'at']);
      const lines = logs.stdout.trim().split('\n');
      assert.equal(lines[0], 'ready');
      assert.deepEqual(lines.slice(-2), ['got:last', 'bye']);
      const got = lines.filter((l) => l.startsWith('got:l') && l !== 'got:last');
      assert.deepEqual(got, Array.from({length: got.length}, (_, i) => `got:l${i}`), 'each line once, in order');
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
      await s.run(['rm', '-f', '-t', '0', 'at']);
    }
  });

  test('detach keys leave the container running; custom keys; "" disables; bad keys are 125', async () => {
    // As with podman, a detaching client of a container without a terminal closes its
    // stdin (conmon -i); the container itself runs on.
    const prog = 'while read l; do echo got:$l; done; echo eof; exec sleep 1000';
    await runDetached(['-i', '--name', 'det', IMG, 'sh', '-c', prog]);
    await runDetached(['-i', '--name', 'det2', IMG, 'sh', '-c', prog]);
    try {
      const a = client(['attach', 'det']);
      await until('attach to connect', () => {
        a.child.stdin.write('x\n');
        return a.out().includes('got:x') ? true : undefined;
      });
      a.child.stdin.write('\x10\x11');
      assert.equal(await a.exit, 0, a.err());
      await until('stdin closed', async () => ((await s.run(['logs', 'det'])).stdout.includes('eof') ? true : undefined));
      assert.match(await status('det'), /^running/);

      const b = client(['attach', '--detach-keys', 'ctrl-a,x', 'det2']);
      await until('second attach', () => {
        b.child.stdin.write('y\n');
        return b.out().includes('got:y') ? true : undefined;
      });
      b.child.stdin.write('\x10\x11z\n'); // the default sequence is plain input now
      await until('plain input', () => (b.out().includes('got:\x10\x11z') ? true : undefined));
      b.child.stdin.write('\x01x');
      assert.equal(await b.exit, 0, b.err());
      assert.match(await status('det2'), /^running/);

      // "" disables detaching: the default sequence is input like any other.
      await runDetached(['-i', '--name', 'det3', IMG, 'sh', '-c', prog]);
      const c = client(['attach', '--detach-keys=', 'det3']);
      try {
        await until('third attach', () => {
          c.child.stdin.write('w\n');
          return c.out().includes('got:w') ? true : undefined;
        });
        c.child.stdin.write('\x10\x11v\n');
        await until('the default sequence as input', () => (c.out().includes('got:\x10\x11v') ? true : undefined));
      } finally {
        c.child.kill('SIGKILL');
      }

      const bad = await s.run(['attach', '--detach-keys', 'ctrl-1', 'det2']);
      assert.equal(bad.code, 125);
      assert.match(bad.stderr, /invalid detach keys/);
    } finally {
      await s.run(['rm', '-f', '-t', '0', 'det', 'det2', 'det3']);
    }
    assert.equal((await s.run(['create', '--name', 'notrunning', IMG, 'true'])).code, 0);
    const nr = await s.run(['attach', 'notrunning']);
    assert.equal(nr.code, 125);
    assert.match(nr.stderr, /you can only attach to running containers/);
    const missing = await s.run(['attach', 'nothere']);
    assert.equal(missing.code, 125);
    await s.run(['rm', 'notrunning']);
  });

  test('detaching while the container prints still closes its stdin', async () => {
    // conmon frees a client whose output write failed before it read the client's EOF,
    // then forgets to close the container's stdin (attach.ts hangUp()): a detach during
    // a flood of output used to leave stdin open most of the time.
    const prog = '(while :; do echo tick; done) & cat >/dev/null; exit 7';
    for (let i = 0; i < 3; i++) {
      const name = `flood${i}`;
      await runDetached(['-i', '--log-driver', 'none', '--name', name, IMG, 'sh', '-c', prog]);
      const child = spawn(SKIFF_BIN, ['--root', s.root, '--runroot', s.runroot, 'attach', name], {env: s.env, stdio: ['pipe', 'pipe', 'pipe']});
      try {
        let seen = false;
        let err = '';
        child.stdout.on('data', (d: Buffer) => (seen ||= d.includes('tick')));
        child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
        const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
        await until('output', () => seen || undefined);
        child.stdin.write('\x10\x11');
        assert.equal(await exit, 0, err);
        // EOF on stdin ends cat: the container exits 7 on its own.
        await until(`${name} to see EOF and exit`, async () => (/^exited 7/.test(await status(name)) ? true : undefined), 20_000);
      } finally {
        child.kill('SIGKILL');
        await s.run(['rm', '-f', '-t', '0', name]);
      }
    }
  });
});

describe('terminal (tmux)', () => {
  let t: Tmux;
  let sk: string;
  before(() => {
    t = new Tmux(100, 30);
    sk = skiffScript(s);
  });
  after(async () => {
    t?.kill();
    await s.run(['rm', '-f', '-t', '0', 'tty1', 'tty2', 'tty3']);
  });

  const sane = /STTY(?=.*(?<![-\w])icanon\b)(?=.*(?<![-\w])echo\b)/s;

  test('run -it: raw local terminal, window size and resize, detach, re-attach, terminal restored', async () => {
    t.open('run', `${sk} run -it --name tty1 ${IMG} sh; echo EXIT=$?; echo STTY $(stty -a | tr '\\n' ' '); sleep 600`);
    await t.waitFor('run', /# ?$/m);
    t.type('run', 'stty size; echo sum$((40+2))');
    await t.waitFor('run', /^30 100\s*\nsum42/m);
    // Raw mode: the command line appears once (the container's echo), not twice.
    assert.equal(t.screen('run').split('echo sum$((40+2))').length - 1, 1, t.screen('run'));
    t.resize(120, 40);
    await until('the new size inside', async () => {
      t.type('run', 'stty size');
      await new Promise((r) => setTimeout(r, 300));
      return /^40 120\s*$/m.test(t.screen('run')) ? true : undefined;
    });
    t.keys('run', 'C-p', 'C-q');
    await t.waitFor('run', /EXIT=0/);
    assert.match((await t.waitFor('run', /STTY.*/))[0], sane);
    assert.match(await status('tty1'), /^running/);

    t.open('att', `${sk} attach tty1; echo AEXIT=$?; echo STTY $(stty -a | tr '\\n' ' '); sleep 600`);
    await until('attach to be connected', async () => {
      t.type('att', 'echo again$((2+3))');
      await new Promise((r) => setTimeout(r, 300));
      return /^again5/m.test(t.screen('att')) ? true : undefined;
    });
    t.type('att', 'exit 3');
    await t.waitFor('att', /AEXIT=0/);
    assert.match((await t.waitFor('att', /STTY.*/))[0], sane);
    await until('the container to exit 3', async () => ((await status('tty1')) === 'exited 3' ? true : undefined));
  });

  test('exec -it and start -ai get a terminal; a failing run -it restores the terminal', async () => {
    await runDetached(['-it', '--name', 'tty2', IMG, 'sh']);
    t.open('exec', `${sk} exec -it tty2 sh; echo XEXIT=$?; echo STTY $(stty -a | tr '\\n' ' '); sleep 600`);
    await t.waitFor('exec', /# ?$/m);
    t.type('exec', '[ -t 0 ] && echo IS$((1))TTY; stty size; exit 4');
    await t.waitFor('exec', /IS1TTY\s*\n\d+ \d+/);
    await t.waitFor('exec', /XEXIT=4/);
    assert.match((await t.waitFor('exec', /STTY.*/))[0], sane);
    assert.match(await status('tty2'), /^running/);

    assert.equal((await s.run(['create', '-it', '--name', 'tty3', IMG, 'sh'])).code, 0);
    t.open('start', `${sk} start -ai tty3; echo SEXIT=$?; sleep 600`);
    await t.waitFor('start', /# ?$/m);
    t.type('start', 'echo s$((3+3)); exit 2');
    await t.waitFor('start', /^s6/m);
    await t.waitFor('start', /SEXIT=2/);

    t.open('fail', `${sk} run --rm -it ${IMG} nosuchcmd; echo FEXIT=$?; echo STTY $(stty -a | tr '\\n' ' '); sleep 600`);
    await t.waitFor('fail', /FEXIT=127/);
    assert.match((await t.waitFor('fail', /STTY.*/))[0], sane);

    // Killed by a signal (not proxied): the terminal is restored all the same.
    t.open('sig', `sh -c 'echo PID=$$; exec ${sk} run --rm --sig-proxy=false -it ${IMG} sh'; echo KEXIT=$?; echo STTY $(stty -a | tr '\\n' ' '); sleep 600`);
    const pid = Number((await t.waitFor('sig', /PID=(\d+)/))[1]);
    await t.waitFor('sig', /# ?$/m);
    process.kill(pid, 'SIGTERM');
    await t.waitFor('sig', /KEXIT=143/);
    assert.match((await t.waitFor('sig', /STTY.*/))[0], sane);
  });
});
