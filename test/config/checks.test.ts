import { describe, expect, it } from 'vitest';
import { FEEDS } from '../../geo/sources.js';
import { validateConfig } from '../../src/config/load.js';
import { KNOWN_PROVIDERS } from '../../src/config/schema.js';
import { MINIMAL, problems } from '../support/config.js';

const bucket = (extra: Record<string, unknown>) => ({ ...MINIMAL, buckets: [{ name: 'b', url: 'https://b.example', ...extra }] });

describe('checks the old validator let through', () => {
  it.each<[string, unknown, string]>([
    [
      'an unknown bucket provider',
      bucket({ provider: 'digitalocean' }),
      'buckets[0].provider: expected a known provider (aws, gcp, azure, oracle), got "digitalocean"',
    ],
    [
      'an unknown provider rule',
      { ...MINIMAL, providers: { digitalocean: 'origin' } },
      'providers.digitalocean: expected a known provider (aws, gcp, azure, oracle), got "digitalocean"',
    ],
    [
      'a region geo/regions.json does not know',
      bucket({ provider: 'aws', regions: ['eu-west-3', 'mars-1'] }),
      'buckets[0].regions[1]: expected a region geo/regions.json lists for aws (or a location on the bucket), got "mars-1"',
    ],
    [
      'an IPv4 CIDR with host bits set',
      bucket({ networks: ['10.1.2.3/8'] }),
      'buckets[0].networks[0]: expected a CIDR without host bits (did you mean 10.0.0.0/8?), got "10.1.2.3/8"',
    ],
    [
      'an IPv6 CIDR with host bits set',
      bucket({ networks: ['192.0.2.0/24', '2001:db8::1/32'] }),
      'buckets[0].networks[1]: expected a CIDR without host bits (did you mean 2001:db8::/32?), got "2001:db8::1/32"',
    ],
    [
      'a network with a zone id',
      bucket({ networks: ['fe80::%eth0/64'] }),
      'buckets[0].networks[0]: expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32, got "fe80::%eth0/64"',
    ],
    [
      'a listen host that is neither an address nor a name',
      { ...MINIMAL, listen: { host: 'not an ip' } },
      'listen.host: expected an IP address such as 0.0.0.0, :: or 127.0.0.1, or a host name, got "not an ip"',
    ],
    [
      'an empty listen host',
      { ...MINIMAL, listen: { host: '' } },
      'listen.host: expected an IP address such as 0.0.0.0, :: or 127.0.0.1, or a host name, got ""',
    ],
    [
      'an admin host with a port in it',
      { ...MINIMAL, admin: { host: '127.0.0.1:9090' } },
      'admin.host: expected an IP address such as 0.0.0.0, :: or 127.0.0.1, or a host name, got "127.0.0.1:9090"',
    ],
    [
      'the admin listener on the public port',
      { ...MINIMAL, listen: { port: 9090 } },
      "admin.port: must differ from listen.port (the public listener's), got 9090",
    ],
    [
      'a location with a misspelt field',
      bucket({ location: { lat: 48.8, lng: 2.3 } }),
      'buckets[0].location.lon: required',
    ],
    ['an empty geo.ranges', { ...MINIMAL, geo: { ranges: '' } }, 'geo.ranges: expected a file path, got ""'],
  ])('refuses %s, naming the field and the value', (_name, doc, message) => {
    expect(problems(doc)).toContain(message);
  });

  it.each<[string, unknown]>([
    ['regions of every known provider', { ...MINIMAL, buckets: [
      { name: 'a', url: 'https://a.example', provider: 'aws', regions: ['eu-west-3'] },
      { name: 'g', url: 'https://g.example', provider: 'gcp', regions: ['europe-west1'] },
      { name: 'z', url: 'https://z.example', provider: 'azure', regions: ['westeurope'] },
      { name: 'o', url: 'https://o.example', provider: 'oracle', regions: ['eu-frankfurt-1'] },
    ] }],
    ['an unlisted region on a bucket with its own location', bucket({ provider: 'aws', regions: ['us-south-9'], location: { lat: 32.8, lon: -96.8 } })],
    ['a bare address as a host route', bucket({ networks: ['10.1.2.3', '2001:db8::1'] })],
    ['host names, resolved at start-up', { ...MINIMAL, listen: { host: 'localhost' }, admin: { host: 'edge.internal' } }],
    ['the admin listener on the public port when it is off', { ...MINIMAL, listen: { port: 9090 }, admin: { port: 0 } }],
    ['both listeners on one port of different addresses', { ...MINIMAL, listen: { host: '10.0.0.1', port: 9090 }, admin: { host: '127.0.0.1', port: 9090 } }],
  ])('accepts %s', (_name, doc) => {
    expect(problems(doc)).toEqual([]);
  });

  it('reports cross-field problems together with field problems elsewhere', () => {
    const found = problems({
      ...MINIMAL,
      log: { level: 'loud' },
      listen: { headers_timeout_ms: 5000, request_timeout_ms: 1000 },
      buckets: [{ name: 'a', url: 'https://a.example', provider: 'aws', regions: ['mars-1'] }],
      default_bucket: 'nope',
    });
    expect(found).toEqual([
      'log.level: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"',
      'listen.request_timeout_ms: must be at least listen.headers_timeout_ms (5000), got 1000',
      'buckets[0].regions[0]: expected a region geo/regions.json lists for aws (or a location on the bucket), got "mars-1"',
      'default_bucket: expected a bucket name (a) or a URL, got "nope"',
    ]);
  });

  it('checks regions against the table it is given', () => {
    const doc = bucket({ provider: 'aws', regions: ['mars-1'] });
    expect(problems(doc, { regions: (provider) => (provider === 'aws' ? new Set(['mars-1']) : undefined) })).toEqual([]);
  });

  it('reports a region table that cannot be read as a problem, not a crash', () => {
    const broken = () => {
      throw new Error('geo/regions.json is not valid JSON');
    };
    expect(problems(bucket({ provider: 'aws', regions: ['eu-west-3'] }), { regions: broken })).toEqual([
      'buckets: cannot check regions: geo/regions.json is not valid JSON',
    ]);
  });

  it('knows the providers whose feeds geo update compiles', () => {
    expect([...KNOWN_PROVIDERS].sort()).toEqual([...new Set(FEEDS.map((feed) => feed.provider))].sort());
  });

  it('fills burst from per_ip_rps when left at 0', () => {
    expect(validateConfig({ ...MINIMAL, limits: { per_ip_rps: 7 } }, 'test').limits).toEqual({ per_ip_rps: 7, burst: 7, max_clients: 100_000 });
  });
});
