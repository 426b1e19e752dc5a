import { describe, expect, it } from 'vitest';
import { checkHosts, ConfigError, validateConfig } from '../../src/config/load.js';
import { MINIMAL } from '../support/config.js';

const withHosts = (listen: string, admin: Record<string, unknown>) =>
  validateConfig({ ...MINIMAL, listen: { host: listen }, admin }, 'test');

async function hostProblems(listen: string, admin: Record<string, unknown> = {}): Promise<string[]> {
  try {
    await checkHosts(withHosts(listen, admin), 'test');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

// Real lookups: `.invalid` never resolves (RFC 6761) and `localhost` always does.
describe('checkHosts', () => {
  it('accepts addresses without a lookup, and names that resolve', async () => {
    expect(await hostProblems('0.0.0.0', { host: '::1' })).toEqual([]);
    expect(await hostProblems('localhost', { host: 'localhost' })).toEqual([]);
  });

  it('names every field whose host does not resolve, with the value and the cause', async () => {
    // ENOTFOUND from a resolver that answers; EAI_AGAIN where none can be reached.
    expect(await hostProblems('edge.invalid', { host: 'admin.invalid' })).toEqual([
      expect.stringMatching(/^listen\.host: expected an IP address or a host name that resolves, got "edge\.invalid" \((ENOTFOUND|EAI_AGAIN)\)$/),
      expect.stringMatching(/^admin\.host: expected an IP address or a host name that resolves, got "admin\.invalid" \((ENOTFOUND|EAI_AGAIN)\)$/),
    ]);
  });

  it('does not look up the admin host when the admin listener is off', async () => {
    expect(await hostProblems('127.0.0.1', { host: 'admin.invalid', port: 0 })).toEqual([]);
  });

  it('throws a ConfigError that names the source', async () => {
    await expect(checkHosts(withHosts('edge.invalid', {}), 'edge.yaml')).rejects.toThrow(/invalid configuration \(edge\.yaml\)/);
  });
});
