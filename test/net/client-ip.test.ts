import { describe, expect, it } from 'vitest';
import { parseForwardedEntry, resolveClientIp, sanitize } from '../../src/net/client-ip.js';

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
  it('drops the zone id the kernel gives a link-local peer', () => {
    expect(resolveClientIp('fe80::1%eth0', undefined, 0)).toEqual({ ok: true, ip: 'fe80::1', family: 'ipv6' });
  });
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

describe('sanitize', () => {
  it('keeps messages printable and short', () => {
    expect(sanitize('a\r\nb')).toBe('a??b');
    expect(sanitize('x'.repeat(100))).toHaveLength(67);
  });
});
