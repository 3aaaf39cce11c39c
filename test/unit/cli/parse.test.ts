import {test} from 'node:test';
import assert from 'node:assert/strict';
import {parseCommandLine} from '../../../src/cli/parse';
import {Args, Flags} from '../../../src/cli/params';
import {bool, multi} from '../../../src/cli/flags';
import {SkiffError} from '../../../src/lib/util/errors';

const flags = {
  name: Flags.string({char: 'n', description: 'name'}),
  all: Flags.boolean({char: 'a', description: 'all'}),
  tty: Flags.boolean({char: 't', description: 'tty'}),
  interactive: Flags.boolean({char: 'i', description: 'interactive'}),
  publish: multi({char: 'p', description: 'publish'}),
  last: Flags.integer({description: 'last', default: -1}),
  pull: Flags.string({description: 'pull', options: ['always', 'missing', 'never'], default: 'missing'}),
  'tls-verify': bool({description: 'tls'}),
  time: Flags.integer({char: 'T', description: 'time', min: 0}),
};
const args = {image: Args.string({required: true, description: 'image'}), extra: Args.string({description: 'more'})};

function parse(argv: string[], strict = true) {
  return parseCommandLine(argv, {flags, args, strict});
}

function fails(argv: string[], message: RegExp, strict = true) {
  assert.throws(
    () => parse(argv, strict),
    (err: unknown) => err instanceof SkiffError && err.kind === 'invalid-input' && message.test(err.message) && !err.message.includes('\n'),
    argv.join(' '),
  );
}

test('long and short forms, with and without =', () => {
  for (const argv of [['--name', 'x', 'img'], ['--name=x', 'img'], ['-n', 'x', 'img'], ['-nx', 'img'], ['-n=x', 'img']]) {
    const r = parse(argv);
    assert.equal(r.flags.name, 'x', argv.join(' '));
    assert.deepEqual(r.args, {image: 'img'});
    assert.deepEqual(r.argv, ['img']);
  }
});

test('boolean clusters, ending in a flag that takes a value', () => {
  const r = parse(['-itp', '8080:80', 'img']);
  assert.equal(r.flags.interactive, true);
  assert.equal(r.flags.tty, true);
  assert.deepEqual(r.flags.publish, ['8080:80']);
  assert.deepEqual(parse(['-ap80', 'img']).flags.publish, ['80']);
});

test('defaults, absent booleans and repeatable flags', () => {
  const r = parse(['img']);
  assert.equal(r.flags.last, -1);
  assert.equal(r.flags.pull, 'missing');
  assert.equal(r.flags.all, undefined);
  assert.equal(r.flags.publish, undefined);
  assert.deepEqual(parse(['-p', '1', '--publish', '2', '--publish=3', 'img']).flags.publish, ['1', '2', '3']);
});

test('a repeated single-value flag: the last wins, as pflag', () => {
  assert.equal(parse(['--name', 'a', '--name', 'b', 'img']).flags.name, 'b');
});

test('--no-X for allowNo booleans only', () => {
  assert.equal(parse(['--no-tls-verify', 'img']).flags['tls-verify'], false);
  assert.equal(parse(['--tls-verify', 'img']).flags['tls-verify'], true);
  fails(['--no-all', 'img'], /^Nonexistent flag: --no-all$/);
});

test('an option flag takes the next argument, even one starting with -, unless it is a flag', () => {
  assert.equal(parse(['--last', '-5', 'img']).flags.last, -5);
  fails(['--name', '--all', 'img'], /^Flag --name expects a value$/);
  fails(['img', '--name'], /^Flag --name expects a value$/);
  fails(['img', '--pull'], /^Flag --pull expects one of these values: always, missing, never$/);
});

test('values are checked: options, integers, bounds', () => {
  fails(['--pull', 'sometimes', 'img'], /^Expected --pull=sometimes to be one of: always, missing, never$/);
  fails(['--last', 'x', 'img'], /^Expected an integer but received: x$/);
  fails(['--last', '1.5', 'img'], /^Expected an integer/);
  fails(['-T', '-1', 'img'], /greater than or equal to 0/);
  fails(['--all=yes', 'img'], /invalid argument "yes" for "--all"/);
});

test('unknown flags are reported together', () => {
  fails(['--bogus', 'img'], /^Nonexistent flag: --bogus$/);
  fails(['--bogus=1', '-z', 'img'], /^Nonexistent flags: --bogus, -z$/);
});

test('-- ends the flags; - and negative numbers are positional', () => {
  const r = parse(['img', '--', '--name', 'x'], false);
  assert.equal(r.flags.name, undefined);
  assert.deepEqual(r.argv, ['img', '--name', 'x']);
  assert.deepEqual(parse(['-', '-1']).argv, ['-', '-1']);
});

test('required and extra arguments', () => {
  fails([], /^Missing 1 required arg: image$/);
  fails(['a', 'b', 'c'], /^Unexpected argument: c$/);
  assert.deepEqual(parse(['a', 'b', 'c', 'd'], false).argv, ['a', 'b', 'c', 'd']);
});

test('env fallback', () => {
  const r = parseCommandLine([], {flags: {root: Flags.string({description: 'root', env: 'SKIFF_TEST_PARSE_ROOT'})}});
  assert.equal(r.flags.root, undefined);
  process.env.SKIFF_TEST_PARSE_ROOT = '/x';
  try {
    assert.equal(parseCommandLine([], {flags: {root: Flags.string({description: 'root', env: 'SKIFF_TEST_PARSE_ROOT'})}}).flags.root, '/x');
  } finally {
    delete process.env.SKIFF_TEST_PARSE_ROOT;
  }
});
