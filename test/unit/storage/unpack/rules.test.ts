/** The small pure rules: numbers, checksums, PAX records, path cleaning, whiteout names. */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {parseDecimal, parseNumeric, parseTime} from '../../../../src/lib/storage/unpack/numeric';
import {verifyChecksum} from '../../../../src/lib/storage/unpack/header';
import {parsePaxRecords} from '../../../../src/lib/storage/unpack/pax';
import {cleanComponents, entryComponents, stripAbsolute} from '../../../../src/lib/storage/unpack/safe-path';
import {classifyWhiteout, isOverlayPrivateXattr} from '../../../../src/lib/storage/unpack/whiteout';
import {header} from './tar-fixture';

const field = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s));

test('octal fields: padding, terminators, empty', () => {
  assert.equal(parseNumeric(field('0000644\0'), 0, 8), 0o644);
  assert.equal(parseNumeric(field('  755 \0\0'), 0, 8), 0o755);
  assert.equal(parseNumeric(field('\0\0\0\0\0\0\0\0'), 0, 8), 0);
  assert.equal(parseNumeric(field('77777777777\0'), 0, 12), 0o77777777777);
  assert.throws(() => parseNumeric(field('0000649\0'), 0, 8), /invalid octal digit/);
  assert.throws(() => parseNumeric(field('12 34\0\0\0'), 0, 8), /garbage after octal/);
});

test('base-256 fields: positive, negative, too large', () => {
  assert.equal(parseNumeric(field([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00]), 0, 12), 256);
  assert.equal(parseNumeric(field([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), 0, 8), -2);
  assert.throws(() => parseNumeric(field([0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 0, 12), /too large/);
});

test('PAX decimals and times', () => {
  assert.equal(parseDecimal('0'), 0);
  assert.throws(() => parseDecimal('-1'));
  assert.throws(() => parseDecimal('1e3'));
  assert.equal(parseTime('-1.5'), -1.5);
  assert.equal(parseTime('1700000000.5'), 1700000000.5);
  assert.throws(() => parseTime('soon'));
});

test('checksum: correct, off by one, signed variant', () => {
  const h = header({name: 'a'});
  assert.ok(verifyChecksum(h, 0));
  const bad = header({name: 'a', badChecksum: true});
  assert.ok(!verifyChecksum(bad, 0));
  // A high byte in the name: the signed sum differs from the unsigned one; both are accepted.
  const hi = header({name: 'a'});
  hi[1] = 0xc3;
  hi.fill(0x20, 148, 156);
  let signed = 0;
  for (const b of hi) signed += b & 0x80 ? b - 256 : b;
  hi.write(signed.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  assert.ok(verifyChecksum(hi, 0));
});

test('checksum: a header at an offset, high bytes in the unsigned sum, garbage in the checksum field ignored', () => {
  const h = header({name: 'caf\u00e9-\u00ff'}); // UTF-8: several bytes >= 0x80, unsigned checksum as written
  const buf = Buffer.concat([Buffer.alloc(512, 0xee), h]);
  assert.ok(verifyChecksum(buf, 512));
  assert.ok(!verifyChecksum(buf, 0));
  // The sum counts the checksum field as spaces, whatever it holds: changing a byte there after the digits changes nothing.
  const odd = Buffer.from(buf);
  assert.equal(odd[512 + 155], 0x20);
  odd[512 + 155] = 0;
  assert.ok(verifyChecksum(odd, 512));
  odd[512 + 100] ^= 1; // mode field: the sum no longer matches
  assert.ok(!verifyChecksum(odd, 512));
});

test('PAX records: lengths count themselves, binary values kept, malformed rejected', () => {
  const m = parsePaxRecords(Buffer.from('30 mtime=1700000000.123456789\n12 uid=1000\n'));
  assert.equal(m.get('mtime')?.toString(), '1700000000.123456789');
  assert.equal(m.get('uid')?.toString(), '1000');
  const bin = Buffer.concat([Buffer.from('29 SCHILY.xattr.user.b='), Buffer.from([0, 1, 0xff, 10, 0]), Buffer.from('\n')]);
  assert.deepEqual(parsePaxRecords(bin).get('SCHILY.xattr.user.b'), Buffer.from([0, 1, 0xff, 10, 0]));
  assert.throws(() => parsePaxRecords(Buffer.from('11 uid=1000\n')), /malformed/);
  assert.throws(() => parsePaxRecords(Buffer.from('x uid=1\n')), /invalid pax record length/);
  assert.throws(() => parsePaxRecords(Buffer.from('8 nokey\n')), /without "="/);
});

test('path rules: strip absolute, fold dots, reject escapes', () => {
  assert.equal(stripAbsolute('///etc/passwd'), 'etc/passwd');
  assert.deepEqual(cleanComponents('./a//b/./c/'), ['a', 'b', 'c']);
  assert.deepEqual(cleanComponents('a/../b'), ['b']);
  assert.equal(cleanComponents('a/../../b'), undefined);
  assert.equal(cleanComponents('..'), undefined);
  assert.deepEqual(entryComponents('/'), []);
  assert.deepEqual(entryComponents('./'), []);
  assert.throws(() => entryComponents('/../etc'), /escapes the layer root/);
});

test('whiteout names', () => {
  assert.deepEqual(classifyWhiteout('.wh.foo'), {kind: 'delete', target: 'foo'});
  assert.deepEqual(classifyWhiteout('.wh..wh..opq'), {kind: 'opaque'});
  assert.deepEqual(classifyWhiteout('.wh..wh.plnk'), {kind: 'aufs-meta'});
  for (const bad of ['.wh.', '.wh..', '.wh...']) assert.deepEqual(classifyWhiteout(bad), {kind: 'invalid'});
  assert.equal(classifyWhiteout('.whfoo'), undefined);
  assert.equal(classifyWhiteout('foo.wh.bar'), undefined);
  assert.ok(isOverlayPrivateXattr('trusted.overlay.redirect'));
  assert.ok(!isOverlayPrivateXattr('trusted.other'));
});
