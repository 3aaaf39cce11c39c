/** Pure parts of networking: -p parsing, --network parsing, conflist rendering, subnet arithmetic. */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {parsePublish, exposedPorts, checkDuplicates, portsMap, portsText} from '../../../src/lib/network/ports';
import {parseNetworkFlags} from '../../../src/lib/container/create-config';
import {isLegacyConflist, renderConflist, trimConflist} from '../../../src/lib/network/cni';
import {networkRules, orphaned, ownerToken} from '../../../src/lib/network/firewall';
import {parseCidr, overlaps, contains, firstHost, formatCidr} from '../../../src/lib/network/ipnet';
import {generateHosts, generateResolvConf} from '../../../src/lib/container/etc-files';
import type {NetworkRecord} from '../../../src/lib/network/types';
import {SkiffError} from '../../../src/lib/util/errors';

const bad = (fn: () => unknown) => assert.throws(fn, (e) => e instanceof SkiffError && e.kind === 'invalid-input');

describe('-p / --publish', () => {
  test('forms: container only, host:container, ip:host:container, ip::container, protocols, ranges', () => {
    assert.deepEqual(parsePublish('80'), [{hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp'}]);
    assert.deepEqual(parsePublish('8080:80/udp'), [{hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'udp'}]);
    assert.deepEqual(parsePublish('127.0.0.1:8080:80'), [{hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp'}]);
    assert.deepEqual(parsePublish('127.0.0.1::80'), [{hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp'}]);
    assert.deepEqual(
      parsePublish('9000-9001:90-91'),
      [
        {hostIp: '', hostPort: 9000, containerPort: 90, protocol: 'tcp'},
        {hostIp: '', hostPort: 9001, containerPort: 91, protocol: 'tcp'},
      ],
    );
    assert.equal(parsePublish('53:53/tcp,udp').length, 2);
  });
  test('bad values', () => {
    for (const v of ['', 'abc', '70000', '0:80', '80:0', '8080-8081:80', '80-79', '1.2.3:80:80', '80/sctp', 'a:b:c:d', '[::1]:80:80']) bad(() => parsePublish(v));
    bad(() => checkDuplicates([...parsePublish('8080:80'), ...parsePublish('8080:81')]));
    checkDuplicates([...parsePublish('8080:80'), ...parsePublish('8080:80/udp'), ...parsePublish('80'), ...parsePublish('81')]);
  });
  test('-P takes EXPOSE and --expose; ps and inspect shapes', () => {
    assert.deepEqual(exposedPorts({'80/tcp': {}, '53/udp': {}}, ['7000-7001']).map((p) => `${p.containerPort}/${p.protocol}`), ['80/tcp', '53/udp', '7000/tcp', '7001/tcp']);
    const ports = parsePublish('127.0.0.1:8080:80');
    assert.equal(portsText(ports), '127.0.0.1:8080->80/tcp');
    assert.deepEqual(portsMap(ports), {'80/tcp': [{HostIp: '127.0.0.1', HostPort: '8080'}]});
  });
});

describe('--network', () => {
  test('default, names with options, several networks, --ip/--mac-address/--network-alias', () => {
    assert.deepEqual(parseNetworkFlags({}, 'bridge'), {mode: 'bridge', networks: {bridge: {}}});
    assert.deepEqual(parseNetworkFlags({}, 'none'), {mode: 'none'});
    assert.deepEqual(parseNetworkFlags({network: ['host']}, 'bridge'), {mode: 'host'});
    assert.deepEqual(parseNetworkFlags({network: ['container:abc']}, 'bridge'), {mode: 'container', container: 'abc'});
    assert.deepEqual(parseNetworkFlags({net: ['ns:/run/netns/x']}, 'bridge'), {mode: 'ns', path: '/run/netns/x'});
    assert.deepEqual(parseNetworkFlags({network: ['a:ip=10.1.0.5,mac=02:00:00:00:00:01,alias=x', 'b'], 'network-alias': ['y']}, 'bridge'), {
      mode: 'bridge',
      networks: {a: {ips: ['10.1.0.5'], mac: '02:00:00:00:00:01', aliases: ['x', 'y']}, b: {aliases: ['y']}},
    });
    assert.deepEqual(parseNetworkFlags({network: ['a,b']}, 'bridge').networks, {a: {}, b: {}});
    assert.deepEqual(parseNetworkFlags({network: ['a'], ip: '10.0.0.9', 'mac-address': 'AA:BB:CC:DD:EE:FF'}, 'bridge').networks, {a: {ips: ['10.0.0.9'], mac: 'aa:bb:cc:dd:ee:ff'}});
  });
  test('bad combinations', () => {
    bad(() => parseNetworkFlags({network: ['none', 'a']}, 'bridge'));
    bad(() => parseNetworkFlags({network: ['host'], ip: '10.0.0.1'}, 'bridge'));
    bad(() => parseNetworkFlags({network: ['a', 'b'], ip: '10.0.0.1'}, 'bridge'));
    bad(() => parseNetworkFlags({ip: '10.0.0.256'}, 'bridge'));
    bad(() => parseNetworkFlags({'mac-address': '02:00'}, 'bridge'));
    bad(() => parseNetworkFlags({network: ['a:foo=1']}, 'bridge'));
    bad(() => parseNetworkFlags({network: ['pasta', 'a']}, 'bridge'));
    bad(() => parseNetworkFlags({network: ['slirp4netns', 'a']}, 'bridge'));
    bad(() => parseNetworkFlags({network: ['slirp4netns'], ip: '10.0.2.5'}, 'bridge'));
    bad(() => parseNetworkFlags({network: ['container:']}, 'bridge'));
    bad(() => parseNetworkFlags({network: ['a', 'a']}, 'bridge'));
  });
});

describe('conflist and subnets', () => {
  const net: NetworkRecord = {
    name: 'n1',
    id: 'x',
    driver: 'bridge',
    network_interface: 'br1',
    created: '',
    subnets: [{subnet: '10.90.1.0/24', gateway: '10.90.1.1', lease_range: {start_ip: '10.90.1.100', end_ip: '10.90.1.200'}}],
    ipv6_enabled: false,
    internal: false,
    dns_enabled: true,
    labels: {},
    options: {mtu: '1400'},
    ipam_options: {driver: 'host-local'},
  };
  test('bridge + portmap + tuning (no per-container masquerade or firewall plugin), capabilities declared, host-local dataDir', () => {
    const c = renderConflist(net, '/run/x/ipam');
    assert.equal(c.name, 'n1');
    assert.deepEqual(c.plugins.map((p) => p.type), ['bridge', 'portmap', 'tuning']);
    assert.equal(isLegacyConflist(c), false);
    assert.equal(isLegacyConflist({...c, plugins: [{...c.plugins[0], ipMasq: true}]}), true);
    assert.equal(isLegacyConflist({...c, plugins: [...c.plugins, {type: 'firewall'}]}), true);
    const br = c.plugins[0] as Record<string, unknown>;
    assert.equal(br.bridge, 'br1');
    assert.equal(br.ipMasq, false);
    assert.equal(br.isGateway, true);
    assert.equal(br.mtu, 1400);
    assert.deepEqual(br.ipam, {type: 'host-local', routes: [{dst: '0.0.0.0/0'}], ranges: [[{subnet: '10.90.1.0/24', gateway: '10.90.1.1', rangeStart: '10.90.1.100', rangeEnd: '10.90.1.200'}]], dataDir: '/run/x/ipam'});
    assert.deepEqual(c.plugins[1].capabilities, {portMappings: true});
    const internal = renderConflist({...net, internal: true}, '/d').plugins[0] as unknown as {ipMasq: boolean; ipam: Record<string, unknown>};
    assert.equal(internal.ipMasq, false);
    assert.equal(internal.ipam.routes, undefined);
    assert.deepEqual(renderConflist({...net, driver: 'macvlan', network_interface: 'eth0'}, '/d').plugins.map((p) => p.type), ['macvlan', 'tuning']);
    const mv = renderConflist({...net, driver: 'macvlan', network_interface: 'eth0', options: {mode: 'private'}}, '/d').plugins[0];
    assert.equal(mv.master, 'eth0');
    assert.equal(mv.mode, 'private');
    const full = renderConflist(net, '/d');
    assert.deepEqual(trimConflist(full, {ports: false, mac: false}).plugins.map((p) => p.type), ['bridge']);
    assert.deepEqual(trimConflist(full, {ports: true, mac: false}).plugins.map((p) => p.type), ['bridge', 'portmap']);
    assert.deepEqual(trimConflist(full, {ports: false, mac: true}).plugins.map((p) => p.type), ['bridge', 'tuning']);
    assert.equal(full.plugins.length, 3);
  });
  test('per-network rules: masquerade and FORWARD accepts per subnet; internal: DROPs first, no masquerade; macvlan: none', () => {
    const rules = networkRules(net, '/var/lib/skiff');
    const c = '-m comment --comment "skiff network n1 ' + net.id.slice(0, 12) + ' /var/lib/skiff"';
    assert.deepEqual(rules.map((r) => `${r.table} ${r.chain} ${r.spec}`), [
      `nat SKIFF-POSTROUTING -s 10.90.1.0/24 -d 10.90.1.0/24 ${c} -j RETURN`,
      `nat SKIFF-POSTROUTING -s 10.90.1.0/24 ! -d 224.0.0.0/4 ${c} -j MASQUERADE`,
      `filter SKIFF-FORWARD -d 10.90.1.0/24 -m conntrack --ctstate RELATED,ESTABLISHED ${c} -j ACCEPT`,
      `filter SKIFF-FORWARD -d 10.90.1.0/24 -m conntrack --ctstate DNAT ${c} -j ACCEPT`,
      `filter SKIFF-FORWARD -s 10.90.1.0/24 ${c} -j ACCEPT`,
    ]);
    const internal = networkRules({...net, internal: true}, '/r');
    assert.ok(internal.every((r) => r.table === 'filter' && r.first && r.spec.endsWith('-j DROP')), JSON.stringify(internal));
    assert.equal(internal.length, 2);
    assert.deepEqual(networkRules({...net, driver: 'macvlan'}, '/r'), []);
    assert.equal(ownerToken('/var/lib/skiff'), '/var/lib/skiff');
    assert.match(ownerToken('/a"b'), /^#[0-9a-f]{16}$/);
    assert.match(ownerToken('/' + 'x'.repeat(300)), /^#[0-9a-f]{16}$/);
    // Ownership: this store judges its own rules by its records; another store's by that store's root; hashed owners only by themselves.
    const set = {name: 'n1', id12: net.id.slice(0, 12), owner: '/r', rules: []};
    assert.equal(orphaned(set, {owner: '/r', networks: [net]}), false);
    assert.equal(orphaned(set, {owner: '/r', networks: []}), true);
    assert.equal(orphaned({...set, owner: '/nonexistent-skiff-root-' + process.pid}, {owner: '/r', networks: []}), true);
    assert.equal(orphaned({...set, owner: '#0123456789abcdef'}, {owner: '/r', networks: []}), false);
  });
  test('CIDR arithmetic', () => {
    assert.equal(formatCidr(parseCidr('10.89.3.7/24')), '10.89.3.0/24');
    assert.ok(overlaps(parseCidr('10.88.0.0/16'), parseCidr('10.88.5.0/24')));
    assert.ok(!overlaps(parseCidr('10.88.0.0/16'), parseCidr('10.89.0.0/24')));
    assert.ok(contains(parseCidr('10.89.0.0/24'), '10.89.0.200'));
    assert.ok(!contains(parseCidr('10.89.0.0/24'), '10.89.1.1'));
    assert.equal(firstHost(parseCidr('192.168.4.0/22')), '192.168.4.1');
    bad(() => parseCidr('10.0.0.0/33'));
    bad(() => parseCidr('fd00::/64'));
    bad(() => parseCidr('nonsense'));
  });
  test('/etc files on a network: own addresses in hosts, aardvark-dns as the only server', () => {
    const hosts = generateHosts({hostname: 'h', name: 'c', network: 'bridge', ownIps: ['10.90.1.5'], hostGatewayIp: '10.90.1.1'});
    assert.match(hosts, /^10\.90\.1\.5\th c$/m);
    assert.match(hosts, /^10\.90\.1\.1\thost\.containers\.internal host\.docker\.internal$/m);
    assert.equal(generateResolvConf({network: 'bridge', hostResolvConf: 'nameserver 1.1.1.1\nsearch corp\n', networkDns: ['10.90.1.1']}), 'search dns.podman corp\nnameserver 10.90.1.1\n');
    assert.equal(generateResolvConf({network: 'bridge', hostResolvConf: 'nameserver 1.1.1.1\n', networkDns: ['10.90.1.1'], dns: ['9.9.9.9']}), 'nameserver 9.9.9.9\n');
  });
});
