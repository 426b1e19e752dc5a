import { describe, expect, it } from 'vitest';
import { newRequestId, requestIdOf } from '../../src/server/pull-event.js';

// Made request ids: UUID-shaped (version 4 layout), never repeated within a process.
const UUID_V4_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request ids', () => {
  it('makes UUID-shaped ids that never repeat', () => {
    const ids = Array.from({ length: 20_000 }, () => newRequestId());
    for (const id of ids.slice(0, 50)) expect(id).toMatch(UUID_V4_SHAPE);
    expect(ids.at(-1)).toMatch(UUID_V4_SHAPE);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps a sane X-Request-Id and replaces a missing or unusable one', () => {
    expect(requestIdOf(['Host', 'x', 'X-Request-Id', 'pull-1.a'])).toBe('pull-1.a');
    expect(requestIdOf(['x-request-id', 'has spaces'])).toMatch(UUID_V4_SHAPE);
    expect(requestIdOf(['Host', 'x'])).toMatch(UUID_V4_SHAPE);
  });

  // The request line writes the id without escaping it: whatever a client sends, the id kept is JSON-plain.
  it.each(['a"b', 'a\\b', 'caf\u00e9', 'tab\there', '\u2028', 'x'.repeat(129), '', 'ok:/+=@._-9Z'])('keeps only JSON-plain ids: %j', (sent) => {
    const id = requestIdOf(['X-Request-Id', sent]);
    expect(JSON.stringify(id)).toBe(`"${id}"`);
    if (sent === 'ok:/+=@._-9Z') expect(id).toBe(sent);
  });
});
