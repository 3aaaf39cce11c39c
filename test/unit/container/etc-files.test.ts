import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  generateHostname,
  generateHosts,
  generateResolvConf,
  isLoopback,
  keepIdEntries,
  keepIdHome,
  parseAddHost,
  parseResolvConf,
  writeEtcFiles,
} from '../../../src/lib/container/etc-files';
import {isSkiffError} from '../../../src/lib/util/errors';

const HOST_HOSTS = '# static table\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n192.168.1.10 nas.lan nas # the NAS\n\n10.0.0.1\n';

test('hosts, --network none: base entries, then hostname and name on both loopbacks', () => {
  const out = generateHosts({hostname: 'abc123', name: 'web', network: 'none', baseHosts: HOST_HOSTS});
  assert.equal(
    out,
    '127.0.0.1\tlocalhost\n' +
      '::1\tlocalhost ip6-localhost ip6-loopback\n' +
      '192.168.1.10\tnas.lan nas\n' +
      '127.0.0.1\tabc123 web\n' +
      '::1\tabc123 web\n',
  );
});

test('hosts: localhost added when the base lacks it; no base file', () => {
  assert.equal(generateHosts({hostname: 'h', network: 'none'}), '127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\th\n::1\th\n');
});

test('hosts, --network host: the host entries, no loopback line for the hostname', () => {
  const out = generateHosts({hostname: 'myhost', network: 'host', baseHosts: '127.0.0.1 localhost\n127.0.1.1 myhost\n'});
  assert.equal(out, '127.0.0.1\tlocalhost\n127.0.1.1\tmyhost\n', 'localhost is already named: nothing added');
});

test('hosts: --add-host entries come first and win over generated names', () => {
  const out = generateHosts({hostname: 'h', name: 'c', network: 'none', addHosts: ['db:10.1.2.3', 'a;b=10.9.9.9', 'v6:[2001:db8::1]', 'h:192.0.2.1', 'six:::1']});
  assert.equal(
    out,
    '10.1.2.3\tdb\n10.9.9.9\ta b\n2001:db8::1\tv6\n192.0.2.1\th\n::1\tsix\n127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\tc\n::1\tc\n',
  );
});

test('add-host: host-gateway and bad values', () => {
  assert.deepEqual(parseAddHost('gw:host-gateway', '10.0.2.2'), {ip: '10.0.2.2', names: ['gw']});
  for (const bad of ['noip', 'x:', ':1.2.3.4', 'x:300.1.1.1', 'x:notanip', 'bad name:1.2.3.4', 'gw:host-gateway']) {
    assert.throws(() => parseAddHost(bad), (e) => isSkiffError(e, 'invalid-input'), bad);
  }
});

test('hosts: host-gateway address gives host.containers.internal', () => {
  const out = generateHosts({hostname: 'h', network: 'host', hostGatewayIp: '192.168.1.5'});
  assert.match(out, /^192\.168\.1\.5\thost\.containers\.internal host\.docker\.internal$/m);
});

test('hostname file', () => {
  assert.equal(generateHostname('abc'), 'abc\n');
});

const SYSTEMD_STUB = '# This is /run/systemd/resolve/stub-resolv.conf\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n';

