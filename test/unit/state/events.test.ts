import {test, after} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {Paths} from '../../../src/lib/state/paths';
import {emitEvent, eventsFile, followEvents, readEvents} from '../../../src/lib/events/log';
import {buildEventFilter} from '../../../src/lib/events/filter';
import {humanEvent} from '../../../src/lib/events/human';
import {goDurationMs, parseInputTime, parseRfc3339Ns, rfc3339Nano} from '../../../src/lib/events/time';
import type {SkiffEvent} from '../../../src/lib/events/types';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-events-'));
after(() => fs.rmSync(base, {recursive: true, force: true}));
const store = () => {
  const d = fs.mkdtempSync(path.join(base, 's'));
  return new Paths({root: path.join(d, 'root'), runroot: path.join(d, 'run')});
};

test('events are appended as JSON lines with podman field names, empty fields left out', async () => {
  const paths = store();
  await emitEvent(paths, {ID: 'abc', Name: 'c1', Image: 'busybox', Status: 'create', Type: 'container', Attributes: {}});
  await emitEvent(paths, {Name: 'v1', Status: 'create', Type: 'volume'});
  const lines = fs.readFileSync(eventsFile(paths), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(lines[0]), ['ID', 'Image', 'Name', 'Status', 'Time', 'Type']);
  assert.deepEqual(Object.keys(lines[1]), ['Name', 'Status', 'Time', 'Type']);
  assert.ok(parseRfc3339Ns(lines[1].Time)! > parseRfc3339Ns(lines[0].Time)!);
});

test('concurrent appends never interleave or lose a line', async () => {
  const paths = store();
  await Promise.all(Array.from({length: 50}, (_, i) => emitEvent(paths, {Name: `v${i}`, Status: 'create', Type: 'volume'})));
  const evs = readEvents(paths);
  assert.equal(evs.length, 50);
  assert.equal(new Set(evs.map((e) => e.Name)).size, 50);
});

test('the log rotates at its size bound and readers see both generations in order', async () => {
  const paths = store();
  for (let i = 0; i < 20; i++) await emitEvent(paths, {Name: `v${i}`, Status: 'create', Type: 'volume'}, {maxBytes: 600});
  assert.ok(fs.existsSync(eventsFile(paths) + '.1'));
  assert.ok(fs.statSync(eventsFile(paths)).size <= 600);
  const names = readEvents(paths).map((e) => Number(e.Name!.slice(1)));
  assert.ok(names.length < 20 && names.length > 2, `kept ${names.length}`);
  assert.deepEqual(names, [...names].sort((a, b) => a - b));
  assert.equal(names[names.length - 1], 19);
});

test('a follower gets what is stored, then new events, across a rotation', async () => {
  const paths = store();
  await emitEvent(paths, {Name: 'old', Status: 'create', Type: 'volume'});
  const got: string[] = [];
  const f = followEvents(paths, (e) => got.push(e.Name!), {intervalMs: 10});
  assert.deepEqual(f.existing.map((e) => e.Name), ['old']);
  for (let i = 0; i < 12; i++) {
    await emitEvent(paths, {Name: `n${i}`, Status: 'create', Type: 'volume'}, {maxBytes: 400});
    await new Promise((r) => setTimeout(r, 25));
  }
  await new Promise((r) => setTimeout(r, 50));
  f.stop();
  assert.deepEqual(got, Array.from({length: 12}, (_, i) => `n${i}`));
});

test('a torn last line is skipped', async () => {
  const paths = store();
  await emitEvent(paths, {Name: 'a', Status: 'create', Type: 'volume'});
  fs.appendFileSync(eventsFile(paths), '{"Name":"b","Sta');
  assert.deepEqual(readEvents(paths).map((e) => e.Name), ['a']);
});

const E = (o: Partial<SkiffEvent>): SkiffEvent => ({Status: 'create', Type: 'container', Time: '2024-05-01T10:20:30.123456789Z', ...o});

