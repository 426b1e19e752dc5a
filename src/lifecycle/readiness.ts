import type { Readiness } from '../ops/admin.js';

/** What /readyz says about the runtime generation in use (a worker sends it to its primary). */
export interface GenerationStatus {
  config: string;
  geo: { ranges_loaded: boolean; ranges_built_at: string | undefined; locations_loaded: boolean };
}

export function generationStatus(generation: {
  readonly source: string;
  readonly geo: { readonly rangesLoaded: boolean; readonly rangesBuiltAt: Date | undefined; readonly locationsLoaded: boolean };
}): GenerationStatus {
  const { geo } = generation;
  return {
    config: generation.source,
    geo: { ranges_loaded: geo.rangesLoaded, ranges_built_at: geo.rangesBuiltAt?.toISOString(), locations_loaded: geo.locationsLoaded },
  };
}

export type Phase = 'starting' | 'serving' | 'draining';

/**
 * The /readyz document, one shape for a single process and a --workers primary: ready once a
 * process serves the public port, with the configuration and geo data it loaded and how many
 * of the serving processes listen (a single process counts as one worker).
 */
export function readinessOf(phase: Phase, status: GenerationStatus | undefined, workers: { listening: number; total: number }): Readiness {
  const counts = { workers_listening: workers.listening, workers: workers.total };
  if (phase !== 'serving') return { ready: false, reason: phase, ...counts };
  if (status === undefined || workers.listening === 0) return { ready: false, reason: 'no worker is listening', ...counts };
  return { ready: true, ...status, ...counts };
}
