import {test, describe} from 'node:test';
import assert from 'node:assert/strict';
import {PassThrough} from 'node:stream';
import {parseDetachKeys} from '../../../src/lib/runtime/detach-keys';
import {SyncReader} from '../../../src/lib/runtime/monitor/sync-pipe';
import {scanDetach} from '../../../src/lib/runtime/attach';
import {execProcess} from '../../../src/lib/container/exec';
import {execConmonArgs} from '../../../src/lib/runtime/conmon-exec';
import type {OciProcess} from '../../../src/lib/runtime/spec/oci-types';
import type {ContainerConfig} from '../../../src/lib/container/types';
import {RuncRuntime} from '../../../src/lib/runtime/oci-runtime';

describe('detach keys', () => {
  test("podman's spellings", () => {
    assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
    assert.deepEqual([...parseDetachKeys('ctrl-a,x,ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')], [1, 120, 0, 27, 28, 29, 30, 31]);
    assert.deepEqual([...parseDetachKeys('')], []);
    for (const bad of ['ctrl-1', 'ctrl-', 'ab', 'ctrl-p,,ctrl-q', 'alt-x']) assert.throws(() => parseDetachKeys(bad), /invalid detach keys/, bad);
  });

  test('the sequence is found across chunks, and a broken prefix is forwarded', () => {
    const keys = Uint8Array.from([16, 17]);
    let r = scanDetach(keys, 0, Buffer.from('ab\x10'));
    assert.deepEqual([r.forward.toString(), r.matched, r.detach], ['ab', 1, false]);
    r = scanDetach(keys, 1, Buffer.from('\x11'));
    assert.equal(r.detach, true);
    r = scanDetach(keys, 1, Buffer.from('c'));
    assert.deepEqual([r.forward.toString(), r.matched, r.detach], ['\x10c', 0, false]);
  });
});

describe('sync pipe', () => {
  test('successive messages, even in one chunk, then undefined at the end', async () => {
    const s = new PassThrough();
    const r = new SyncReader(s);
    s.write('{"data": 42}\n{"data": 3');
    assert.deepEqual(await r.next(), {data: 42});
    const pending = r.next();
    s.end('}\n');
    assert.deepEqual(await pending, {data: 3});
    assert.equal(await r.next(), undefined);
  });
});

describe('exec process', () => {
  const base: OciProcess = {
    terminal: false,
    user: {uid: 0, gid: 0, umask: 0o22},
    args: ['sleep', '1000'],
    env: ['PATH=/bin', 'HOME=/root', 'A=container'],
    cwd: '/srv',
    capabilities: {bounding: ['CAP_CHOWN'], effective: ['CAP_CHOWN'], permitted: ['CAP_CHOWN'], inheritable: [], ambient: []},
    rlimits: [{type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024}],
    noNewPrivileges: false,
  };
  const config = {capAdd: [], capDrop: [], privileged: false} as unknown as ContainerConfig;
  const files: Record<string, string> = {'/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n', '/etc/group': 'app:x:1001:\nextra:x:2000:app\n'};
  const read = (p: string) => files[p];
  const req = {command: ['id'], tty: false, interactive: false, env: [], privileged: false, detach: false};

  test("the container's process with the request's command, env, cwd and terminal", () => {
    const p = execProcess(base, config, {...req, tty: true, env: ['A=exec', 'B=2'], workdir: '/tmp'}, read);
    assert.deepEqual(p.args, ['id']);
    assert.equal(p.terminal, true);
    assert.equal(p.cwd, '/tmp');
    assert.deepEqual(p.env, ['PATH=/bin', 'HOME=/root', 'TERM=xterm', 'A=exec', 'B=2']);
    assert.deepEqual(p.rlimits, base.rlimits);
    assert.deepEqual(p.capabilities, base.capabilities);
    assert.deepEqual(base.args, ['sleep', '1000'], 'the base is not modified');
  });

  test('-u resolves in the rootfs, sets HOME and drops capabilities for non-root; --privileged adds them', () => {
    const p = execProcess(base, config, {...req, user: 'app'}, read);
    assert.deepEqual(p.user, {uid: 1000, gid: 1001, umask: 0o22, additionalGids: [2000]});
    assert.ok(p.env.includes('HOME=/home/app'));
    assert.deepEqual(p.capabilities.effective, []);
    assert.throws(() => execProcess(base, config, {...req, user: 'nobody'}, read), /unable to find user nobody/);
    const priv = execProcess(base, config, {...req, privileged: true}, read);
    assert.ok(priv.capabilities.effective.includes('CAP_SYS_ADMIN'));
  });

  test("conmon's exec argv", () => {
    const runtime = new RuncRuntime({path: '/usr/sbin/runc', stateDir: '/run/x'});
    const common = {conmonPath: '/usr/bin/conmon', runtime, containerId: 'cid', execId: 'eid', sessionDir: '/s', process: {}};
    const a = execConmonArgs({...common, terminal: true, stdin: true, attach: {}});
    assert.ok(a.includes('-t') && !a.includes('-i'), 'a terminal is the stdin');
    assert.ok(a.includes('--exec-attach'));
    assert.deepEqual(a.slice(a.indexOf('--exit-dir'), a.indexOf('--exit-dir') + 2), ['--exit-dir', '/s/exits']);
    const d = execConmonArgs({...common, terminal: false, stdin: true});
    assert.ok(d.includes('-i') && !d.includes('--exec-attach'));
    assert.ok(execConmonArgs({...common, terminal: false, stdin: false, preserveFds: 2}).includes('--runtime-opt=--preserve-fds=2'));
  });
});
