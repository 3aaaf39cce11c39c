import {test} from 'node:test';
import assert from 'node:assert/strict';
import {normalizeBooleans, firstPositional, stopAtFirstPositional, splitCommand, type FlagShape} from '../../../src/cli/argv';

const runFlags: FlagShape[] = [
  {name: 'interactive', char: 'i', boolean: true},
  {name: 'tty', char: 't', boolean: true},
  {name: 'detach', char: 'd', boolean: true},
  {name: 'env', char: 'e', boolean: false},
  {name: 'publish', char: 'p', boolean: false},
  {name: 'tls-verify', boolean: true, allowNo: true},
  {name: 'name', boolean: false},
];

test('pflag booleans with values become oclif spellings', () => {
  assert.deepEqual(normalizeBooleans(['--tls-verify=false', 'x'], runFlags), ['--no-tls-verify', 'x']);
  assert.deepEqual(normalizeBooleans(['--tls-verify=true'], runFlags), ['--tls-verify']);
  assert.deepEqual(normalizeBooleans(['--name=false'], runFlags), ['--name=false'], 'string flags untouched');
  assert.deepEqual(normalizeBooleans(['--', '--tls-verify=false'], runFlags), ['--', '--tls-verify=false'], 'after -- untouched');
});

test('first positional skips flags and their values', () => {
  const cases: Array<[string[], number]> = [
    [['img', 'ls', '-la'], 0],
    [['-it', 'img', 'sh'], 1],
    [['-e', 'A=1', 'img'], 2],
    [['-eA=1', 'img'], 1],
    [['-ie', 'A', 'img'], 2],
    [['--env', 'A', '--name=x', 'img', '-x'], 3],
    [['--env=A', '-d', 'img'], 2],
    [['--no-tls-verify', 'img'], 1],
    [['-d'], -1],
    [['-d', '--', 'img'], -1],
  ];
  for (const [argv, want] of cases) assert.equal(firstPositional(argv, runFlags), want, argv.join(' '));
});

test('run stops parsing flags at the image', () => {
  assert.deepEqual(stopAtFirstPositional(['-d', 'img', 'ls', '-la'], runFlags), ['-d', '--', 'img', 'ls', '-la']);
  assert.deepEqual(stopAtFirstPositional(['-d'], runFlags), ['-d']);
});

test('command split finds the longest id and keeps leading global flags', () => {
  const ids = new Set(['images', 'image:ls', 'image', 'run']);
  const globals: FlagShape[] = [
    {name: 'root', boolean: false},
    {name: 'log-level', boolean: false},
  ];
  assert.deepEqual(splitCommand(['image', 'ls', '-q'], ids, globals), {id: 'image:ls', argv: ['-q']});
  assert.deepEqual(splitCommand(['--root', '/x', 'images'], ids, globals), {id: 'images', argv: ['--root', '/x']});
  assert.deepEqual(splitCommand(['--root=/x', 'run', 'img', 'ls'], ids, globals), {id: 'run', argv: ['--root=/x', 'img', 'ls']});
  assert.deepEqual(splitCommand(['nope'], ids, globals), {id: undefined, argv: ['nope']});
});
