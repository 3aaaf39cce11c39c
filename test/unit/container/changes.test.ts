/**
 * upperChanges on hand-made overlay directories: whiteouts (0/0 char
 * devices), opaque directories (trusted.overlay.opaque=y), additions and
 * changes against a two-layer image whose top layer itself deletes and
 * makes opaque.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {ImageView, upperChanges} from '../../../src/lib/container/changes';
import {lsetxattr, mknod} from '../../../src/lib/util/native';

function tree(root: string, spec: Record<string, string | null | 'opaque-dir' | 'dir'>): void {
  for (const [rel, what] of Object.entries(spec)) {
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), {recursive: true});
    if (what === null) mknod(abs, fs.constants.S_IFCHR, 0, 0);
    else if (what === 'dir' || what === 'opaque-dir') {
      fs.mkdirSync(abs, {recursive: true});
      if (what === 'opaque-dir') lsetxattr(abs, 'trusted.overlay.opaque', Buffer.from('y'));
    } else fs.writeFileSync(abs, what);
  }
}

test('changes of an upper dir against a layered image', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-changes-'));
  try {
    const base = path.join(dir, 'base');
    const top = path.join(dir, 'top');
    const upper = path.join(dir, 'upper');
    tree(base, {'etc/passwd': 'p', 'etc/group': 'g', 'usr/bin/a': 'a', 'usr/bin/b': 'b', 'opt/x/old': 'o', 'gone/f': 'f'});
    tree(top, {'gone': null, 'opt/x': 'opaque-dir', 'opt/x/new': 'n'});
    const view = new ImageView([base, top]);
    assert.ok(view.locate('etc/passwd'));
    assert.equal(view.locate('gone/f'), undefined, 'below a whiteout');
    assert.equal(view.locate('opt/x/old'), undefined, 'below an opaque dir of a higher layer');
    assert.ok(view.locate('opt/x/new'));
    assert.deepEqual(view.children('opt/x'), ['new']);
    tree(upper, {'etc/passwd': 'changed', 'etc/group': null, 'usr': 'opaque-dir', 'usr/local/f': 'f', 'new': 'n', 'gone/again': 'a'});
    const got = upperChanges(upper, [base, top], new Set(['/etc/hosts'])).map((c) => `${c.kind} ${c.path}`);
    assert.deepEqual(got, ['C /etc', 'D /etc/group', 'C /etc/passwd', 'A /gone', 'A /gone/again', 'A /new', 'C /usr', 'D /usr/bin', 'A /usr/local', 'A /usr/local/f']);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});
