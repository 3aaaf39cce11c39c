/** volume create/ls/inspect/rm/prune/exists through the real CLI: output formats and exit codes as podman's. */
import {after, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {makeStore, type Store} from '../helpers/skiff';

const stores: Store[] = [];
function store(): Store {
  const s = makeStore();
  stores.push(s);
  return s;
}

after(async () => {
  for (const s of stores) await s.cleanup();
});

describe('volume commands', () => {
  test('create prints the name; the volume is on disk; bad names and duplicates exit 125', async () => {
    const s = store();
    const r = await s.run(['volume', 'create', 'data']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'data\n');
    assert.ok(fs.statSync(path.join(s.root, 'volumes', 'data', '_data')).isDirectory());
    const dup = await s.run(['volume', 'create', 'data']);
    assert.equal(dup.code, 125);
    assert.match(dup.stderr, /^Error: volume with name data already exists: volume already exists\n$/);
    const ignore = await s.run(['volume', 'create', '--ignore', 'data']);
    assert.equal(ignore.code, 0, ignore.stderr);
    assert.equal(ignore.stdout, 'data\n');
    for (const bad of ['-bad', 'a/b', 'sp ace', '.x']) {
      const b = await s.run(['volume', 'create', '--', bad]);
      assert.equal(b.code, 125, bad);
      assert.match(b.stderr, /names must match \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]\*/);
    }
    const anon = await s.run(['volume', 'create']);
    assert.equal(anon.code, 0, anon.stderr);
    assert.match(anon.stdout, /^[0-9a-f]{64}\n$/);
    const drv = await s.run(['volume', 'create', '--driver', 'nfs', 'x']);
    assert.equal(drv.code, 125);
    const opt = await s.run(['volume', 'create', '-o', 'bogus=1', 'y']);
    assert.equal(opt.code, 125);
    assert.match(opt.stderr, /invalid mount option bogus/);
    assert.equal((await s.run(['volume', 'exists', 'y'])).code, 1, 'a failed create leaves nothing');
  });

  test('ls: default table, -q, --noheading, templates, json, filters', async () => {
    const s = store();
    for (const args of [['web', '--label', 'app=web', '--label', 'tier=front'], ['db', '-l', 'app=db', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m']]) {
      const r = await s.run(['volume', 'create', ...args]);
      assert.equal(r.code, 0, r.stderr);
    }
    const table = await s.run(['volume', 'ls']);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stdout, 'DRIVER      VOLUME NAME\nlocal       db\nlocal       web\n');
    assert.equal((await s.run(['volume', 'ls', '-q'])).stdout, 'db\nweb\n');
    assert.equal((await s.run(['volume', 'ls', '--noheading'])).stdout, 'local       db\nlocal       web\n');
    assert.equal((await s.run(['volume', 'list', '--format', '{{.Name}} {{.Labels.app}} {{.Scope}}'])).stdout, 'db db local\nweb web local\n');
    const tbl = await s.run(['volume', 'ls', '--format', 'table {{.Name}}\\t{{.Mountpoint}}']);
    assert.equal(tbl.stdout.split('\n')[0].replace(/\s+/g, ' ').trim(), 'VOLUME NAME MOUNTPOINT', 'podman heads .Name as VOLUME NAME');
    assert.match(tbl.stdout, new RegExp(`web +${path.join(s.root, 'volumes', 'web', '_data')}`));
    const json = await s.run(['volume', 'ls', '--format', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      parsed.map((v) => v.Name),
      ['db', 'web'],
    );
    assert.deepEqual(parsed[0].Options, {type: 'tmpfs', device: 'tmpfs', o: 'size=1m'});
    assert.equal(parsed[1].Driver, 'local');
    assert.equal(parsed[1].NeedsCopyUp, true);
    assert.equal('Anonymous' in parsed[1], false, 'omitempty');
    assert.equal((await s.run(['volume', 'ls', '-q', '--filter', 'label=app=web'])).stdout, 'web\n');
    assert.equal((await s.run(['volume', 'ls', '-q', '--filter', 'name=^d'])).stdout, 'db\n');
    assert.equal((await s.run(['volume', 'ls', '-q', '-f', 'opt=type=tmpfs'])).stdout, 'db\n');
    assert.equal((await s.run(['volume', 'ls', '-q', '-f', 'dangling=true'])).stdout, 'db\nweb\n');
    const badFilter = await s.run(['volume', 'ls', '-f', 'color=red']);
    assert.equal(badFilter.code, 125);
    assert.match(badFilter.stderr, /"color" is an invalid volume filter/);
  });

  test('inspect: podman JSON, templates, --all, prefixes; a missing volume exits 125 after printing the others', async () => {
    const s = store();
    await s.run(['volume', 'create', '-l', 'k=v', 'myvol']);
    const r = await s.run(['volume', 'inspect', 'myvol']);
    assert.equal(r.code, 0, r.stderr);
    const [v] = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(Object.keys(v), ['Name', 'Driver', 'Mountpoint', 'CreatedAt', 'Labels', 'Scope', 'Options', 'MountCount', 'NeedsCopyUp', 'NeedsChown']);
    assert.equal(v.Mountpoint, path.join(s.root, 'volumes', 'myvol', '_data'));
    assert.deepEqual(v.Labels, {k: 'v'});
    assert.match(r.stdout, /^\[\n {5}\{\n {10}"Name": "myvol",/);
    assert.equal((await s.run(['volume', 'inspect', '--format', '{{.Name}}:{{.Driver}}:{{.Anonymous}}', 'myv'])).stdout, 'myvol:local:false\n');
    assert.equal(JSON.parse((await s.run(['volume', 'inspect', '--all'])).stdout).length, 1);
    const missing = await s.run(['volume', 'inspect', 'myvol', 'nothere']);
    assert.equal(missing.code, 125);
    assert.equal(JSON.parse(missing.stdout).length, 1);
    assert.match(missing.stderr, /no such volume nothere/);
    assert.equal((await s.run(['volume', 'inspect'])).code, 125);
  });

  test('exists: 0 or 1, no output', async () => {
    const s = store();
    await s.run(['volume', 'create', 'here']);
    const yes = await s.run(['volume', 'exists', 'here']);
    assert.equal(yes.code, 0);
    assert.equal(yes.stdout, '');
    assert.equal((await s.run(['volume', 'exists', 'nothere'])).code, 1);
    assert.equal((await s.run(['volume', 'exists', 'her'])).code, 1, 'full names only');
  });

  test('rm prints names; a missing volume exits 1 with the others removed; --all; usage errors 125', async () => {
    const s = store();
    for (const n of ['a', 'b', 'c']) await s.run(['volume', 'create', n]);
    const r = await s.run(['volume', 'rm', 'a', 'nothere', 'b']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'a\nb\n');
    assert.match(r.stderr, /^Error: no volume with name "nothere" found: no such volume\n$/);
    assert.equal(fs.existsSync(path.join(s.root, 'volumes', 'a')), false);
    assert.equal((await s.run(['volume', 'rm'])).code, 125);
    assert.equal((await s.run(['volume', 'rm', '--all', 'c'])).code, 125);
    assert.equal((await s.run(['volume', 'rm', '-t', '5', 'c'])).code, 125);
    const all = await s.run(['volume', 'remove', '--all']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, 'c\n');
    assert.equal((await s.run(['volume', 'ls', '-q'])).stdout, '');
  });

  test('prune: asks unless --force; removes unused volumes matching the filters', async () => {
    const s = store();
    await s.run(['volume', 'create', '-l', 'keep=1', 'kept']);
    await s.run(['volume', 'create', 'junk']);
    const no = await s.run(['volume', 'prune'], {input: 'n\n'});
    assert.equal(no.code, 0, no.stderr);
    assert.match(no.stderr, /WARNING! This will remove all volumes not used by at least one container/);
    assert.match(no.stderr, /^junk$/m);
    assert.equal(no.stdout, '');
    assert.equal((await s.run(['volume', 'ls', '-q'])).stdout, 'junk\nkept\n');
    const yes = await s.run(['volume', 'prune', '--filter', 'label!=keep'], {input: 'y\n'});
    assert.equal(yes.code, 0, yes.stderr);
    assert.equal(yes.stdout, 'junk\n');
    const forced = await s.run(['volume', 'prune', '-f']);
    assert.equal(forced.stdout, 'kept\n');
    const bad = await s.run(['volume', 'prune', '-f', '--filter', 'dangling=true']);
    assert.equal(bad.code, 125);
  });
});