test('resolv.conf, private netns: loopback servers dropped, defaults when none remain', () => {
  assert.equal(generateResolvConf({network: 'none', hostResolvConf: SYSTEMD_STUB}), 'search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0 trust-ad\n');
  assert.equal(
    generateResolvConf({network: 'none', hostResolvConf: 'nameserver 127.0.0.1\nnameserver 1.1.1.1\nnameserver ::1\nnameserver 2606:4700::1111\ndomain example.com\n'}),
    'search example.com\nnameserver 1.1.1.1\nnameserver 2606:4700::1111\n',
  );
  assert.equal(generateResolvConf({network: 'none'}), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
});

test('resolv.conf: --dns, --dns-search and --dns-option override', () => {
  const out = generateResolvConf({network: 'none', hostResolvConf: SYSTEMD_STUB, dns: ['9.9.9.9', '2620:fe::fe'], dnsSearch: ['a.example', 'b.example'], dnsOptions: ['ndots:2']});
  assert.equal(out, 'search a.example b.example\nnameserver 9.9.9.9\nnameserver 2620:fe::fe\noptions ndots:2\n');
  assert.equal(generateResolvConf({network: 'none', hostResolvConf: SYSTEMD_STUB, dnsSearch: ['.']}), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0 trust-ad\n');
  assert.equal(generateResolvConf({network: 'none', dns: ['127.0.0.1']}), 'nameserver 127.0.0.1\n', 'an explicit --dns is kept even if loopback');
  assert.throws(() => generateResolvConf({network: 'none', dns: ['dns.example']}), /not an IP address/);
});

test('resolv.conf, --network host: the host file verbatim, loopback kept; overrides still apply', () => {
  assert.equal(generateResolvConf({network: 'host', hostResolvConf: SYSTEMD_STUB}), SYSTEMD_STUB);
  assert.equal(generateResolvConf({network: 'host', hostResolvConf: SYSTEMD_STUB, dnsOptions: ['ndots:1']}), 'search lan\nnameserver 127.0.0.53\noptions ndots:1\n');
});

test('resolv.conf parsing and loopback detection', () => {
  assert.deepEqual(parseResolvConf('; c\nsearch a b\nsearch c\nnameserver 1.2.3.4\noptions x\noptions y z\n'), {nameservers: ['1.2.3.4'], search: ['c'], options: ['x', 'y', 'z']});
  for (const ip of ['127.0.0.53', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.equal(isLoopback(ip), true, ip);
  for (const ip of ['10.0.0.1', '128.0.0.1', 'fe80::1', '2001:db8::1', '::']) assert.equal(isLoopback(ip), false, ip);
});

test('writeEtcFiles reads the host files, uses systemd-resolved upstream servers, writes 0644 files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-etc-'));
  try {
    const host = path.join(dir, 'host');
    fs.mkdirSync(host);
    fs.writeFileSync(path.join(host, 'hosts'), HOST_HOSTS);
    fs.writeFileSync(path.join(host, 'resolv.conf'), SYSTEMD_STUB);
    fs.writeFileSync(path.join(host, 'upstream.conf'), 'nameserver 192.168.1.1\nsearch lan\n');
    const files = {hosts: path.join(host, 'hosts'), resolvConf: path.join(host, 'resolv.conf'), resolvedUpstream: path.join(host, 'upstream.conf')};
    const out = writeEtcFiles(path.join(dir, 'ctr'), {hostname: 'h1', name: 'n1', network: 'none', addHosts: ['x:10.0.0.9']}, files);
    assert.equal(fs.readFileSync(out.hostname, 'utf8'), 'h1\n');
    assert.match(fs.readFileSync(out.hosts, 'utf8'), /^10\.0\.0\.9\tx\n127\.0\.0\.1\tlocalhost\n/);
    assert.match(fs.readFileSync(out.hosts, 'utf8'), /^127\.0\.0\.1\th1 n1$/m);
    assert.equal(fs.readFileSync(out.resolvConf, 'utf8'), 'search lan\nnameserver 192.168.1.1\n');
    assert.equal(fs.statSync(out.hosts).mode & 0o777, 0o644);
    const hostNet = writeEtcFiles(path.join(dir, 'ctr2'), {hostname: 'h1', network: 'host'}, files);
    assert.equal(fs.readFileSync(hostNet.resolvConf, 'utf8'), SYSTEMD_STUB);
    const missing = writeEtcFiles(path.join(dir, 'ctr3'), {hostname: 'h', network: 'none'}, {hosts: '/nonexistent/hosts', resolvConf: '/nonexistent/resolv', resolvedUpstream: '/nonexistent/up'});
    assert.equal(fs.readFileSync(missing.resolvConf, 'utf8'), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('keep-id: passwd/group entries added only when the image has none for the ids, home per podman', () => {
  const u = {name: 'alice', uid: 1000, gid: 1000, gecos: 'Alice', home: '/home/alice', groupName: 'alice'};
  const out = keepIdEntries({passwd: 'root:x:0:0:root:/root:/bin/sh', group: 'root:x:0:\n'}, u);
  assert.equal(out.passwd, 'root:x:0:0:root:/root:/bin/sh\nalice:*:1000:1000:Alice:/home/alice:/bin/sh\n');
  assert.equal(out.group, 'root:x:0:\nalice:x:1000:alice\n');
  assert.deepEqual(keepIdEntries({passwd: 'app:x:1000:1000::/app:/bin/sh\n', group: 'app:x:1000:\n'}, u), {});
  assert.deepEqual(keepIdEntries({}, u), {passwd: 'alice:*:1000:1000:Alice:/home/alice:/bin/sh\n', group: 'alice:x:1000:alice\n'});
  assert.equal(keepIdHome('/home/alice', ['/data'], '/work'), '/work');
  assert.equal(keepIdHome('/home/alice', ['/home/alice/'], '/work'), '/home/alice');
  assert.equal(keepIdHome('/home/alice', ['/home'], ''), '/home/alice');
  assert.equal(keepIdHome('/home/alice', ['/'], ''), '/');
});
