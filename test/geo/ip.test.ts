import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { formatNetwork, parseCidr, parseIPv4, parseIPv6Into } from '../../src/geo/ip.js';
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
        const compressed = formatNetwork(bytes, 128).replace(/\/128$/, '');
        expect(isIPv6(compressed)).toBe(true);
        expect(v6(full)).toEqual([...bytes]);
        expect(v6(compressed)).toEqual([...bytes]);
      }),
    );
  });
});

describe('parseCidr', () => {
  test('IPv4 networks are placed at ::/96', () => {
    const network = parseCidr('10.1.0.0/16');
    expect(network).toMatchObject({ prefixLength: 112, ipv4: true, hadHostBits: false });
    expect([...(network?.bytes ?? [])]).toEqual([...new Array(12).fill(0), 10, 1, 0, 0]);
  });

  test('IPv6 networks keep their length', () => {
    expect(parseCidr('2600:1f00::/24')).toMatchObject({ prefixLength: 24, ipv4: false, hadHostBits: false });
    expect(parseCidr('::/0')).toMatchObject({ prefixLength: 0 });
  });

  test('host bits are cleared and reported', () => {
    const network = parseCidr('10.1.2.3/16');
    expect(network?.hadHostBits).toBe(true);
    expect(formatNetwork(network?.bytes ?? new Uint8Array(16), network?.prefixLength ?? 0)).toBe('10.1.0.0/16');
    const v6network = parseCidr('2001:db8::1/32');
    expect(v6network?.hadHostBits).toBe(true);
    expect(formatNetwork(v6network?.bytes ?? new Uint8Array(16), 32)).toBe('2001:db8::/32');
  });

  test.each(['10.0.0.0', '10.0.0.0/', '/8', '10.0.0.0/33', '10.0.0.0/08', '::/129', '10.0.0.0/8/8', 'x/8', '10.0.0.0/-1', ' 10.0.0.0/8'])(
    'rejects %j',
    (text) => {
      expect(parseCidr(text)).toBeUndefined();
    },
  );
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
