import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import maxmind, { Reader } from 'maxmind';
import { afterAll, describe, expect, test } from 'vitest';
import { MmdbWriter, TypedNumber, type MmdbWriterOptions, type WriterValue } from '../../geo/mmdb/writer.js';
import { formatNetwork } from '../../src/net/cidr.js';
import { MmdbReader } from '../../geo/mmdb/reader.js';
import { ipv4Text, mmdblookup, mmdblookupMetadata, tempDir } from '../support/geo.js';

const scratch = tempDir();
afterAll(() => scratch.cleanup());
let fileCounter = 0;

/** Builds a database from [cidr, record] pairs and writes it to a temp file. */
function build(entries: Array<[string, WriterValue]>, options: Partial<MmdbWriterOptions> = {}) {
  const writer = new MmdbWriter({ databaseType: 'test-db', ...options });
  for (const [cidr, record] of entries) writer.insertCidr(cidr, record);
  const { file, stats } = writer.build();
  const path = join(scratch.path, `db-${fileCounter++}.mmdb`);
  writeFileSync(path, file);
  return { file, stats, path, maxmind: new Reader(file), reader: new MmdbReader(file) };
}

describe('longest-prefix semantics', () => {
  const nested: Array<[string, WriterValue]> = [
    ['64.252.64.0/18', { provider: 'aws' }],
    ['64.252.81.0/24', { provider: 'aws', region: 'sa-east-1' }],
    ['64.252.81.128/25', { provider: 'aws', region: 'us-east-1' }],
    ['2600:1f00::/24', { provider: 'aws', region: 'us-east-1' }],
    ['2600:1f00:4000::/40', { provider: 'aws', region: 'eu-west-3' }],
  ];
  const probes: Array<[string, WriterValue | null]> = [
    ['64.252.64.1', { provider: 'aws' }],
    ['64.252.127.255', { provider: 'aws' }],
    ['64.252.81.0', { provider: 'aws', region: 'sa-east-1' }],
    ['64.252.81.127', { provider: 'aws', region: 'sa-east-1' }],
    ['64.252.81.128', { provider: 'aws', region: 'us-east-1' }],
    ['64.252.128.0', null],
    ['64.252.63.255', null],
    ['2600:1f00::1', { provider: 'aws', region: 'us-east-1' }],
    ['2600:1f00:40ff::1', { provider: 'aws', region: 'eu-west-3' }],
    ['2600:2000::', null],
    ['2600:1eff:ffff::1', null],
  ];

  test.each([
    ['shortest first', nested],
    ['longest first', [...nested].reverse()],
    ['interleaved', [nested[2], nested[0], nested[4], nested[1], nested[3]] as Array<[string, WriterValue]>],
  ])('the more specific network wins whatever the insertion order (%s), via maxmind, mmdblookup and MmdbReader', async (_label, order) => {
    const db = build(order);
    for (const [ip, expected] of probes) {
      expect(db.maxmind.get(ip), ip).toEqual(expected);
      expect(db.reader.get(ip), ip).toEqual(expected);
      expect(await mmdblookup(db.path, ip), ip).toEqual(expected);
    }
  });

  test('a /0 covers everything not more specific', () => {
    const db = build([
      ['10.0.0.0/8', 'ten'],
      ['::/0', 'everything'],
    ]);
    expect(db.maxmind.get('10.1.2.3')).toBe('ten');
    expect(db.maxmind.get('11.1.2.3')).toBe('everything');
    expect(db.maxmind.get('2a00::1')).toBe('everything');
  });

  test('matches a brute-force longest-prefix model on random nested IPv4 networks', () => {
    // Networks inside 10.0.0.0/16 so that they nest and overlap often.
    const network = fc.record({ base: fc.integer({ min: 0, max: 0xffff }), length: fc.integer({ min: 16, max: 32 }), tag: fc.integer({ min: 0, max: 5 }) });
    fc.assert(
      fc.property(fc.array(network, { minLength: 1, maxLength: 25 }), fc.array(fc.integer({ min: 0, max: 0x1ffff }), { minLength: 20, maxLength: 20 }), (networks, probeOffsets) => {
        const writer = new MmdbWriter({ databaseType: 'model' });
        const model: Array<{ start: number; length: number; tag: string }> = [];
        for (const { base, length, tag } of networks) {
          const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
          const start = ((0x0a000000 | base) & mask) >>> 0;
          writer.insertCidr(`${ipv4Text(start)}/${length}`, `tag-${tag}`);
          // The first record inserted for an exact network stays (default tie rule).
          if (!model.some((entry) => entry.start === start && entry.length === length)) model.push({ start, length, tag: `tag-${tag}` });
        }
        const reader = new MmdbReader(writer.build().file);
        for (const offset of probeOffsets) {
          const address = (0x0a000000 + offset) >>> 0;
          let best: { length: number; tag: string } | undefined;
          for (const entry of model) {
            const mask = entry.length === 0 ? 0 : (0xffffffff << (32 - entry.length)) >>> 0;
            if (((address & mask) >>> 0) === entry.start && (!best || entry.length > best.length)) best = entry;
          }
          expect(reader.get(ipv4Text(address))).toEqual(best ? best.tag : null);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('IPv4 inside the IPv6 tree', () => {
  test('::ffff:0:0/96 and 2002::/16 alias the IPv4 subtree', async () => {
    const db = build([['192.0.2.0/24', { provider: 'test' }]]);
    for (const ip of ['192.0.2.7', '::192.0.2.7', '::ffff:192.0.2.7', '2002:c000:207::', '2002:c000:2ff:1234::1']) {
      expect(db.maxmind.get(ip), ip).toEqual({ provider: 'test' });
      expect(await mmdblookup(db.path, ip), ip).toEqual({ provider: 'test' });
    }
    expect(db.maxmind.get('::ffff:192.0.3.1')).toBeNull();
    expect(db.maxmind.get('2002:c000:300::')).toBeNull();
  });

  test('aliases can be turned off', () => {
    const db = build([['192.0.2.0/24', 'x']], { ipv4Aliases: false });
    expect(db.maxmind.get('192.0.2.1')).toBe('x');
    expect(db.maxmind.get('::ffff:192.0.2.1')).toBeNull();
    expect(db.maxmind.get('2002:c000:201::')).toBeNull();
  });

  test('data inserted inside 2002::/16 wins over the alias', () => {
    const db = build([
      ['192.0.2.0/24', 'v4'],
      ['2002:1234::/32', 'sixtofour'],
    ]);
    expect(db.maxmind.get('2002:1234::1')).toBe('sixtofour');
    expect(db.maxmind.get('2002:c000:201::')).toBeNull();
    expect(db.maxmind.get('::ffff:192.0.2.1')).toBe('v4');
  });

  test('MmdbReader.networks() lists IPv4 networks once although they are aliased', () => {
    const db = build([
      ['192.0.2.0/24', 'a'],
      ['198.51.100.0/25', 'b'],
      ['2001:db8::/32', 'c'],
    ]);
    const listed: string[] = [];
    // The yielded bytes are reused between iterations, so format each network right away.
    for (const network of db.reader.networks()) {
      listed.push(`${formatNetwork(network.bytes, network.prefixLength)}=${String(db.reader.decodeAt(network.dataOffset))}`);
    }
    expect(listed).toEqual(['192.0.2.0/24=a', '198.51.100.0/25=b', '2001:db8::/32=c']);
  });
});

describe('tree shape', () => {
  test('sibling networks with equal data merge into their parent', () => {
    const merged = build([
      ['10.0.0.0/25', 'same'],
      ['10.0.0.128/25', 'same'],
    ]);
    // maxmind reports IPv4 prefix lengths in IPv4 terms.
    expect(merged.maxmind.getWithPrefixLength('10.0.0.1')).toEqual(['same', 24]);
    const exact = build(
      [
        ['10.0.0.0/25', 'same'],
        ['10.0.0.128/25', 'same'],
      ],
      { mergeAdjacent: false },
    );
    expect(exact.maxmind.getWithPrefixLength('10.0.0.1')).toEqual(['same', 25]);
    expect(merged.stats.nodeCount).toBeLessThan(exact.stats.nodeCount);
  });

  test('resolveTie decides between two records for the same network', () => {
    const entries: Array<[string, WriterValue]> = [
      ['10.0.0.0/8', { provider: 'aws' }],
      ['10.0.0.0/8', { provider: 'aws', region: 'x' }],
    ];
    expect(build(entries).maxmind.get('10.1.1.1')).toEqual({ provider: 'aws' });
    const preferRegion = build(entries, {
      resolveTie: (existing, incoming) => (typeof incoming === 'object' && 'region' in incoming && !(typeof existing === 'object' && 'region' in existing) ? 'incoming' : 'existing'),
    });
    expect(preferRegion.maxmind.get('10.1.1.1')).toEqual({ provider: 'aws', region: 'x' });
  });

  test('lossyMerge merges siblings within maxError and never beyond it', () => {
    const distance = (a: WriterValue, b: WriterValue) => Math.abs(Number(a) - Number(b));
    const entries: Array<[string, WriterValue]> = [
      ['10.0.0.0/26', 100],
      ['10.0.0.64/26', 103],
      ['10.0.0.128/26', 106],
      ['10.0.0.192/26', 130],
    ];
    const db = build(entries, { lossyMerge: { distance, maxError: 8 } });
    const answers = [1, 65, 129, 193].map((last) => db.maxmind.get(`10.0.0.${last}`) as number);
    expect(Math.abs((answers[0] ?? 0) - 100)).toBeLessThanOrEqual(8);
    expect(Math.abs((answers[1] ?? 0) - 103)).toBeLessThanOrEqual(8);
    expect(Math.abs((answers[2] ?? 0) - 106)).toBeLessThanOrEqual(8);
    expect(answers[3]).toBe(130);
    expect(db.stats.nodeCount).toBeLessThan(build(entries).stats.nodeCount);
  });

  test('lossyMerge keeps its error bound however many merges pile up', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 64, maxLength: 64 }), fc.integer({ min: 1, max: 20 }), (values, maxError) => {
        const writer = new MmdbWriter({ databaseType: 'lossy', lossyMerge: { distance: (a, b) => Math.abs(Number(a) - Number(b)), maxError } });
        values.forEach((value, index) => writer.insertCidr(`10.0.0.${index * 4}/30`, value));
        const reader = new MmdbReader(writer.build().file);
        values.forEach((value, index) => {
          expect(Math.abs(Number(reader.get(`10.0.0.${index * 4 + 1}`)) - value)).toBeLessThanOrEqual(maxError);
        });
      }),
      { numRuns: 100 },
    );
  });

  test('networks without data never absorb neighbours under lossyMerge', () => {
    const db = build([['10.0.0.0/25', 1]], { lossyMerge: { distance: () => 0, maxError: 1000 } });
    expect(db.maxmind.get('10.0.0.200')).toBeNull();
  });

  test.each([24, 28, 32] as const)('record size %d gives the same answers (maxmind and mmdblookup)', async (recordSize) => {
    const db = build(
      [
        ['10.0.0.0/8', 'a'],
        ['10.200.0.0/16', 'b'],
        ['2001:db8::/32', 'c'],
      ],
      { recordSize },
    );
    expect(db.maxmind.metadata.recordSize).toBe(recordSize);
    for (const [ip, expected] of [
      ['10.1.1.1', 'a'],
      ['10.200.1.1', 'b'],
      ['2001:db8::5', 'c'],
    ] as const) {
      expect(db.maxmind.get(ip)).toBe(expected);
      expect(db.reader.get(ip)).toBe(expected);
    }
    expect(mmdblookupMetadata(db.path, '10.200.1.1')).toContain(`Record size:   ${recordSize} bits`);
  });

  test('28-bit records carry their high nibbles correctly (large data offsets)', async () => {
    // Enough distinct records that data pointers exceed 2^24 only with 28/32-bit records.
    const entries: Array<[string, WriterValue]> = [];
    for (let i = 0; i < 600; i++) entries.push([`10.${i >> 8}.${i & 255}.0/24`, { id: i, pad: 'p'.repeat(30_000) + String(i) }]);
    const db = build(entries);
    expect(db.stats.recordSize).toBe(28);
    for (const i of [0, 1, 299, 599]) {
      expect((db.maxmind.get(`10.${i >> 8}.${i & 255}.9`) as { id: number }).id).toBe(i);
    }
    const viaLibmaxminddb = await mmdblookup(db.path, '10.2.87.1');
    expect(viaLibmaxminddb?.['id']).toBe(599);
  });
});

describe('data section', () => {
  const everyType: WriterValue = {
    text: 'héllo wörld ✓',
    empty: '',
    double: 3.25,
    negativeDouble: -122.084999,
    float: new TypedNumber('float', 1.5),
    uint16: new TypedNumber('uint16', 65535),
    uint32: 4294967295,
    zero: 0,
    int32: -123456,
    int32Max: new TypedNumber('int32', 2147483647),
    uint64: new TypedNumber('uint64', 18446744073709551615n),
    uint128: new TypedNumber('uint128', 2n ** 100n + 7n),
    yes: true,
    no: false,
    bytes: Uint8Array.from([0, 1, 254, 255]),
    list: ['a', 1, [2, { deep: 'x' }]],
    nested: { country: { iso_code: 'FR' }, location: { latitude: 48.8566, longitude: 2.3522 } },
  };

  test('every MMDB type round-trips through maxmind and MmdbReader', () => {
    const db = build([['10.0.0.0/8', everyType]]);
    const viaMaxmind = db.maxmind.get('10.0.0.1') as Record<string, unknown>;
    const viaReader = db.reader.get('10.0.0.1') as Record<string, unknown>;
    for (const record of [viaMaxmind, viaReader]) {
      expect(record['text']).toBe('héllo wörld ✓');
      expect(record['empty']).toBe('');
      expect(record['double']).toBe(3.25);
      expect(record['negativeDouble']).toBe(-122.084999);
      expect(record['float']).toBe(1.5);
      expect(record['uint16']).toBe(65535);
      expect(record['uint32']).toBe(4294967295);
      expect(record['zero']).toBe(0);
      expect(record['int32']).toBe(-123456);
      expect(record['int32Max']).toBe(2147483647);
      expect(BigInt(record['uint64'] as bigint)).toBe(18446744073709551615n);
      expect(BigInt(record['uint128'] as bigint)).toBe(2n ** 100n + 7n);
      expect(record['yes']).toBe(true);
      expect(record['no']).toBe(false);
      expect([...(record['bytes'] as Uint8Array)]).toEqual([0, 1, 254, 255]);
      expect(record['list']).toEqual(['a', 1, [2, { deep: 'x' }]]);
      expect(record['nested']).toEqual({ country: { iso_code: 'FR' }, location: { latitude: 48.8566, longitude: 2.3522 } });
    }
  });

  test('libmaxminddb decodes the same scalars', async () => {
    const db = build([['10.0.0.0/8', { text: 'héllo', double: -122.085, uint32: 4294967295, int32: -5, yes: true }]]);
    expect(await mmdblookup(db.path, '10.9.9.9')).toEqual({ text: 'héllo', double: -122.085, uint32: 4294967295, int32: -5, yes: true });
  });

  test.each([0, 1, 28, 29, 30, 284, 285, 286, 65820, 65821, 65822, 70000])('a string of %d bytes round-trips (size encodings)', (length) => {
    const text = 'x'.repeat(length);
    const db = build([['10.0.0.0/8', { text }]]);
    expect((db.maxmind.get('10.0.0.1') as { text: string }).text).toBe(text);
    expect((db.reader.get('10.0.0.1') as { text: string }).text).toBe(text);
  });

  test('maps and arrays with more than 28 entries round-trip', () => {
    const map = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
    const list = Array.from({ length: 300 }, (_, i) => `v${i}`);
    const db = build([['10.0.0.0/8', { map, list }]]);
    expect(db.maxmind.get('10.0.0.1')).toEqual({ map, list });
  });

  test('equal records are stored once and repeated strings become pointers', () => {
    const record = { provider: 'aws', region: 'eu-west-3' };
    const entries: Array<[string, WriterValue]> = [];
    for (let i = 0; i < 200; i++) entries.push([`10.${i}.0.0/16`, i % 2 === 0 ? record : { region: 'eu-west-3', provider: 'aws' }]);
    const db = build(entries, { mergeAdjacent: false });
    expect(db.stats.distinctRecords).toBe(1);
    const single = build([['10.0.0.0/16', record]]);
    expect(db.stats.dataSectionBytes).toBe(single.stats.dataSectionBytes);

    const many: Array<[string, WriterValue]> = [];
    for (let i = 0; i < 200; i++) many.push([`10.${i}.0.0/16`, { provider: 'amazon-web-services', region: `region-${i}` }]);
    const dedupedStrings = build(many);
    // Without pointers every record would repeat "provider", "amazon-web-services", "region".
    expect(dedupedStrings.stats.dataSectionBytes).toBeLessThan(200 * 45);
    expect(dedupedStrings.maxmind.get('10.150.1.1')).toEqual({ provider: 'amazon-web-services', region: 'region-150' });
  });

  test('pointers of every size class used in practice resolve (data section > 512 KiB)', async () => {
    // Each record repeats a string first written ~3000 records earlier, so pointers
    // target offsets below 2 KiB, below 512 KiB and above 512 KiB.
    const entries: Array<[string, WriterValue]> = [];
    for (let i = 0; i < 6000; i++) {
      entries.push([`10.${i >> 8}.${i & 255}.0/24`, { own: `own-string-${i}-${'z'.repeat(100)}`, earlier: `own-string-${Math.max(0, i - 3000)}-${'z'.repeat(100)}` }]);
    }
    const db = build(entries);
    expect(db.stats.dataSectionBytes).toBeGreaterThan(526336);
    for (const i of [0, 10, 3001, 5000, 5999]) {
      const ip = `10.${i >> 8}.${i & 255}.1`;
      const expected = { own: `own-string-${i}-${'z'.repeat(100)}`, earlier: `own-string-${Math.max(0, i - 3000)}-${'z'.repeat(100)}` };
      expect(db.maxmind.get(ip)).toEqual(expected);
      expect(db.reader.get(ip)).toEqual(expected);
      expect(await mmdblookup(db.path, ip)).toEqual(expected);
    }
  });
});

describe('metadata', () => {
  test('carries the format version, build epoch, type, description and tree facts', async () => {
    const buildEpoch = new Date('2026-07-29T08:27:05Z');
    const db = build([['10.0.0.0/8', 'x']], { buildEpoch, description: { en: 'test database', fr: 'base de test' }, languages: ['en', 'fr'] });
    const opened = await maxmind.open(db.path);
    expect(opened.metadata).toMatchObject({
      binaryFormatMajorVersion: 2,
      binaryFormatMinorVersion: 0,
      databaseType: 'test-db',
      description: { en: 'test database', fr: 'base de test' },
      languages: ['en', 'fr'],
      ipVersion: 6,
      nodeCount: db.stats.nodeCount,
      recordSize: 24,
    });
    expect(opened.metadata.buildEpoch.toISOString()).toBe('2026-07-29T08:27:05.000Z');
    expect(db.reader.metadata.buildEpoch.toISOString()).toBe('2026-07-29T08:27:05.000Z');
    const verbose = mmdblookupMetadata(db.path, '10.0.0.1');
    expect(verbose).toContain('Binary format: 2.0');
    expect(verbose).toContain('IP version:    IPv6');
    expect(verbose).toContain('Type:          test-db');
    expect(verbose).toContain(`Node count:    ${db.stats.nodeCount}`);
    expect(verbose).toContain('2026-07-29 08:27:05 UTC');
  });

  test('an empty database is valid', () => {
    const db = build([]);
    expect(db.maxmind.get('1.2.3.4')).toBeNull();
    expect(db.reader.get('::1')).toBeNull();
  });
});

describe('misuse', () => {
  test('rejects bad CIDRs, bad prefix lengths and reuse after build', () => {
    const writer = new MmdbWriter({ databaseType: 'x' });
    expect(() => writer.insertCidr('10.0.0.0/33', 'x')).toThrow(/not a CIDR/);
    expect(() => writer.insert(new Uint8Array(16), 129, 'x')).toThrow(/outside 0..128/);
    expect(() => writer.insertId(new Uint8Array(16), 8, 5)).toThrow(/unknown data id/);
    writer.insertCidr('10.0.0.0/8', 'x');
    writer.build();
    expect(() => writer.build()).toThrow(/already/);
    expect(() => writer.insertCidr('11.0.0.0/8', 'x')).toThrow(/already/);
  });

  test('refuses integers that do not fit their declared type', () => {
    for (const value of [new TypedNumber('uint16', 65536), new TypedNumber('int32', 2 ** 31), new TypedNumber('uint64', -1n)]) {
      const writer = new MmdbWriter({ databaseType: 'x' });
      writer.insertCidr('10.0.0.0/8', { value });
      expect(() => writer.build()).toThrow(RangeError);
    }
  });

  test('a forced record size that cannot address the file is refused', () => {
    const writer = new MmdbWriter({ databaseType: 'x', recordSize: 24 });
    writer.insertCidr('10.0.0.0/8', { pad: 'p'.repeat(16_800_000) });
    expect(() => writer.build()).toThrow(/cannot address/);
  });
});
