/**
 * The container filesystem commands on real conmon + runc + overlayfs:
 * diff, mount/unmount (counted, running or not), export (piped into GNU
 * tar), cp in both directions (podman's path rules, streams, owners and
 * modes, and symlink-escape attempts planted by a hostile container), and
 * commit → run round trips (deletions, opaque directories, --change).
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {SKIFF_BIN, type Store} from '../helpers/skiff';
import {busyboxStore, type BusyboxStore} from '../helpers/busybox-store';

let fx: BusyboxStore;
let s: Store;
let IMG: string;
let host: string;

before(async () => {
  fx = await busyboxStore();
  ({store: s, image: IMG} = fx);
  host = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-cp-host-'));
});

after(async () => {
  await fx?.close();
  if (host) fs.rmSync(host, {recursive: true, force: true});
});

const ok = async (args: string[], input?: string) => {
  const r = await s.run(args, {input});
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const fails = async (args: string[]) => {
  const r = await s.run(args);
  assert.notEqual(r.code, 0, `${args.join(' ')} should fail: ${r.stdout}`);
  return r;
};
/** Mounts of this store's container root filesystems right now. */
const rootfsMounted = (id: string) => fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(`/containers/${id}/rootfs `);

/** skiff with binary stdin/stdout (for tar streams). */
function skiffBinary(args: string[], input?: Buffer): Promise<{code: number; stdout: Buffer; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(SKIFF_BIN, ['--root', s.root, '--runroot', s.runroot, ...args], {env: s.env, stdio: ['pipe', 'pipe', 'pipe']});
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({code: code ?? -1, stdout: Buffer.concat(out), stderr}));
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

describe('diff', () => {
  test('A/C/D against the image, opaque directories, mount points left out, --format json', async () => {
    await ok(['run', '--name', 'df', IMG, 'sh', '-c', 'echo n > /new; rm /bin/ls; rm -rf /usr; mkdir -p /usr/local; echo x > /usr/local/f; echo c >> /etc/passwd']);
    const out = await ok(['diff', 'df']);
    const lines = out.trim().split('\n');
    for (const l of ['A /new', 'C /bin', 'D /bin/ls', 'C /usr', 'D /usr/bin', 'A /usr/local', 'A /usr/local/f', 'C /etc', 'C /etc/passwd']) assert.ok(lines.includes(l), `${l} in:\n${out}`);
    assert.ok(!lines.some((l) => /\/etc\/(hosts|resolv\.conf|hostname)$/.test(l)), `mount points are not changes:\n${out}`);
    const paths = lines.map((l) => l.slice(2));
    assert.deepEqual([...paths].sort(), paths, 'sorted by path');
    const json = JSON.parse(await ok(['container', 'diff', '--format', 'json', 'df']));
    assert.ok(json.added.includes('/new'));
    assert.ok(json.deleted.includes('/bin/ls'));
    assert.ok(json.changed.includes('/etc/passwd'));
    const r = await fails(['diff', 'no-such-thing']);
    assert.equal(r.code, 125);
  });
});

