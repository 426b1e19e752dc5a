import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { NetworkSet, parseCidr, type Cidr } from '../../src/net/cidr.js';
import { ipFamily } from '../../src/net/ip.js';
import { NO_GROUP, PrefixTable, type PrefixEntry } from '../../src/net/prefix-table.js';

/** Entries from one list of networks per owner (owner = list index, as buckets are). */
function entriesOf(owners: readonly (readonly string[])[]): PrefixEntry[] {
  return owners.flatMap((networks, owner) => networks.map((text) => ({ cidr: parseCidr(text) as Cidr, owner })));
}

/** `owner/prefixLength` of every network covering an address, outermost first. */
function covering(table: PrefixTable, address: string): string[] {
  const group = table.lookup(address, ipFamily(address) as 'ipv4' | 'ipv6');
  return group === NO_GROUP ? [] : (table.groups[group] ?? []).map((m) => `${m.owner}/${m.prefixLength}`);
}

describe('PrefixTable', () => {
  const table = new PrefixTable(
    entriesOf([
      ['10.0.0.0/8', '2001:db8::/32'],
      ['10.1.0.0/16', '10.1.2.0/24', '2001:db8:1::/48'],
      ['10.1.2.3/32', '2001:db8:1::1/128'],
      ['10.1.0.0/16'],
      ['192.0.2.0/24'],
    ]),
  );

  test.each<[string, string[]]>([
    ['10.200.0.1', ['0/104']],
    ['10.1.9.9', ['0/104', '1/112', '3/112']],
    ['10.1.2.9', ['0/104', '1/112', '3/112', '1/120']],
    ['10.1.2.3', ['0/104', '1/112', '3/112', '1/120', '2/128']],
    ['10.1.2.4', ['0/104', '1/112', '3/112', '1/120']],
    ['10.1.3.0', ['0/104', '1/112', '3/112']],
    ['10.2.0.0', ['0/104']],
    ['9.255.255.255', []],
    ['11.0.0.0', []],
    ['192.0.2.255', ['4/120']],
    ['192.0.3.0', []],
    ['0.0.0.0', []],
    ['255.255.255.255', []],
    ['2001:db8::1', ['0/32']],
    ['2001:db8:1::1', ['0/32', '1/48', '2/128']],
    ['2001:db8:1::2', ['0/32', '1/48']],
    ['2001:db8:1:ffff:ffff:ffff:ffff:ffff', ['0/32', '1/48']],
    ['2001:db8:2::', ['0/32']],
    ['2001:db9::', []],
    ['::', []],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', []],
    // A mapped address that skipped normalisation is looked up as its IPv4 address.
    ['::ffff:10.1.2.3', ['0/104', '1/112', '3/112', '1/120', '2/128']],
    // An IPv4-compatible address is IPv6 and not in any IPv4 network.
    ['::10.1.2.3', []],
  ])('%s is covered by %j', (address, expected) => expect(covering(table, address)).toEqual(expected));

  test('/0 networks cover the whole of their family, and an IPv6 /0 every IPv4 address too', () => {
    const zero = new PrefixTable(entriesOf([['0.0.0.0/0'], ['::/0'], ['::/96']]));
    expect(covering(zero, '0.0.0.0')).toEqual(['1/0', '0/96']);
    expect(covering(zero, '255.255.255.255')).toEqual(['1/0', '0/96']);
    expect(covering(zero, '::')).toEqual(['1/0', '2/96']);
    expect(covering(zero, '::1:0:0')).toEqual(['1/0']);
    expect(covering(zero, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toEqual(['1/0']);
  });

  test('the same network in two owners covers with both, in entry order', () => {
    expect(covering(new PrefixTable(entriesOf([['10.0.0.0/8'], ['10.0.0.0/8']])), '10.0.0.1')).toEqual(['0/104', '1/104']);
  });

  test('an empty table covers nothing', () => {
    const empty = new PrefixTable([]);
    expect(empty.lookup('10.0.0.1', 'ipv4')).toBe(NO_GROUP);
    expect(empty.lookup('::1', 'ipv6')).toBe(NO_GROUP);
    expect(empty.bytes).toBeGreaterThan(0);
  });

  test('ranges covered alike merge: 10,000 disjoint /24s in one owner make few groups', () => {
    const networks = Array.from({ length: 10_000 }, (_, n) => `10.${n >> 8}.${n & 255}.0/24`);
    const big = new PrefixTable(entriesOf([networks]));
    expect(big.groups).toHaveLength(1);
    expect(covering(big, '10.39.15.1')).toEqual(['0/120']);
    expect(covering(big, '10.39.16.1')).toEqual([]);
  });

  const v4Text = (value: number): string => `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;

  test('agrees with each owner’s NetworkSet on random nested and disjoint IPv4 networks', () => {
    // Few distinct bases so that networks nest and repeat across owners.
    const network = fc.tuple(fc.constantFrom(0x0a000000, 0x0a010000, 0x0a010200, 0xc0000200, 0), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 32 }));
    const owners = fc.array(fc.array(network, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(owners, fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }), (lists, probes) => {
        const texts = lists.map((list) =>
          list.map(([base, low, length]) => (parseCidr(`${v4Text((base | (low & 0x1ff)) >>> 0)}/${length}`) as Cidr).text),
        );
        const ours = new PrefixTable(entriesOf(texts));
        const sets = texts.map((list) => new NetworkSet(list.map((t) => parseCidr(t) as Cidr)));
        const bases = lists.flatMap((list) => list.flatMap(([base, low]) => [(base | low) >>> 0, ((base | low) - 1) >>> 0]));
        for (const probe of [...probes, ...bases].map(v4Text)) {
          const owners = new Set(covering(ours, probe).map((m) => Number(m.split('/')[0])));
          expect([...owners].sort()).toEqual(sets.flatMap((set, owner) => (set.contains(probe, 'ipv4') ? [owner] : [])));
        }
      }),
    );
  });

  test('agrees with each owner’s NetworkSet on random nested IPv6 networks, and on IPv4 clients of IPv6 networks', () => {
    const group = () => fc.constantFrom('0', '1', 'ffff', 'db8');
    const network = fc.tuple(fc.array(group(), { minLength: 8, maxLength: 8 }), fc.constantFrom(0, 16, 32, 48, 64, 80, 96, 104, 112, 128));
    const owners = fc.array(fc.array(network, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(owners, fc.array(fc.array(group(), { minLength: 8, maxLength: 8 }), { minLength: 4, maxLength: 4 }), (lists, probes) => {
        const texts = lists.map((list) => list.map(([groups, length]) => (parseCidr(`${groups.join(':')}/${length}`) as Cidr).text));
        const ours = new PrefixTable(entriesOf(texts));
        const sets = texts.map((list) => new NetworkSet(list.map((t) => parseCidr(t) as Cidr)));
        const addresses = [...probes.map((groups) => groups.join(':')), ...lists.flatMap((list) => list.map(([groups]) => groups.join(':'))), '192.0.2.1'];
        for (const probe of addresses) {
          const family = ipFamily(probe) as 'ipv4' | 'ipv6';
          const owners = new Set(covering(ours, probe).map((m) => Number(m.split('/')[0])));
          expect([...owners].sort(), probe).toEqual(sets.flatMap((set, owner) => (set.contains(probe, family) ? [owner] : [])));
        }
      }),
    );
  });
});
