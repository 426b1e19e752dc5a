import { describe, expect, it } from 'vitest';
import { AnswerCache, digestKey, MAX_ANSWERS_PER_KEY } from '../../src/blobs/answers.js';

/** Digests that differ only before their last seven hex digits: they share one lookup number. */
const twin = (n: number): string => `sha256:${n.toString(16).padStart(57, '0')}abcdef0`;

describe('AnswerCache lookups by number', () => {
  it('reads a digest’s number from its last seven hex digits', () => {
    expect(digestKey(twin(1))).toBe(0xabcdef0);
    expect(digestKey(twin(1))).toBe(digestKey(twin(2)));
    expect(digestKey(`sha256:${'0'.repeat(57)}0000001`)).toBe(1);
  });

  it('never answers one digest with the answer of another that shares its number', () => {
    const cache = new AnswerCache(100);
    cache.set('a', twin(1), 'present', 10);
    expect(cache.holds(twin(2))).toBe(false);
    expect(cache.get('a', twin(2), 0)).toBeUndefined();
    cache.set('a', twin(2), 'absent', 10);
    cache.set('b', twin(1), 'absent', 10);
    expect([cache.get('a', twin(1), 0), cache.get('a', twin(2), 0), cache.get('b', twin(1), 0), cache.get('b', twin(2), 0)]).toEqual(['present', 'absent', 'absent', undefined]);
    expect(cache.holds(twin(1)) && cache.holds(twin(2))).toBe(true);
  });

  it('answers a get after holds from what holds found, and forgets it once the cache changes', () => {
    const cache = new AnswerCache(100);
    cache.set('a', twin(1), 'present', 10);
    // A copy of the text, as each request cuts its own digest from its target.
    const asked = `${twin(1)} `.trimEnd();
    expect(cache.holds(asked)).toBe(true);
    expect(cache.get('a', asked, 0)).toBe('present');
    expect(cache.get('b', asked, 0)).toBeUndefined();
    cache.set('a', twin(1), 'absent', 20);
    expect(cache.get('a', asked, 0)).toBe('absent');
    cache.set('b', twin(1), 'present', 20);
    expect(cache.get('b', asked, 0)).toBe('present');
    expect(cache.holds(twin(3))).toBe(false);
    expect(cache.get('a', twin(1), 0)).toBe('absent');
    // Expired: unlinked by the read, and no longer held for that bucket.
    expect(cache.get('a', asked, 30)).toBeUndefined();
    expect(cache.get('a', asked, 0)).toBeUndefined();
    expect(cache.get('b', asked, 0)).toBe('present');
  });

  it(`keeps at most ${MAX_ANSWERS_PER_KEY} answers under one number, dropping the oldest, so a client minting look-alike digests walks a bounded list`, () => {
    const cache = new AnswerCache(10_000);
    for (let n = 0; n < 3 * MAX_ANSWERS_PER_KEY; n++) cache.set('a', twin(n), 'present', 10);
    const held = Array.from({ length: 3 * MAX_ANSWERS_PER_KEY }, (_, n) => cache.holds(twin(n)));
    expect(held.filter(Boolean)).toHaveLength(MAX_ANSWERS_PER_KEY);
    expect(held.slice(-MAX_ANSWERS_PER_KEY).every(Boolean)).toBe(true);
    expect(cache.figures().entries).toBe(1);
  });
});
