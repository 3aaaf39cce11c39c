import {test, describe, after} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {followLogs, formatLogEntry, formatLogTime, parseLogLine, readLogs, type LogEntry, type LogReadOptions} from '../../../src/lib/runtime/logs';
import {logTimeNs} from '../../../src/lib/runtime/monitor/log-line';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-logs-'));
after(() => fs.rmSync(base, {recursive: true, force: true}));
const tmp = () => fs.mkdtempSync(path.join(base, 't'));

/** A log line at second `s` (nanosecond fraction `ns`) of a fixed minute, UTC. */
function L(s: number, stream: 'stdout' | 'stderr', tag: 'F' | 'P', msg: string, ns = 0): string {
  return `2024-05-01T10:20:${String(s).padStart(2, '0')}.${String(ns).padStart(9, '0')}+00:00 ${stream} ${tag} ${msg}\n`;
}

async function collect(file: string, opts?: LogReadOptions): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readLogs(file, opts)) out.push(e);
  return out;
}

const lines = (es: LogEntry[]) => es.map((e) => `${e.stream}:${e.line}${e.partial ? '(partial)' : ''}`);

describe('k8s-file line format', () => {
  test('parses full, partial and empty lines, keeping the message exactly', () => {
    assert.deepEqual(parseLogLine('2024-05-01T10:20:30.123456789+02:00 stdout F hello  world '), {
      time: '2024-05-01T10:20:30.123456789+02:00',
      stream: 'stdout',
      partial: false,
      text: 'hello  world ',
    });
    assert.deepEqual(parseLogLine('2024-05-01T10:20:30.1Z stderr P part'), {time: '2024-05-01T10:20:30.1Z', stream: 'stderr', partial: true, text: 'part'});
    assert.equal(parseLogLine('2024-05-01T10:20:30.000000001+00:00 stdout F')?.text, '');
    assert.equal(parseLogLine('2024-05-01T10:20:30.000000001+00:00 stdout F ')?.text, '');
    assert.equal(parseLogLine('2024-05-01T10:20:30.000000001+00:00 stdout Fx')?.text, 'Fx', 'untagged (old format)');
    assert.equal(parseLogLine('garbage'), undefined);
    assert.equal(parseLogLine('2024-05-01T10:20:30Z stdin F x'), undefined);
    assert.equal(parseLogLine('yesterday stdout F x'), undefined);
  });

  test('timestamps print as podman -t does (Go RFC3339Nano)', () => {
    assert.equal(formatLogTime('2024-05-01T10:20:30.120000000+00:00'), '2024-05-01T10:20:30.12Z');
    assert.equal(formatLogTime('2024-05-01T10:20:30.000000000+02:00'), '2024-05-01T10:20:30+02:00');
    assert.equal(formatLogTime('2024-05-01T10:20:30.123456789-05:30'), '2024-05-01T10:20:30.123456789-05:30');
    const e: LogEntry = {time: '2024-05-01T10:20:30.500000000+00:00', stream: 'stdout', line: 'hi', partial: false};
    assert.equal(formatLogEntry(e, {timestamps: true}), '2024-05-01T10:20:30.5Z hi');
    assert.equal(formatLogEntry(e), 'hi');
  });

  test('times compare exactly across zones and below the millisecond', () => {
    assert.equal(logTimeNs('2024-05-01T12:00:00.000000001+02:00'), logTimeNs('2024-05-01T10:00:00.000000001Z'));
    assert.ok(logTimeNs('2024-05-01T10:00:00.000000002Z') > logTimeNs('2024-05-01T10:00:00.000000001Z'));
    assert.equal(logTimeNs('1970-01-01T00:00:01.5Z'), 1_500_000_000n);
  });
});

