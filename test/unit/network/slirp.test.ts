/** --network slirp4netns and pasta: option parsing, addresses, command lines, the default mode, resolv.conf order (pure parts). */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {parseSlirpOptions, slirpAddresses, defaultSlirpOptions} from '../../../src/lib/network/slirp-options';
import {parseNetworkFlags} from '../../../src/lib/container/create-config';
import {defaultNetworkMode} from '../../../src/lib/network/mode';
import {generateResolvConf} from '../../../src/lib/container/etc-files';
import {slirpArgs, plannedSlirp} from '../../../src/lib/network/slirp';
import {parsePastaOptions, pastaArgs, plannedPasta} from '../../../src/lib/network/pasta';
import {SkiffError} from '../../../src/lib/util/errors';

const bad = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e) => e instanceof SkiffError && e.kind === 'invalid-input' && re.test(e.message));

describe('slirp4netns options', () => {
  test('defaults as podman 4: no host loopback, IPv6 on, mtu 65520', () => {
    assert.deepEqual(parseSlirpOptions(''), {allowHostLoopback: false, enableIpv6: true, mtu: 65520});
  });
  test('every option', () => {
    assert.deepEqual(parseSlirpOptions('allow_host_loopback=true,cidr=10.5.0.7/24,enable_ipv6=false,mtu=1500,outbound_addr=192.0.2.9,port_handler=slirp4netns'), {
      allowHostLoopback: true,
      cidr: '10.5.0.0/24',
      enableIpv6: false,
      mtu: 1500,
      outboundAddr: '192.0.2.9',
    });
    assert.equal(parseSlirpOptions('outbound_addr=lo').outboundAddr, '127.0.0.1');
  });
  test('bad input names the problem', () => {
    bad(() => parseSlirpOptions('bad_option=1'), /unknown slirp4netns option "bad_option"/);
    bad(() => parseSlirpOptions('allow_host_loopback=yes'), /true or false/);
    bad(() => parseSlirpOptions('mtu=70000'), /mtu/);
    bad(() => parseSlirpOptions('cidr=10.0.0.0/28'), /between 1 and 25/);
    bad(() => parseSlirpOptions('cidr=fd00::/64'), /IPv6/);
    bad(() => parseSlirpOptions('port_handler=rootlesskit'), /rootlesskit is not available/);
    bad(() => parseSlirpOptions('outbound_addr=nosuchif0'), /no such address or interface/);
    bad(() => parseSlirpOptions('outbound_addr6=::1,enable_ipv6=false'), /needs enable_ipv6/);
    bad(() => parseSlirpOptions('mtu'), /KEY=VALUE/);
  });
  test('addresses follow the cidr: .100 guest, .2 gateway, .3 DNS', () => {
    assert.deepEqual(slirpAddresses(), {ip: '10.0.2.100', gateway: '10.0.2.2', dns: '10.0.2.3', prefixLen: 24});
    assert.deepEqual(slirpAddresses('10.5.0.0/16'), {ip: '10.5.0.100', gateway: '10.5.0.2', dns: '10.5.0.3', prefixLen: 16});
  });
});

describe('--network slirp4netns', () => {
  test('mode with options kept together (commas are not network separators)', () => {
    assert.deepEqual(parseNetworkFlags({network: ['slirp4netns']}, 'bridge'), {mode: 'slirp4netns', slirp: defaultSlirpOptions()});
    const n = parseNetworkFlags({network: ['slirp4netns:allow_host_loopback=true,mtu=1500']}, 'bridge');
    assert.equal(n.mode, 'slirp4netns');
    assert.equal(n.slirp?.allowHostLoopback, true);
    assert.equal(n.slirp?.mtu, 1500);
  });
  test('the default mode: bridge for root, slirp4netns rootless', () => {
    assert.equal(defaultNetworkMode(false), 'bridge');
    assert.equal(defaultNetworkMode(true), 'slirp4netns');
    assert.equal(parseNetworkFlags({}, defaultNetworkMode(true)).mode, 'slirp4netns');
  });
  test('command line: loopback off unless allowed, sandbox, ready fd, API socket, netns path', () => {
    const st = plannedSlirp('/run/x', 'ab'.repeat(32), defaultSlirpOptions());
    assert.equal(st.socket, '/run/x/slirp4netns/abababababababab.sock');
    const args = slirpArgs(st, '/run/x/netns/id', defaultSlirpOptions());
    assert.ok(args.includes('--disable-host-loopback') && args.includes('--configure') && args.includes('--mtu=65520') && args.includes('--ready-fd=3'));
    assert.deepEqual(args.slice(-4), [`--api-socket=${st.socket}`, '--netns-type=path', '/run/x/netns/id', 'tap0']);
    assert.ok(!slirpArgs(st, '/n', {...defaultSlirpOptions(), allowHostLoopback: true}).includes('--disable-host-loopback'));
  });
  test('resolv.conf: the forwarder first, then the host servers; --dns replaces both', () => {
    const host = 'nameserver 192.0.2.53\nnameserver 127.0.0.53\n';
    assert.equal(generateResolvConf({network: 'slirp4netns', hostResolvConf: host, leadingDns: ['10.0.2.3']}), 'nameserver 10.0.2.3\nnameserver 192.0.2.53\n');
    assert.equal(generateResolvConf({network: 'slirp4netns', hostResolvConf: host, leadingDns: ['10.0.2.3'], dns: ['1.1.1.1']}), 'nameserver 1.1.1.1\n');
  });
});

describe('--network pasta', () => {
  test('options pass through comma-separated; the ones skiff sets are refused', () => {
    assert.deepEqual(parseNetworkFlags({network: ['pasta:--mtu,1500,-4']}, 'bridge'), {mode: 'pasta', pasta: ['--mtu', '1500', '-4']});
    assert.deepEqual(parseNetworkFlags({network: ['pasta']}, 'bridge'), {mode: 'pasta', pasta: []});
    for (const o of ['--netns,/x', '--pid,/x', '-f', '--runas=0', '--no-netns-quit']) bad(() => parsePastaOptions(o), /set by skiff/);
  });
  test('ports become -t/-u; what is not published (and not given) is "none"', () => {
    const st = plannedPasta('/run/x', 'cd'.repeat(32));
    assert.equal(st.pidFile, '/run/x/pasta/cdcdcdcdcdcdcdcd.pid');
    const args = pastaArgs(st, '/n', [], [{hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp'}, {hostIp: '', hostPort: 5353, containerPort: 53, protocol: 'udp'}], true);
    assert.deepEqual(args, ['--config-net', '--runas', '0:0', '-t', '127.0.0.1/8080:80', '-u', '5353:53', '-T', 'none', '-U', 'none', '--pid', st.pidFile, '--log-file', st.log, '--netns', '/n']);
    const plain = pastaArgs(st, '/n', ['-T', '8000'], [], false);
    assert.deepEqual(plain.slice(0, 9), ['--config-net', '-T', '8000', '-t', 'none', '-u', 'none', '-U', 'none']);
  });
});
