import { describe, expect, it } from 'vitest';
import { NetworkSet, normalizeIp, parseCidr, parseForwardedEntry, resolveClientIp, truncateIp, ipv6Groups, sanitize } from '../../src/net/ip.js';

describe('normalizeIp', () => {
  it.each([
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::FFFF:10.1.2.3', '10.1.2.3'],
    ['10.1.2.3', '10.1.2.3'],
    ['2001:db8::1', '2001:db8::1'],
    ['::ffff:zzz', '::ffff:zzz'],
    ['::1', '::1'],
  ])('%s -> %s', (input, expected) => expect(normalizeIp(input)).toBe(expected));
});

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', { address: '10.0.0.0', prefix: 8, family: 'ipv4' }],
    ['127.0.0.1', { address: '127.0.0.1', prefix: 32, family: 'ipv4' }],
    ['::1/128', { address: '::1', prefix: 128, family: 'ipv6' }],
    ['2001:db8::/32', { address: '2001:db8::', prefix: 32, family: 'ipv6' }],
    ['::ffff:10.0.0.0/104', { address: '10.0.0.0', prefix: 8, family: 'ipv4' }],
  ])('%s', (text, expected) => expect(parseCidr(text)).toEqual(expected));

  it.each(['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/x', 'banana/8', '2001:db8::/129', '::ffff:10.0.0.0/95', '10.0.0.0/1234'])('refuses %s', (text) =>
    expect(parseCidr(text)).toBeUndefined(),
  );
});

describe('NetworkSet', () => {
  const set = new NetworkSet([parseCidr('127.0.0.0/8')!, parseCidr('2001:db8::/32')!]);
  it.each([
    ['127.9.9.9', 'ipv4', true],
    ['128.0.0.1', 'ipv4', false],
    ['2001:db8:ffff::1', 'ipv6', true],
    ['2001:db9::1', 'ipv6', false],
  ] as const)('%s -> %s', (ip, family, expected) => expect(set.contains(ip, family)).toBe(expected));
  it('an empty set contains nothing', () => expect(new NetworkSet([]).contains('1.2.3.4', 'ipv4')).toBe(false));
});

describe('parseForwardedEntry', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    [' 1.2.3.4 ', '1.2.3.4'],
    ['1.2.3.4:80', '1.2.3.4'],
    ['[::1]:80', '::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
  ])('%s -> %s', (entry, ip) => expect(parseForwardedEntry(entry)).toMatchObject({ ok: true, ip }));

  it.each(['', 'garbage', '1.2.3', '1.2.3.4:99999999', '[::1', '[::1]x', 'fe80::1%eth0', '[fe80::1%25eth0]:80', 'x'.repeat(100), '300.1.1.1'])(
    'refuses %j',
    (entry) => expect(parseForwardedEntry(entry).ok).toBe(false),
  );
});

describe('resolveClientIp', () => {
  it('uses the socket address without trusted hops, ignoring X-Forwarded-For', () => {
    expect(resolveClientIp('::ffff:10.0.0.1', '9.9.9.9', 0)).toEqual({ ok: true, ip: '10.0.0.1', family: 'ipv4' });
  });
  it('fails without any address', () => expect(resolveClientIp(undefined, undefined, 0).ok).toBe(false));
  it.each([
    ['1.1.1.1, 2.2.2.2, 3.3.3.3', 1, '3.3.3.3'],
    ['1.1.1.1, 2.2.2.2, 3.3.3.3', 2, '2.2.2.2'],
    ['1.1.1.1,2.2.2.2,3.3.3.3', 3, '1.1.1.1'],
    [['1.1.1.1, 2.2.2.2', '3.3.3.3'], 2, '2.2.2.2'],
    ['spoofed, 2001:db8::7, 10.0.0.1', 2, '2001:db8::7'],
  ] as const)('%j with %i hops -> %s', (header, hops, ip) => {
    expect(resolveClientIp('127.0.0.1', header as string | string[], hops)).toMatchObject({ ok: true, ip });
  });
  it.each([
    [undefined, 1, /required/],
    ['', 1, /required/],
    ['1.1.1.1', 2, /1 entry, fewer than client_ip.trusted_hops \(2\)/],
    ['1.1.1.1, 2.2.2.2', 3, /2 entries/],
    ['1.1.1.1, garbage', 1, /invalid/],
  ] as const)('%j with %i hops is refused', (header, hops, reason) => {
    const result = resolveClientIp('127.0.0.1', header, hops);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });
  it('reads only the entries it needs from a header with thousands of entries', () => {
    const header = `${Array.from({ length: 5000 }, () => 'garbage').join(',')}, 8.8.8.8`;
    expect(resolveClientIp('127.0.0.1', header, 1)).toMatchObject({ ok: true, ip: '8.8.8.8' });
  });
});

describe('truncateIp', () => {
  it.each([
    ['192.0.2.77', 'ipv4', '192.0.2.0'],
    ['2001:db8:1234:5678::1', 'ipv6', '2001:db8:1234::'],
    ['2001:db8::1', 'ipv6', '2001:db8:0::'],
    ['::1', 'ipv6', '0:0:0::'],
  ] as const)('%s -> %s', (ip, family, expected) => expect(truncateIp(ip, family)).toBe(expected));
  it('expands embedded IPv4 tails', () => expect(ipv6Groups('64:ff9b::1.2.3.4')).toEqual([0x64, 0xff9b, 0, 0, 0, 0, 0x102, 0x304]));
});

describe('sanitize', () => {
  it('keeps messages printable and short', () => {
    expect(sanitize('a\r\nb')).toBe('a??b');
    expect(sanitize('x'.repeat(100))).toHaveLength(67);
  });
});
