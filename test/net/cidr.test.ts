import { BlockList } from 'node:net';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { formatNetwork, NetworkSet, parseCidr, type Cidr } from '../../src/net/cidr.js';
import { ipv4Text, ipv6Text } from '../support/geo.js';

describe('parseCidr', () => {
  test('IPv4 networks are placed at ::/96', () => {
    const network = parseCidr('10.1.0.0/16');
    expect(network).toMatchObject({ family: 'ipv4', address: '10.1.0.0', prefix: 16, prefixLength: 112, hostBitsSet: false, text: '10.1.0.0/16' });
    expect([...(network?.bytes ?? [])]).toEqual([...new Array(12).fill(0), 10, 1, 0, 0]);
  });

  test('IPv6 networks keep their length', () => {
    expect(parseCidr('2600:1f00::/24')).toMatchObject({ family: 'ipv6', prefix: 24, prefixLength: 24, hostBitsSet: false });
    expect(parseCidr('::/0')).toMatchObject({ family: 'ipv6', prefixLength: 0, text: '::/0' });
  });

  test('a bare address is a host route', () => {
    expect(parseCidr('127.0.0.1')).toMatchObject({ family: 'ipv4', address: '127.0.0.1', prefix: 32, text: '127.0.0.1/32' });
    expect(parseCidr('::1')).toMatchObject({ family: 'ipv6', address: '::1', prefix: 128, text: '::1/128' });
  });

  test('host bits are cleared and reported, with the canonical text to suggest', () => {
    const network = parseCidr('10.1.2.3/16');
    expect(network).toMatchObject({ hostBitsSet: true, address: '10.1.0.0', text: '10.1.0.0/16' });
    expect(formatNetwork(network?.bytes ?? new Uint8Array(16), network?.prefixLength ?? 0)).toBe('10.1.0.0/16');
    expect(parseCidr('2001:DB8:0:0::1/32')).toMatchObject({ hostBitsSet: true, text: '2001:db8::/32' });
  });

  test.each([
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
    ['::ffff:a00:0/104', '10.0.0.0/8'],
    ['0:0:0:0:0:ffff:192.0.2.0/120', '192.0.2.0/24'],
    ['::ffff:0:0/96', '0.0.0.0/0'],
  ])('the IPv4-mapped network %s is the IPv4 network %s', (text, canonical) => {
    expect(parseCidr(text)).toMatchObject({ family: 'ipv4', text: canonical, hostBitsSet: false });
  });

  test('a mapped-looking network shorter than /96 stays IPv6', () => {
    expect(parseCidr('::ffff:10.0.0.0/95')).toMatchObject({ family: 'ipv6', hostBitsSet: true, text: '::fffe:0:0/95' });
  });

  test.each([
    '10.0.0.0/',
    '/8',
    '10.0.0.0/33',
    '10.0.0.0/08',
    '10.0.0.0/1234',
    '10.0.0.0/x',
    '::/129',
    '10.0.0.0/8/8',
    'x/8',
    'banana/8',
    '10.0.0.0/-1',
    ' 10.0.0.0/8',
    'fe80::1%eth0/64',
    'fe80::1%eth0',
    '',
  ])('rejects %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});

describe('formatNetwork', () => {
  test.each([
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['15.236.0.0/15', '15.236.0.0/15'],
    ['2a05:d012::/36', '2a05:d012::/36'],
    ['2001:0:0:1::/64', '2001:0:0:1::/64'],
    ['1:0:0:2:0:0:0:3/128', '1:0:0:2::3/128'],
    ['::/0', '::/0'],
  ])('%s prints as %s', (input, output) => {
    const network = parseCidr(input);
    expect(network).toBeDefined();
    if (network) expect(formatNetwork(network.bytes, network.prefixLength)).toBe(output);
  });
});

describe('NetworkSet', () => {
  const set = new NetworkSet(['127.0.0.0/8', '2001:db8::/32', '10.1.2.3/16'].map((text) => parseCidr(text) as Cidr));
  test.each([
    ['127.9.9.9', 'ipv4', true],
    ['128.0.0.1', 'ipv4', false],
    ['10.1.200.1', 'ipv4', true],
    ['10.2.0.1', 'ipv4', false],
    ['2001:db8:ffff::1', 'ipv6', true],
    ['2001:db9::1', 'ipv6', false],
    ['::ffff:127.0.0.1', 'ipv6', true],
    ['::ffff:a02:1', 'ipv6', false],
    ['not an address', 'ipv6', false],
  ] as const)('%s (%s) -> %s', (ip, family, expected) => expect(set.contains(ip, family)).toBe(expected));

  test('an empty set contains nothing', () => expect(new NetworkSet([]).contains('1.2.3.4', 'ipv4')).toBe(false));

  test('an IPv6 network holding ::ffff:0:0/96 contains every IPv4 address, as node:net BlockList says', () => {
    expect(new NetworkSet([parseCidr('::/0') as Cidr]).contains('192.0.2.1', 'ipv4')).toBe(true);
    expect(new NetworkSet([parseCidr('::/96') as Cidr]).contains('192.0.2.1', 'ipv4')).toBe(false);
  });

  test('agrees with node:net BlockList on random IPv4 networks and addresses', () => {
    const network = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }));
    fc.assert(
      fc.property(fc.array(network, { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 8, maxLength: 8 }), (networks, probes) => {
        const cidrs = networks.map(([base, length]) => parseCidr(`${ipv4Text(base)}/${length}`) as Cidr);
        const ours = new NetworkSet(cidrs);
        const node = new BlockList();
        for (const cidr of cidrs) node.addSubnet(cidr.address, cidr.prefix, 'ipv4');
        // Probes beside each network's base as well as anywhere.
        for (const probe of [...probes, ...networks.map(([base]) => (base ^ 1) >>> 0)]) {
          expect(ours.contains(ipv4Text(probe), 'ipv4')).toBe(node.check(ipv4Text(probe), 'ipv4'));
        }
      }),
    );
  });

  test('agrees with node:net BlockList on random IPv6 networks and addresses', () => {
    const network = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }));
    fc.assert(
      fc.property(fc.array(network, { minLength: 1, maxLength: 6 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (networks, probe) => {
        const cidrs = networks.map(([bytes, length]) => parseCidr(`${ipv6Text(bytes)}/${length}`) as Cidr).filter((cidr) => cidr.family === 'ipv6');
        const ours = new NetworkSet(cidrs);
        const node = new BlockList();
        for (const cidr of cidrs) node.addSubnet(cidr.address, cidr.prefix, 'ipv6');
        for (const bytes of [probe, ...networks.map(([base]) => base)]) {
          expect(ours.contains(ipv6Text(bytes), 'ipv6')).toBe(node.check(ipv6Text(bytes), 'ipv6'));
        }
      }),
    );
  });
});
