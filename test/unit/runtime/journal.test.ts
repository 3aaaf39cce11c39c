import {test} from 'node:test';
import assert from 'node:assert/strict';
import {JournalJoiner, journalTime} from '../../../src/lib/runtime/journal';

test('journal times keep microseconds, as RFC 3339 nanoseconds', () => {
  assert.equal(journalTime('1700000000123456'), '2023-11-14T22:13:20.123456000Z');
  assert.equal(journalTime('1700000000000001'), '2023-11-14T22:13:20.000001000Z');
});

test('partial entries are joined per stream; stderr is PRIORITY 3; a dangling part keeps its time', () => {
  const j = new JournalJoiner();
  assert.equal(j.push({MESSAGE: 'hel', PRIORITY: '6', CONTAINER_PARTIAL_MESSAGE: 'true', __REALTIME_TIMESTAMP: '1000000'}), undefined);
  assert.equal(j.push({MESSAGE: 'oops', PRIORITY: '3', CONTAINER_PARTIAL_MESSAGE: 'true', __REALTIME_TIMESTAMP: '1500000'}), undefined);
  assert.deepEqual(j.push({MESSAGE: 'lo', PRIORITY: '6', __REALTIME_TIMESTAMP: '2000000'}), {time: '1970-01-01T00:00:02.000000000Z', stream: 'stdout', line: 'hello', partial: false});
  assert.deepEqual(j.push({MESSAGE: [104, 105], PRIORITY: '6', __REALTIME_TIMESTAMP: '3000000'})?.line, 'hi', 'byte-array messages');
  assert.deepEqual(j.flush(), [{time: '1970-01-01T00:00:01.500000000Z', stream: 'stderr', line: 'oops', partial: true}]);
  assert.deepEqual(j.flush(), []);
});
