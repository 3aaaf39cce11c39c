import {test} from 'node:test';
import assert from 'node:assert/strict';
import {applyChange, splitWords} from '../../../src/lib/container/commit/instructions';

test('CMD and ENTRYPOINT: exec form as given, shell form through /bin/sh -c', () => {
  assert.deepEqual(applyChange({}, 'CMD ["echo", "a b"]').Cmd, ['echo', 'a b']);
  assert.deepEqual(applyChange({}, 'CMD echo hi').Cmd, ['/bin/sh', '-c', 'echo hi']);
  assert.deepEqual(applyChange({}, 'entrypoint ["/init"]').Entrypoint, ['/init']);
  assert.deepEqual(applyChange({}, 'CMD=["x"]').Cmd, ['x'], 'podman also accepts INSTRUCTION=VALUE');
});

test('ENV and LABEL: several pairs, quotes, the legacy "KEY value" form, replacing by name', () => {
  const c = applyChange({Env: ['PATH=/bin', 'A=old']}, 'ENV A=1 B="two words"');
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=1', 'B=two words']);
  assert.deepEqual(applyChange({}, 'ENV KEY some value').Env, ['KEY=some value']);
  assert.deepEqual(applyChange({Labels: {a: '1'}}, 'LABEL b=2 "c d"=3').Labels, {a: '1', b: '2', 'c d': '3'});
});

test('EXPOSE, VOLUME, WORKDIR, USER, STOPSIGNAL', () => {
  assert.deepEqual(Object.keys(applyChange({}, 'EXPOSE 80 53/udp 1000-1002/tcp').ExposedPorts ?? {}), ['80/tcp', '53/udp', '1000/tcp', '1001/tcp', '1002/tcp']);
  assert.deepEqual(Object.keys(applyChange({}, 'VOLUME ["/a", "/b"]').Volumes ?? {}), ['/a', '/b']);
  assert.deepEqual(Object.keys(applyChange({}, 'VOLUME /c /d').Volumes ?? {}), ['/c', '/d']);
  assert.equal(applyChange({WorkingDir: '/srv'}, 'WORKDIR app').WorkingDir, '/srv/app');
  assert.equal(applyChange({}, 'WORKDIR /x').WorkingDir, '/x');
  assert.equal(applyChange({}, 'USER 1000:1000').User, '1000:1000');
  assert.equal(applyChange({}, 'STOPSIGNAL SIGINT').StopSignal, 'SIGINT');
});

test('bad instructions are input errors', () => {
  for (const bad of ['ONBUILD RUN x', 'RUN echo', 'FROM x', 'CMD', 'EXPOSE http', 'EXPOSE 70000', 'VOLUME relative', 'ENV =x', 'LABEL "unterminated']) {
    assert.throws(() => applyChange({}, bad), (e: Error & {kind?: string}) => e.kind === 'invalid-input', bad);
  }
});

test('splitWords honours quotes and escapes', () => {
  assert.deepEqual(splitWords(`a "b c" 'd e' f\\ g ""`), ['a', 'b c', 'd e', 'f g', '']);
});