test('filters: one key ORs its values, different keys AND; die means died', () => {
  const evs = [
    E({ID: 'aaa111', Name: 'web', Status: 'start', Image: 'docker.io/library/busybox:latest', Attributes: {app: 'x'}}),
    E({ID: 'bbb222', Name: 'db', Status: 'died', Image: 'localhost/db:1'}),
    E({Type: 'image', ID: 'ccc', Name: 'docker.io/library/busybox:latest', Status: 'pull'}),
    E({Type: 'volume', Name: 'vol1', Status: 'remove'}),
  ];
  const pick = (...f: string[]) => evs.filter(buildEventFilter(f)).map((e) => e.Name);
  assert.deepEqual(pick('type=container'), ['web', 'db']);
  assert.deepEqual(pick('event=die'), ['db']);
  assert.deepEqual(pick('event=start', 'event=died'), ['web', 'db']);
  assert.deepEqual(pick('type=container', 'event=pull'), []);
  assert.deepEqual(pick('container=web'), ['web']);
  assert.deepEqual(pick('container=bbb'), ['db']);
  assert.deepEqual(pick('image=busybox'), ['web', 'docker.io/library/busybox:latest']);
  assert.deepEqual(pick('volume=vol1'), ['vol1']);
  assert.deepEqual(pick('label=app=x'), ['web']);
  assert.deepEqual(pick('label=app'), ['web']);
  assert.deepEqual(pick('label=app=y'), []);
  assert.throws(() => buildEventFilter(['colour=red']), /colour is an invalid filter/);
  assert.throws(() => buildEventFilter(['nokey']), /invalid filter/);
});

test("podman's human-readable lines", () => {
  const prevTz = process.env.TZ;
  process.env.TZ = 'UTC';
  try {
    const t = '2024-05-01T10:20:30.1234Z';
    assert.equal(
      humanEvent(E({Time: t, ID: '0123456789abcdef0123', Name: 'web', Image: 'busybox', Status: 'start', Attributes: {app: 'x'}})),
      '2024-05-01 10:20:30.1234 +0000 UTC container start 0123456789ab (image=busybox, name=web, app=x)',
    );
    assert.equal(humanEvent(E({Time: t, Type: 'image', ID: 'abc', Name: 'busybox', Status: 'pull'})), '2024-05-01 10:20:30.1234 +0000 UTC image pull abc busybox');
    assert.equal(humanEvent(E({Time: '2024-05-01T10:20:30Z', Type: 'volume', Name: 'v', Status: 'create'})), '2024-05-01 10:20:30 +0000 UTC volume create v');
  } finally {
    if (prevTz === undefined) delete process.env.TZ;
    else process.env.TZ = prevTz;
  }
});

test('times: RFC 3339 with nanoseconds round-trips; --since accepts durations, unix seconds and dates', () => {
  assert.equal(rfc3339Nano(parseRfc3339Ns('2024-05-01T10:20:30.000000001Z')!), '2024-05-01T10:20:30.000000001Z');
  assert.equal(parseRfc3339Ns('2024-05-01T12:20:30+02:00'), parseRfc3339Ns('2024-05-01T10:20:30Z'));
  const now = Date.parse('2024-05-01T10:20:30Z');
  assert.equal(parseInputTime('10m', now), BigInt(now - 600_000) * 1_000_000n);
  assert.equal(parseInputTime('1h30m', now), BigInt(now - 5_400_000) * 1_000_000n);
  assert.equal(parseInputTime('1714558830', now), 1714558830n * 1_000_000_000n);
  assert.equal(parseInputTime('1714558830.5', now), 1714558830500000000n);
  assert.equal(parseInputTime('2024-05-01T10:20:30Z', now), BigInt(now) * 1_000_000n);
  assert.equal(parseInputTime('yesterday', now), undefined);
  assert.equal(goDurationMs('1.5h'), 5_400_000);
  assert.equal(goDurationMs('300ms'), 300);
  assert.equal(goDurationMs('5'), undefined);
});
