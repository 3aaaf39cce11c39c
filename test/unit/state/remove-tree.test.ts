import {after, test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {execFileSync} from 'node:child_process';
import {removeAll, removeFile, removeTree} from '../../../src/lib/state/remove-tree';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-rmtree-'));
after(() => {
  try {
    execFileSync('umount', ['-R', path.join(base, 'mnt', 'inner')], {stdio: 'ignore'});
  } catch {
    // not mounted
  }
  fs.rmSync(base, {recursive: true, force: true});
});

test('removeAll: a tree of files, links, fifos and nested dirs goes; a missing path is fine', () => {
  const t = path.join(base, 'tree');
  fs.mkdirSync(path.join(t, 'a', 'b', 'c'), {recursive: true});
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(t, 'a', `f${i}`), 'x');
  fs.writeFileSync(path.join(t, 'a', 'b', 'c', 'deep'), 'x');
  fs.symlinkSync('/nonexistent', path.join(t, 'dangling'));
  execFileSync('mkfifo', [path.join(t, 'a', 'fifo')]);
  fs.chmodSync(path.join(t, 'a', 'b'), 0o000); // overlayfs leaves work/work at mode 0; root removes it anyway
  removeAll(t);
  assert.equal(fs.existsSync(t), false);
  removeAll(t); // again: nothing there
  removeAll(path.join(base, 'never', 'was'));
});

test('removeAll never follows a symbolic link: what it points at survives', () => {
  const outside = path.join(base, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'keep'), 'precious');
  const t = path.join(base, 'withlink');
  fs.mkdirSync(t);
  fs.symlinkSync(outside, path.join(t, 'link-to-dir'));
  fs.symlinkSync(path.join(outside, 'keep'), path.join(t, 'link-to-file'));
  removeAll(t);
  assert.equal(fs.existsSync(t), false);
  assert.equal(fs.readFileSync(path.join(outside, 'keep'), 'utf8'), 'precious');
  // The top itself a symlink: the link goes, not its target.
  const top = path.join(base, 'toplink');
  fs.symlinkSync(outside, top);
  removeAll(top);
  assert.equal(fs.existsSync(top), false);
  assert.equal(fs.readFileSync(path.join(outside, 'keep'), 'utf8'), 'precious');
});

test('removeAll does not enter another file system: a mount left inside is EXDEV and its files stay', {skip: process.getuid?.() !== 0 ? 'needs root to mount a tmpfs' : false}, () => {
  const t = path.join(base, 'mnt');
  const inner = path.join(t, 'inner');
  fs.mkdirSync(inner, {recursive: true});
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', inner]);
  fs.writeFileSync(path.join(inner, 'on-tmpfs'), 'x');
  assert.throws(() => removeAll(t), (err: NodeJS.ErrnoException) => err.code === 'EXDEV' && err.path === t);
  assert.equal(fs.readFileSync(path.join(inner, 'on-tmpfs'), 'utf8'), 'x');
  execFileSync('umount', [inner]);
  removeAll(t);
  assert.equal(fs.existsSync(t), false);
});

test('removeFile: unlinks a file, ignores a missing one, refuses a directory', () => {
  const f = path.join(base, 'file');
  fs.writeFileSync(f, 'x');
  removeFile(f);
  assert.equal(fs.existsSync(f), false);
  removeFile(f);
  const d = path.join(base, 'adir');
  fs.mkdirSync(d);
  assert.throws(() => removeFile(d), (err: NodeJS.ErrnoException) => err.code === 'EISDIR');
  removeTree(d);
  assert.equal(fs.existsSync(d), false);
});
