import type { Readiness } from '../ops/admin.js';

/** What /readyz says about the runtime generation in use (a worker sends it to its primary). */
export interface GenerationStatus {
  config: string;
  geo: { ranges_loaded: boolean; ranges_built_at: string | undefined; locations_loaded: boolean; locations_loading: boolean; locations_error?: string };
}

export function generationStatus(generation: {
  readonly source: string;
  readonly geo: {
    readonly rangesLoaded: boolean;
    readonly rangesBuiltAt: Date | undefined;
    readonly locationsLoaded: boolean;
    readonly locationsLoading?: boolean;
    readonly locationsFailed?: string | undefined;
  };
}): GenerationStatus {
  const { geo } = generation;
  const status: GenerationStatus = {
    config: generation.source,
    geo: { ranges_loaded: geo.rangesLoaded, ranges_built_at: geo.rangesBuiltAt?.toISOString(), locations_loaded: geo.locationsLoaded, locations_loading: geo.locationsLoading === true },
  };
  if (geo.locationsFailed !== undefined) status.geo.locations_error = geo.locationsFailed;
  return status;
}

/**
 * Why a generation that serves is not ready yet: its city data is still loading (a first
 * start-up opens the port before reading it), or that load failed. Until then a load
 * balancer sends nothing; a client that comes anyway is answered, and a request that needs
 * the city data waits for it.
 */
function geoNotReady(status: GenerationStatus): string | undefined {
  if (status.geo.locations_loading) return 'loading geolocation';
  return status.geo.locations_error === undefined ? undefined : `geolocation failed to load: ${status.geo.locations_error}`;
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
  const geo = geoNotReady(status);
  if (geo !== undefined) return { ready: false, reason: geo, ...status, ...counts };
  return { ready: true, ...status, ...counts };
}