describe('mount and unmount', () => {
  test('a stopped container: mounts are counted, the last unmount unmounts', async () => {
    const id = (await ok(['create', '--name', 'mt', IMG, 'true'])).trim();
    const p1 = (await ok(['mount', 'mt'])).trim();
    assert.ok(fs.existsSync(path.join(p1, 'bin', 'busybox')), 'merged rootfs visible');
    assert.ok(rootfsMounted(id));
    assert.equal((await ok(['container', 'mount', 'mt'])).trim(), p1);
    const list = await ok(['mount']);
    assert.match(list, new RegExp(`^${id.slice(0, 12)}\\s+${p1.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(await ok(['mount', '--no-trunc']), new RegExp(`^${id}\\s`, 'm'));
    assert.equal((await ok(['unmount', 'mt'])).trim(), id);
    assert.ok(rootfsMounted(id), 'still held by the first mount');
    await ok(['umount', 'mt']);
    assert.ok(!rootfsMounted(id), 'unmounted by the last unmount');
    assert.equal((await ok(['mount'])).includes(id.slice(0, 12)), false);
    // A mounted container can still be started and removed; rm unmounts.
    await ok(['mount', 'mt']);
    await ok(['start', '-a', 'mt']);
    assert.ok(rootfsMounted(id), 'the exit of the container keeps a mount someone holds');
    await ok(['rm', 'mt']);
    assert.ok(!rootfsMounted(id), 'rm unmounts');
  });

  test('a running container keeps its mount through unmount; a mount survives its stop', async () => {
    const id = (await ok(['run', '-d', '--name', 'mr', IMG, 'sleep', '60'])).trim();
    const p = (await ok(['mount', 'mr'])).trim();
    await ok(['unmount', 'mr']);
    await ok(['unmount', '--force', 'mr']);
    assert.ok(rootfsMounted(id), 'running: unmount leaves it');
    assert.ok(fs.existsSync(path.join(p, 'bin', 'busybox')));
    await ok(['mount', 'mr']);
    await ok(['stop', '-t', '0', 'mr']);
    assert.ok(rootfsMounted(id), 'stopped but still mounted by skiff mount');
    await ok(['unmount', 'mr']);
    assert.ok(!rootfsMounted(id));
    await ok(['rm', 'mr']);
  });
});

describe('export', () => {
  test('the merged filesystem, piped into tar -t and written with -o', async () => {
    await ok(['run', '--name', 'ex', IMG, 'sh', '-c', 'echo data > /exported; rm /bin/cat; mkfifo /fifo']);
    const r = await skiffBinary(['export', 'ex']);
    assert.equal(r.code, 0, r.stderr);
    const t = spawnSync('tar', ['-tv'], {input: r.stdout});
    assert.equal(t.status, 0, t.stderr.toString());
    const list = t.stdout.toString();
    assert.match(list, /^-.* exported$/m);
    assert.match(list, /^p.* fifo$/m);
    assert.match(list, /^drwxrwxrwt .* tmp\/$/m);
    assert.match(list, / bin\/busybox$/m);
    assert.doesNotMatch(list, / bin\/cat /);
    const file = path.join(host, 'ex.tar');
    await ok(['container', 'export', '-o', file, 'ex']);
    assert.deepEqual(fs.readFileSync(file), r.stdout, 'same bytes to a file and to stdout');
    const out = path.join(host, 'ex-out');
    fs.mkdirSync(out);
    assert.equal(spawnSync('tar', ['-xf', file, '-C', out]).status, 0);
    assert.equal(fs.readFileSync(path.join(out, 'exported'), 'utf8'), 'data\n');
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(s.dir + '/run/containers'), 'export unmounts what it mounted');
    await ok(['rm', 'ex']);
  });
});

describe('cp', () => {
  test('container → host: files, directories, "/.", existing and missing destinations', async () => {
    await ok(['run', '--name', 'cpo', IMG, 'sh', '-c', 'mkdir -p /d/sub; echo f > /d/sub/f; echo top > /d/top; chown 1000:1000 /d/top; chmod 4750 /d/top; ln /d/top /d/hard; ln -s top /d/link']);
    const d = path.join(host, 'out1');
    fs.mkdirSync(d);
    await ok(['cp', 'cpo:/d', d]);
    const top = fs.lstatSync(path.join(d, 'd', 'top'));
    assert.equal(top.uid, 1000);
    assert.equal(top.mode & 0o7777, 0o4750);
    assert.equal(fs.statSync(path.join(d, 'd', 'hard')).ino, top.ino, 'hardlinks kept');
    assert.equal(fs.readlinkSync(path.join(d, 'd', 'link')), 'top');
    await ok(['cp', 'cpo:/d/.', path.join(d, 'contents')]);
    assert.equal(fs.readFileSync(path.join(d, 'contents', 'sub', 'f'), 'utf8'), 'f\n');
    fs.mkdirSync(path.join(d, 'existing'));
    await ok(['cp', 'cpo:/d/.', path.join(d, 'existing')]);
    assert.ok(fs.existsSync(path.join(d, 'existing', 'top')), 'contents into an existing dir');
    await ok(['cp', 'cpo:/d/sub/f', path.join(d, 'renamed')]);
    assert.equal(fs.readFileSync(path.join(d, 'renamed'), 'utf8'), 'f\n');
    fs.writeFileSync(path.join(d, 'over'), 'old');
    await ok(['cp', 'cpo:/d/sub/f', path.join(d, 'over')]);
    assert.equal(fs.readFileSync(path.join(d, 'over'), 'utf8'), 'f\n');
    assert.equal((await fails(['cp', 'cpo:/d', path.join(d, 'over')])).code, 125, 'a directory onto a file');
    assert.equal((await fails(['cp', 'cpo:/d/sub/f', path.join(d, 'missing') + '/'])).code, 125, 'missing dir with a trailing slash');
    assert.equal((await fails(['cp', 'cpo:/nope', d])).code, 125);
    const tar = await skiffBinary(['cp', 'cpo:/d/sub', '-']);
    assert.equal(tar.code, 0, tar.stderr);
    assert.deepEqual(spawnSync('tar', ['-t'], {input: tar.stdout}).stdout.toString().trim().split('\n'), ['sub/', 'sub/f']);
    await ok(['rm', 'cpo']);
  });

  test('host → container: running and stopped, --archive, tar on stdin', async () => {
    const src = path.join(host, 'src');
    fs.mkdirSync(path.join(src, 'inner'), {recursive: true});
    fs.writeFileSync(path.join(src, 'inner', 'file'), 'hello');
    fs.chownSync(path.join(src, 'inner', 'file'), 1234, 4321);
    fs.chmodSync(path.join(src, 'inner', 'file'), 0o2751);
    await ok(['create', '--name', 'cpi', IMG, 'sh', '-c', 'stat -c "%u:%g %a" /srv/inner/file /keep/inner/file; cat /srv/inner/file /tmp/streamed']);
    await ok(['cp', src, 'cpi:/srv']);
    await ok(['cp', '--archive=false', src, 'cpi:/keep']);
    const tar = spawnSync('tar', ['-c', '-C', host, 'src/inner/file', '--transform', 's,.*,streamed,']).stdout;
    const r = await skiffBinary(['cp', '-', 'cpi:/tmp'], tar);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await s.run(['container', 'cp', '-', 'cpi:/no/such/dir'], {input: ''})).code, 125);
    const out = await ok(['start', '-a', 'cpi']);
    assert.equal(out, '0:0 2751\n1234:4321 2751\nhellohello');
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(s.dir + '/run/containers'), 'cp unmounts what it mounted');
    // A running container: the file shows up inside at once.
    await ok(['run', '-d', '--name', 'cpr', IMG, 'sleep', '60']);
    fs.writeFileSync(path.join(host, 'live'), 'live');
    await ok(['cp', path.join(host, 'live'), 'cpr:/tmp/']);
    const mp = (await ok(['mount', 'cpr'])).trim();
    assert.equal(fs.readFileSync(path.join(mp, 'tmp', 'live'), 'utf8'), 'live');
    await ok(['unmount', 'cpr']);
    await ok(['rm', '-f', '-t', '0', 'cpr', 'cpi']);
  });

  describe('a hostile container cannot make cp reach the host', () => {
    let secret: string;
    let target: string;
    before(async () => {
      // On the host: a secret to leak and a directory to write into.
      secret = path.join(host, 'secret');
      fs.writeFileSync(secret, 'host secret');
      target = path.join(host, 'target');
      fs.mkdirSync(target);
      const up = '../'.repeat(12);
      await ok(['run', '--name', 'evil', IMG, 'sh', '-c', [
        `ln -s / /rootlink`,
        `ln -s ${secret} /abs-secret`,
        `ln -s ${up}${secret.slice(1)} /rel-secret`,
        `ln -s ${target} /abs-target`,
        `ln -s ${up}${target.slice(1)} /rel-target`,
        `ln -s /etc /etclink`,
        `mkdir -p /deep/a && ln -s ../../../../.. /deep/a/up`,
        `mkdir -p ${target} && echo container > ${target}/inside`,
      ].join(' && ')]);
    });

    test('reading: absolute and ../ symlinks resolve inside the container', async () => {
      const out = path.join(host, 'leak');
      fs.mkdirSync(out);
      for (const p of ['/abs-secret', '/rel-secret', `/rootlink${secret}`, `/deep/a/up${secret}`]) {
        const r = await s.run(['cp', `evil:${p}`, path.join(out, 'x')]);
        assert.notEqual(r.code, 0, `${p} must not be found (it is only on the host)`);
        assert.ok(!fs.existsSync(path.join(out, 'x')), `${p} leaked the host file`);
      }
      // The same links lead to the container's own files.
      await ok(['cp', 'evil:/rel-target/inside', path.join(out, 'inside')]);
      assert.equal(fs.readFileSync(path.join(out, 'inside'), 'utf8'), 'container\n');
      await ok(['cp', 'evil:/etclink/passwd', path.join(out, 'passwd')]);
      assert.match(fs.readFileSync(path.join(out, 'passwd'), 'utf8'), /^root:x:0:0/);
      assert.notEqual(fs.readFileSync(path.join(out, 'passwd'), 'utf8'), fs.readFileSync('/etc/passwd', 'utf8'));
      const tar = await skiffBinary(['cp', 'evil:/rootlink/.', '-']);
      assert.equal(tar.code, 0, tar.stderr);
      const names = spawnSync('tar', ['-t'], {input: tar.stdout, maxBuffer: 256 << 20}).stdout.toString();
      assert.ok(names.includes('bin/busybox') && !names.includes('boot/'), 'the root link is the container root');
    });

    test('writing: symlinks to /, ../../ and host dirs never lead out', async () => {
      const payload = path.join(host, 'payload');
      fs.writeFileSync(payload, 'pwned');
      for (const dest of ['/abs-target/', '/rel-target/', `/rootlink${target}/`, `/deep/a/up${target}/`]) {
        await ok(['cp', payload, `evil:${dest}`]);
        assert.deepEqual(fs.readdirSync(target), [], `${dest}: nothing written on the host`);
      }
      await ok(['cp', payload, 'evil:/etclink/skiff-payload']);
      assert.ok(!fs.existsSync('/etc/skiff-payload'), 'the host /etc untouched');
      // A tar stream whose members climb out or go through a planted link.
      const staging = path.join(host, 'staging');
      fs.mkdirSync(staging);
      fs.symlinkSync(target, path.join(staging, 'via'));
      const tar = spawnSync('tar', ['-c', '-C', staging, 'via', '-C', host, 'payload', '--transform', 's,^payload$,via/streamed,']).stdout;
      const r = await skiffBinary(['cp', '-', 'evil:/deep'], tar);
      assert.equal(r.code, 0, r.stderr);
      const climb = spawnSync('tar', ['-c', '-P', '-C', host, 'payload', '--transform', `s,^payload$,../../../../..${target}/climbed,`]).stdout;
      await skiffBinary(['cp', '-', 'evil:/deep/a/up'], climb);
      assert.deepEqual(fs.readdirSync(target), [], 'nothing written on the host');
      const mp = (await ok(['mount', 'evil'])).trim();
      try {
        assert.equal(fs.readFileSync(path.join(mp, target.slice(1), 'payload'), 'utf8'), 'pwned', 'landed in the container instead');
        assert.equal(fs.readFileSync(path.join(mp, 'etc', 'skiff-payload'), 'utf8'), 'pwned');
        assert.equal(fs.readFileSync(path.join(mp, 'deep', target.slice(1), 'streamed'), 'utf8'), 'pwned', 'a member below a link in the stream stays in the container');
      } finally {
        await ok(['unmount', 'evil']);
      }
    });
  });
});

describe('commit', () => {
  test('commit → run: additions, deletions, opaque directories, --change, -m, -a', async () => {
    await ok(['run', '--name', 'cm', '-e', 'FROMRUN=1', IMG, 'sh', '-c', 'echo added > /added; rm /bin/wc; rm -rf /usr; mkdir -p /usr/fresh; echo f > /usr/fresh/f; mkfifo /fifo; chmod 4755 /added']);
    const r = await s.run(['commit', '-c', 'CMD ["cat", "/added"]', '-c', 'ENV A=1 B="two words"', '-c', 'WORKDIR /usr', '-c', 'LABEL team=skiff', '-c', 'EXPOSE 8080/tcp', '-m', 'a message', '-a', 'An Author', 'cm', 'committed']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
    assert.match(r.stderr, /Writing manifest to image destination/);
    const id = r.stdout.trim();
    assert.equal(await ok(['run', '--rm', 'committed']), 'added\n');
    const inside = await ok(['run', '--rm', 'committed', 'sh', '-c', 'ls /bin/wc 2>&1; ls /usr; echo $A $B $FROMRUN; pwd; stat -c %a /added; test -p /fifo && echo fifo']);
    assert.equal(inside, 'ls: /bin/wc: No such file or directory\nfresh\n1 two words 1\n/usr\n4755\nfifo\n');
    const info = JSON.parse(await ok(['image', 'inspect', 'committed']))[0];
    assert.equal(info.Id, id);
    assert.equal(info.Author, 'An Author');
    assert.equal(info.Comment, 'a message');
    assert.equal(info.Config.Labels.team, 'skiff');
    assert.ok('8080/tcp' in info.Config.ExposedPorts);
    assert.equal(info.RootFS.Layers.length, 2);
    assert.deepEqual(info.RepoTags, ['localhost/committed:latest']);
    // The image's top layer, as diff sees it, is the container's change set.
    const diff = await ok(['diff', 'committed']);
    for (const l of ['A /added', 'D /bin/wc', 'D /usr/bin', 'A /usr/fresh/f']) assert.ok(diff.split('\n').includes(l), `${l} in\n${diff}`);
    await ok(['rm', 'cm']);
  });

  test('a running container is paused for the commit and runs on; -q, --format docker, --iidfile', async () => {
    await ok(['run', '-d', '--name', 'cmr', IMG, 'sh', '-c', 'echo live > /live; sleep 60']);
    for (let i = 0; i < 100 && !(await s.run(['mount', 'cmr'])).stdout; i++) await new Promise((res) => setTimeout(res, 50));
    await ok(['unmount', 'cmr']);
    const iid = path.join(host, 'iid');
    const r = await s.run(['commit', '-q', '--format', 'docker', '--iidfile', iid, 'cmr', 'fromrunning:v2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(fs.readFileSync(iid, 'utf8'), `sha256:${r.stdout.trim()}`);
    assert.equal((await ok(['ps', '--filter', 'name=cmr', '--format', '{{.State}}'])).trim(), 'running');
    const info = JSON.parse(await ok(['image', 'inspect', 'fromrunning:v2']))[0];
    assert.equal(info.ManifestType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(await ok(['run', '--rm', 'fromrunning:v2', 'cat', '/live']), 'live\n');
    assert.equal((await fails(['commit', '-c', 'ONBUILD RUN x', 'cmr'])).code, 125);
    assert.equal((await fails(['commit', 'no-such-container'])).code, 125);
    await ok(['rm', '-f', '-t', '0', 'cmr']);
    await ok(['rmi', 'fromrunning:v2', 'committed']);
  });
});
