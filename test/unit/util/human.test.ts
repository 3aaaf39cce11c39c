import {test} from 'node:test';
import assert from 'node:assert/strict';
import {humanSize, humanDuration} from '../../../src/lib/util/human';

test('sizes as go-units prints them (decimal, 3 significant digits)', () => {
  const cases: Array<[number, string]> = [
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1 kB'],
    [1234, '1.23 kB'],
    [4261550, '4.26 MB'],
    [12_345_678, '12.3 MB'],
    [123_456_789, '123 MB'],
    [1_500_000_000, '1.5 GB'],
  ];
  for (const [n, s] of cases) assert.equal(humanSize(n), s, String(n));
});

test('durations as go-units HumanDuration', () => {
  const s = 1000;
  const h = 3600 * s;
  const cases: Array<[number, string]> = [
    [500, 'Less than a second'],
    [1 * s, '1 second'],
    [45 * s, '45 seconds'],
    [60 * s, 'About a minute'],
    [5 * 60 * s, '5 minutes'],
    [h, 'About an hour'],
    [5 * h, '5 hours'],
    [3 * 24 * h, '3 days'],
    [20 * 24 * h, '2 weeks'],
    [90 * 24 * h, '3 months'],
    [3 * 365 * 24 * h, '3 years'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
});
