import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Reader } from 'maxmind';
import { afterAll, describe, expect, test } from 'vitest';
import { bundledCitySources } from '../../geo/locations.js';
import { MmdbWriter } from '../../geo/mmdb/writer.js';
import { formatNetwork } from '../../src/net/cidr.js';
import { MmdbReader } from '../../geo/mmdb/reader.js';
import { MmdbFormatError } from '../../src/geo/mmdb-format.js';
import { ipv4Text, ipv6Text, seededRandom, tempDir } from '../support/geo.js';

const scratch = tempDir();
afterAll(() => scratch.cleanup());

function sampleAddresses(count: number, seed: number): string[] {
  const next = seededRandom(seed);
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      addresses.push(ipv4Text(Math.floor(next() * 2 ** 32)));
    } else {
      const bytes = new Uint8Array(16);
      bytes[0] = 0x20 + Math.floor(next() * 12);
      for (let b = 1; b < 8; b++) bytes[b] = Math.floor(next() * 256);
      addresses.push(ipv6Text(bytes));
    }
  }
  return addresses;
}

describe('MmdbReader on the bundled DB-IP City Lite files (a third-party writer)', () => {
  const [ipv4File = '', ipv6File = ''] = bundledCitySources();

  test.each([
    ['ipv4', ipv4File],
    ['ipv6', ipv6File],
  ])('answers like maxmind for random addresses (%s file)', (_label, path) => {
    const file = readFileSync(path);
    const ours = new MmdbReader(file);
    const theirs = new Reader(file);
    let found = 0;
    // maxmind walks an IPv4-only tree with an IPv6 address's leading bits and returns
    // unrelated data; libmaxminddb refuses, and MmdbReader answers null (tested below).
    const addresses = sampleAddresses(3000, path.length).filter((ip) => ours.metadata.ipVersion === 6 || !ip.includes(':'));
    for (const ip of addresses) {
      const expected = theirs.get(ip);
      expect(ours.get(ip), ip).toEqual(expected);
      if (expected) found++;
    }
    expect(found).toBeGreaterThan(700);
    expect(ours.metadata.nodeCount).toBe(theirs.metadata.nodeCount);
    expect(ours.metadata.recordSize).toBe(28);
    expect(ours.metadata.buildEpoch.getTime()).toBe(theirs.metadata.buildEpoch.getTime());
  });

  test('networks() enumerates the tree in address order with the data maxmind finds there', () => {
    const file = readFileSync(ipv4File);
    const ours = new MmdbReader(file);
    const theirs = new Reader(file);
    let previousEnd = -1;
    let count = 0;
    for (const network of ours.networks()) {
      const text = formatNetwork(network.bytes, network.prefixLength);
      const address = text.slice(0, text.indexOf('/'));
      const [data, prefixLength] = theirs.getWithPrefixLength(address);
      expect(ours.decodeAt(network.dataOffset), text).toEqual(data);
      // An ip_version 4 tree is reported at ::/96; maxmind counts IPv4 bits.
      expect(network.prefixLength - 96, text).toBe(prefixLength);
      const start = ((network.bytes[12] ?? 0) * 2 ** 24) + ((network.bytes[13] ?? 0) << 16) + ((network.bytes[14] ?? 0) << 8) + (network.bytes[15] ?? 0);
      expect(start).toBeGreaterThan(previousEnd);
      previousEnd = start + 2 ** (128 - network.prefixLength) - 1;
      if (++count === 5000) break;
    }
    expect(count).toBe(5000);
  });

  test('an ip_version 4 database has no answer for IPv6 addresses', () => {
    const reader = new MmdbReader(readFileSync(ipv4File));
    expect(reader.metadata.ipVersion).toBe(4);
    expect(reader.get('2a00:1450::1')).toBeNull();
    expect(reader.get('8.8.8.8')).toMatchObject({ country_code: 'US' });
  });
});

describe('malformed input', () => {
  const valid = (() => {
    const writer = new MmdbWriter({ databaseType: 'x' });
    writer.insertCidr('10.0.0.0/8', 'ten');
    return writer.build().file;
  })();

  /** Patches the uint16 value following a metadata key (control byte 0xa1 = uint16, 1 byte). */
  function patchMetadata(file: Buffer, key: string, value: number): Buffer {
    const copy = Buffer.from(file);
    const keyAt = copy.lastIndexOf(Buffer.from(key));
    expect(copy[keyAt + key.length]).toBe(0xa1);
    copy[keyAt + key.length + 1] = value;
    return copy;
  }

  test('text that is not an address finds nothing', () => {
    const reader = new MmdbReader(valid);
    for (const text of ['', 'abc', '10.0.0', '10.0.0.0.1', ':::', '10.0.0.1/8']) {
      expect(reader.find(text), text).toBe(-1);
      expect(reader.get(text), text).toBeNull();
    }
  });

  test.each([
    ['no metadata marker', valid.subarray(0, 40), /no MaxMind DB metadata marker/],
    ['record_size 26', patchMetadata(valid, 'record_size', 26), /record_size 26 is not supported/],
    ['ip_version 5', patchMetadata(valid, 'ip_version', 5), /ip_version 5 is not 4 or 6/],
    ['format 3.x', patchMetadata(valid, 'binary_format_major_version', 3), /binary format 3.x is not supported/],
    ['metadata that is not a map', Buffer.concat([Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'), Buffer.from([0x41, 0x78])]), /metadata is not a map/],
  ])('%s is rejected with MmdbFormatError', (_label, file, message) => {
    expect(() => new MmdbReader(file)).toThrow(MmdbFormatError);
    expect(() => new MmdbReader(file)).toThrow(message);
  });

  test('a tree larger than the file is rejected', () => {
    const copy = Buffer.from(valid);
    const keyAt = copy.lastIndexOf(Buffer.from('node_count'));
    // node_count is a uint32 (0xc0 | size): rewrite it as 4 bytes of 0x0fffffff.
    const header = copy[keyAt + 10] ?? 0;
    const size = header & 0x1f;
    const patched = Buffer.concat([copy.subarray(0, keyAt + 10), Buffer.from([0xc4, 0x0f, 0xff, 0xff, 0xff]), copy.subarray(keyAt + 11 + size)]);
    expect(() => new MmdbReader(patched)).toThrow(/search tree is larger than the file/);
  });

  test('a search tree record pointing past the data section is reported on lookup', () => {
    const copy = Buffer.from(valid);
    // Point every record of node 0 far past the end (24-bit records).
    copy.writeUIntBE(0xfffff0, 0, 3);
    copy.writeUIntBE(0xfffff0, 3, 3);
    const reader = new MmdbReader(copy);
    expect(() => reader.get('10.1.1.1')).toThrow(/points outside the data section/);
  });

  test('open() reads a file from disk', async () => {
    const path = join(scratch.path, 'x.mmdb');
    writeFileSync(path, valid);
    const reader = await MmdbReader.open(path);
    expect(reader.get('10.2.3.4')).toBe('ten');
    expect(reader.byteLength).toBe(valid.length);
  });
});
