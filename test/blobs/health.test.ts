import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HEALTHY, admits, afterHead, beginProbe, probeDue, type BucketHealth } from '../../src/blobs/health.js';
import { classifyStatus } from '../../src/blobs/index.js';

const policy = { failureThreshold: 3, cooldownMs: 1000 };

describe('health transitions (pure)', () => {
  it('holds its invariants over any sequence of answers, failures, probes and clock moves', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('head' as const), answered: fc.boolean() }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2000 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        let health: BucketHealth = HEALTHY;
        let now = 0;
        for (const s of steps) {
          if (s.kind === 'tick') {
            now += s.ms;
            continue;
          }
          // The checker turns a due open bucket into a probe before sending the HEAD.
          const probe = probeDue(health, now);
          if (health.state !== 'closed' && !probe) {
            expect(admits(health, now)).toBe(false);
            continue;
          }
          if (probe) {
            health = beginProbe(health);
            expect(admits(health, now)).toBe(false);
          }
          const before = health;
          health = afterHead(health, s.answered, probe, now, policy);
          if (s.answered) expect(health).toEqual(HEALTHY);
          else if (probe) expect(health).toMatchObject({ state: 'open', retryAt: now + policy.cooldownMs });
          else expect(health.failures).toBe(before.failures + 1);
          expect(health.state === 'open').toBe(!s.answered && (probe || health.failures >= policy.failureThreshold));
          expect(admits(health, now)).toBe(health.state === 'closed');
        }
      }),
    );
  });

  it('ignores results of HEADs that were running when the bucket opened', () => {
    const open: BucketHealth = { state: 'open', failures: 3, retryAt: 500 };
    expect(afterHead(open, true, false, 100, policy)).toBe(open);
    expect(afterHead(open, false, false, 100, policy)).toBe(open);
  });
});

describe('classifyStatus', () => {
  it.each([
    [200, 'present'],
    [204, 'present'],
    [404, 'absent'],
    [403, 'absent'],
    [301, 'redirect'],
    [302, 'redirect'],
    [400, 'status_4xx'],
    [410, 'status_4xx'],
    [500, 'status_5xx'],
    [599, 'status_5xx'],
    [100, 'status_other'],
    [700, 'status_other'],
  ] as const)('%i -> %s', (status, outcome) => {
    expect(classifyStatus(status)).toBe(outcome);
  });
});
