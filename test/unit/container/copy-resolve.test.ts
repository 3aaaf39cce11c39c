/**
 * Container path resolution for cp, one test per attack: whatever symlinks
 * a container plants, the answer names something inside its root, and a
 * pinned directory cannot be swapped for a symlink.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {pinDir, resolveInRoot} from '../../../src/lib/container/copy/resolve';

function root(): string {
  const r = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-resolve-'));
  fs.mkdirSync(path.join(r, 'etc'));
  fs.writeFileSync(path.join(r, 'etc', 'passwd'), 'container');
  fs.mkdirSync(path.join(r, 'a', 'b'), {recursive: true});
  return r;
}

const follow = {followFinal: true};

test('absolute symlink to / restarts at the container root', () => {
  const r = root();
  try {
    fs.symlinkSync('/', path.join(r, 'slash'));
    assert.deepEqual(resolveInRoot(r, '/slash/etc/passwd', follow).rel, 'etc/passwd');
    fs.symlinkSync('/etc', path.join(r, 'etclink'));
    assert.equal(resolveInRoot(r, '/etclink/passwd', follow).rel, 'etc/passwd');
  } finally {
    fs.rmSync(r, {recursive: true, force: true});
  }
});

test('../ chains stop at the container root', () => {
  const r = root();
  try {
    fs.symlinkSync('../../../../../../../../', path.join(r, 'a', 'b', 'up'));
    assert.equal(resolveInRoot(r, '/a/b/up/etc/passwd', follow).rel, 'etc/passwd');
    assert.equal(resolveInRoot(r, '/../../../etc/passwd', follow).rel, 'etc/passwd');
  } finally {
    fs.rmSync(r, {recursive: true, force: true});
  }
});

test('a link to a host path names the same path inside the container (missing there)', () => {
  const r = root();
  try {
    fs.symlinkSync(os.tmpdir(), path.join(r, 'tmplink'));
    assert.throws(() => resolveInRoot(r, `/tmplink/${path.basename(r)}/etc/passwd`, follow), /could not be found/);
    const last = resolveInRoot(r, '/tmplink', follow);
    assert.equal(last.st, undefined, 'the final target does not exist inside');
    assert.equal(last.rel, os.tmpdir().slice(1));
  } finally {
    fs.rmSync(r, {recursive: true, force: true});
  }
});

test('symlink loops end in an error, not a hang', () => {
  const r = root();
  try {
    fs.symlinkSync('loop2', path.join(r, 'loop1'));
    fs.symlinkSync('loop1', path.join(r, 'loop2'));
    assert.throws(() => resolveInRoot(r, '/loop1', follow), /too many levels/);
  } finally {
    fs.rmSync(r, {recursive: true, force: true});
  }
});

test('without followFinal the last symlink is returned as itself', () => {
  const r = root();
  try {
    fs.symlinkSync('/', path.join(r, 'slash'));
    const got = resolveInRoot(r, '/slash', {followFinal: false});
    assert.equal(got.rel, 'slash');
    assert.ok(got.st?.isSymbolicLink());
  } finally {
    fs.rmSync(r, {recursive: true, force: true});
  }
});

test('a directory swapped for a symlink after resolution cannot be pinned', () => {
  const r = root();
  try {
    const rel = resolveInRoot(r, '/a/b', follow).rel;
    fs.rmSync(path.join(r, 'a', 'b'), {recursive: true});
    fs.symlinkSync('/', path.join(r, 'a', 'b'));
    assert.throws(() => pinDir(r, rel), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR' || e.code === 'ELOOP');
    const pin = pinDir(r, 'etc');
    try {
      assert.equal(fs.readFileSync(path.join(pin.dir, 'passwd'), 'utf8'), 'container');
    } finally {
      pin.close();
    }
  } finally {
    fs.rmSync(r, {recursive: true, force: true});
  }
});
