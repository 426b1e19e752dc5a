import type { CheckNote, HeadOutcome, HealthState, Presence } from './types.js';

/*
 * The checker's fixed answers and labels: frozen verdicts shared by every request, so a cached
 * or skipped check allocates nothing.
 */

export const OUTCOMES: readonly HeadOutcome[] = [
  'present',
  'absent',
  'redirect',
  'status_4xx',
  'status_5xx',
  'status_other',
  'timeout',
  'error',
  'signature_refused',
];

export const TRANSITION_MESSAGES: Record<HealthState, string> = {
  open: 'bucket skipped after failed existence checks',
  'half-open': 'probing skipped bucket',
  closed: 'bucket answers existence checks again',
};

/** A check's answer with, when it is `unknown`, the reason in a few words (shown by `explain`). */
export interface Verdict {
  readonly presence: Presence;
  readonly cause: string | undefined;
}

export const PRESENT: Verdict = Object.freeze({ presence: 'present', cause: undefined });
export const ABSENT: Verdict = Object.freeze({ presence: 'absent', cause: undefined });
export const BREAKER_OPEN = 'breaker open';
export const PROBE_RUNNING = 'breaker half-open: a probe is running';
export const SKIPPED_OPEN: Verdict = Object.freeze({ presence: 'unknown', cause: BREAKER_OPEN });
export const SKIPPED_PROBING: Verdict = Object.freeze({ presence: 'unknown', cause: PROBE_RUNNING });
export const CHECKER_CLOSED: Verdict = Object.freeze({ presence: 'unknown', cause: 'checker closed' });

export function presenceOf(verdict: Verdict): Presence {
  return verdict.presence;
}

export function noted(verdict: Verdict, note: CheckNote): Presence {
  note.cause = verdict.cause;
  return verdict.presence;
}
