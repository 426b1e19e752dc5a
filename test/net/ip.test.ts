import { isIP, isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { formatAddress, ipFamily, ipv6Head, normalizeIp, parseIPv4, parseIPv6Into, truncateIp } from '../../src/net/ip.js';
import { ipv6Text } from '../support/geo.js';

function v6(text: string): number[] | undefined {
  const out = new Uint8Array(16);
  return parseIPv6Into(text, out) ? [...out] : undefined;
}

describe('parseIPv4', () => {
  test.each([
    ['0.0.0.0', 0],
    ['1.2.3.4', 0x01020304],
    ['255.255.255.255', 0xffffffff],
    ['192.168.0.1', 0xc0a80001],
  ])('%s → %d', (text, value) => {
    expect(parseIPv4(text)).toBe(value);
  });

  test.each(['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.', '.1.2.3', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', '1..2.3', '1.2.3.-4'])(
    'rejects %j',
    (text) => {
      expect(parseIPv4(text)).toBe(-1);
    },
  );
});

test('parseIPv4 accepts exactly what node:net isIPv4 accepts (ipFamily relies on it)', () => {
  const text = fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.stringMatching(/^[0-9.]{0,16}$/), fc.string({ maxLength: 16 }));
  fc.assert(
    fc.property(text, (candidate) => {
      expect(parseIPv4(candidate) >= 0).toBe(isIPv4(candidate));
    }),
    { numRuns: 5000 },
  );
});

describe('parseIPv6Into', () => {
  test('expands :: in every position', () => {
    expect(v6('::')).toEqual(new Array(16).fill(0));
    expect(v6('::1')).toEqual([...new Array(15).fill(0), 1]);
    expect(v6('2001:db8::')).toEqual([0x20, 0x01, 0x0d, 0xb8, ...new Array(12).fill(0)]);
    expect(v6('2001:db8::8:800:200c:417a')).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0x08, 0x08, 0, 0x20, 0x0c, 0x41, 0x7a]);
    expect(v6('1:2:3:4:5:6:7:8')).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    expect(v6('FFFF::ABCD')).toEqual([0xff, 0xff, ...new Array(12).fill(0), 0xab, 0xcd]);
  });

  test('accepts a dotted IPv4 tail', () => {
    expect(v6('::ffff:192.0.2.1')).toEqual([...new Array(10).fill(0), 0xff, 0xff, 192, 0, 2, 1]);
    expect(v6('64:ff9b::10.0.0.1')).toEqual([0, 0x64, 0xff, 0x9b, ...new Array(8).fill(0), 10, 0, 0, 1]);
  });

  test.each([
    '',
    ':',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    '1:',
    ':1',
    'g::1',
    '1:2:3:4:5:6:7::8',
    '::ffff:1.2.3',
    '::1.2.3.4:5',
    'fe80::1%eth0',
  ])('rejects %j', (text) => {
    expect(v6(text)).toBeUndefined();
  });

  test('agrees with node:net on random addresses, compressed or not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 7 }), (bytes, zeroRun) => {
        // Zero a run of groups so that "::" compression is exercised.
        for (let g = zeroRun; g < Math.min(8, zeroRun + 3); g++) {
          bytes[g * 2] = 0;
          bytes[g * 2 + 1] = 0;
        }
        const full = ipv6Text(bytes);
        const compressed = formatAddress(bytes, 'ipv6');
        expect(isIPv6(compressed)).toBe(true);
        expect(v6(full)).toEqual([...bytes]);
        expect(v6(compressed)).toEqual([...bytes]);
      }),
    );
  });
});

describe('formatAddress', () => {
  test('IPv6 is written as RFC 5952 says: lower case, the longest zero run (two groups or more) as ::', () => {
    const bytes = new Uint8Array(16);
    expect(parseIPv6Into('2001:DB8:0:0:1:0:0:1', bytes) && formatAddress(bytes, 'ipv6')).toBe('2001:db8::1:0:0:1');
    expect(parseIPv6Into('2001:db8:0:1:1:1:1:1', bytes) && formatAddress(bytes, 'ipv6')).toBe('2001:db8:0:1:1:1:1:1');
  });
});

describe('ipFamily', () => {
  test.each([
    ['1.2.3.4', 'ipv4'],
    ['::1', 'ipv6'],
    ['::ffff:1.2.3.4', 'ipv6'],
    ['fe80::1%eth0', undefined],
    ['01.2.3.4', undefined],
    ['garbage', undefined],
    ['', undefined],
  ] as const)('%j -> %s', (text, family) => expect(ipFamily(text)).toBe(family));

  test('agrees with node:net isIP on addresses without a zone id', () => {
    const text = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.ipV4Extended(),
      fc.string({ maxLength: 20 }),
      fc.stringMatching(/^[0-9a-fA-F:.]{0,24}$/),
    );
    fc.assert(
      fc.property(text, (candidate) => {
        const expected = ({ 4: 'ipv4', 6: 'ipv6' } as const)[isIP(candidate) as 4 | 6];
        expect(ipFamily(candidate)).toBe(candidate.includes('%') ? undefined : expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('normalizeIp', () => {
  test.each([
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::FFFF:10.1.2.3', '10.1.2.3'],
    ['::ffff:a01:203', '10.1.2.3'],
    ['0:0:0:0:0:ffff:10.1.2.3', '10.1.2.3'],
    ['10.1.2.3', '10.1.2.3'],
    ['0.0.0.0', '0.0.0.0'],
    ['2001:db8::1', '2001:db8::1'],
    ['::ffff:zzz', '::ffff:zzz'],
    ['::1', '::1'],
    ['::1.2.3.4', '::1.2.3.4'],
  ])('%s -> %s', (input, expected) => expect(normalizeIp(input)).toBe(expected));
});

describe('truncateIp', () => {
  test.each([
    ['192.0.2.77', 'ipv4', '192.0.2.0'],
    ['2001:db8:1234:5678::1', 'ipv6', '2001:db8:1234::'],
    ['2001:db8::1', 'ipv6', '2001:db8:0::'],
    ['::1', 'ipv6', '0:0:0::'],
  ] as const)('%s -> %s', (ip, family, expected) => expect(truncateIp(ip, family)).toBe(expected));

  test('reads embedded IPv4 tails', () => expect(ipv6Head('64:ff9b::1.2.3.4', 8)).toBe('64:ff9b:0:0:0:0:102:304'));
});