describe('readLogs', () => {
  test('joins partial lines per stream, even interleaved with the other stream', async () => {
    const f = path.join(tmp(), 'ctr.log');
    fs.writeFileSync(f, L(1, 'stdout', 'P', 'hel') + L(1, 'stderr', 'F', 'oops') + L(2, 'stdout', 'P', 'lo ') + L(3, 'stdout', 'F', 'world') + L(4, 'stdout', 'F', ''));
    const es = await collect(f);
    assert.deepEqual(lines(es), ['stderr:oops', 'stdout:hello world', 'stdout:']);
    assert.equal(es[1].time, '2024-05-01T10:20:03.000000000+00:00', 'a joined line carries its last part\'s time');
  });

  test('output that ended without a newline comes last, marked partial', async () => {
    const f = path.join(tmp(), 'ctr.log');
    fs.writeFileSync(f, L(1, 'stdout', 'F', 'a') + L(2, 'stdout', 'P', 'no newline'));
    assert.deepEqual(lines(await collect(f)), ['stdout:a', 'stdout:no newline(partial)']);
  });

  test('lines not in the format are skipped; a missing file is empty', async () => {
    const dir = tmp();
    const f = path.join(dir, 'ctr.log');
    fs.writeFileSync(f, L(1, 'stdout', 'F', 'a') + 'not a log line\n\n' + L(2, 'stdout', 'F', 'b'));
    assert.deepEqual(lines(await collect(f)), ['stdout:a', 'stdout:b']);
    assert.deepEqual(await collect(path.join(dir, 'absent.log')), []);
  });

  test('tail counts whole lines (parts joined); 0 shows nothing; more than there are shows all', async () => {
    const f = path.join(tmp(), 'ctr.log');
    fs.writeFileSync(f, L(1, 'stdout', 'F', 'one') + L(2, 'stdout', 'P', 't') + L(2, 'stdout', 'P', 'w') + L(3, 'stdout', 'F', 'o') + L(4, 'stderr', 'F', 'three'));
    assert.deepEqual(lines(await collect(f, {tail: 2})), ['stdout:two', 'stderr:three']);
    assert.deepEqual(lines(await collect(f, {tail: 1})), ['stderr:three']);
    assert.deepEqual(lines(await collect(f, {tail: 0})), []);
    assert.deepEqual(lines(await collect(f, {tail: 3})), ['stdout:one', 'stdout:two', 'stderr:three']);
    assert.deepEqual(lines(await collect(f, {tail: 50})), ['stdout:one', 'stdout:two', 'stderr:three']);
    assert.deepEqual(lines(await collect(f, {tail: -1})), ['stdout:one', 'stdout:two', 'stderr:three']);
  });

  test('since and until are strict bounds, applied after tail (podman order)', async () => {
    const f = path.join(tmp(), 'ctr.log');
    fs.writeFileSync(f, L(1, 'stdout', 'F', 'a') + L(2, 'stdout', 'F', 'b', 500_000_000) + L(3, 'stdout', 'F', 'c') + L(4, 'stdout', 'F', 'd'));
    const at = (s: number, ms = 0) => new Date(Date.UTC(2024, 4, 1, 10, 20, s, ms));
    assert.deepEqual(lines(await collect(f, {since: at(2)})), ['stdout:b', 'stdout:c', 'stdout:d']);
    assert.deepEqual(lines(await collect(f, {since: at(2, 500)})), ['stdout:c', 'stdout:d']);
    assert.deepEqual(lines(await collect(f, {until: at(3)})), ['stdout:a', 'stdout:b']);
    assert.deepEqual(lines(await collect(f, {since: at(1), until: at(4)})), ['stdout:b', 'stdout:c']);
    assert.deepEqual(lines(await collect(f, {tail: 2, since: at(0)})), ['stdout:c', 'stdout:d']);
    assert.deepEqual(lines(await collect(f, {tail: 2, until: at(4)})), ['stdout:c']);
  });

  test('large files: lines and multi-byte characters straddling read chunks, tail across chunks', async () => {
    const f = path.join(tmp(), 'ctr.log');
    const want: string[] = [];
    let text = '';
    for (let i = 0; i < 3000; i++) {
      const msg = `${i} ${'é€😀'.repeat(i % 17)} ${'x'.repeat(i % 31)}`;
      want.push(`stdout:${msg}`);
      text += L(i % 60, 'stdout', 'F', msg);
    }
    fs.writeFileSync(f, text);
    assert.ok(fs.statSync(f).size > 3 * 64 * 1024);
    assert.deepEqual(lines(await collect(f)), want);
    assert.deepEqual(lines(await collect(f, {tail: 1234})), want.slice(-1234));
  });
});

describe('followLogs', () => {
  test('yields existing and appended lines until stop, then the rest', async () => {
    const f = path.join(tmp(), 'ctr.log');
    fs.writeFileSync(f, L(1, 'stdout', 'F', 'old1') + L(2, 'stdout', 'F', 'old2'));
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of followLogs(f, {stop: stopped, tail: 1, pollMs: 50})) seen.push(e.line);
    })();
    try {
      await waitFor(() => seen.length === 1);
      fs.appendFileSync(f, L(3, 'stdout', 'P', 'ne'));
      fs.appendFileSync(f, L(3, 'stdout', 'F', 'w1'));
      await waitFor(() => seen.length === 2);
      // Written just before the container's exit is reported: still shown.
      fs.appendFileSync(f, L(4, 'stderr', 'F', 'last'));
    } finally {
      stop();
      await done;
    }
    assert.deepEqual(seen, ['old2', 'new1', 'last']);
  });

  test('waits for the file to appear; follows it across rotation (a new file renamed over it)', async () => {
    const dir = tmp();
    const f = path.join(dir, 'ctr.log');
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of followLogs(f, {stop: stopped, pollMs: 50})) seen.push(e.line);
    })();
    try {
      await new Promise((r) => setTimeout(r, 80));
      fs.writeFileSync(f, L(1, 'stdout', 'F', 'first'));
      await waitFor(() => seen.length === 1);
      fs.appendFileSync(f, L(2, 'stdout', 'F', 'before rotation'));
      fs.writeFileSync(`${f}.tmp`, L(3, 'stdout', 'F', 'after rotation'));
      fs.renameSync(`${f}.tmp`, f);
      await waitFor(() => seen.length === 3);
    } finally {
      stop();
      await done;
    }
    assert.deepEqual(seen, ['first', 'before rotation', 'after rotation']);
  });

  test('an already-settled stop reads what is there and ends, flushing a trailing part', async () => {
    const f = path.join(tmp(), 'ctr.log');
    fs.writeFileSync(f, L(1, 'stdout', 'F', 'a') + L(2, 'stdout', 'P', 'b'));
    const out: LogEntry[] = [];
    for await (const e of followLogs(f, {stop: Promise.resolve()})) out.push(e);
    assert.deepEqual(lines(out), ['stdout:a', 'stdout:b(partial)']);
  });

  test('breaking out of the loop early closes the file', async () => {
    const f = path.join(tmp(), 'ctr.log');
    fs.writeFileSync(f, L(1, 'stdout', 'F', 'a') + L(2, 'stdout', 'F', 'b'));
    const before = fs.readdirSync('/proc/self/fd').length;
    for await (const e of followLogs(f, {stop: new Promise(() => {}), pollMs: 50})) {
      assert.equal(e.line, 'a');
      break;
    }
    assert.equal(fs.readdirSync('/proc/self/fd').length, before);
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
