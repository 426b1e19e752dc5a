/**
 * The validated, effective configuration, inferred from the schema (schema.ts) so that the
 * types cannot drift from what is validated. Field names match the YAML file on purpose:
 * they are part of the public interface, and `check-config` prints this object back.
 */
import type * as v from 'valibot';
import type { BucketSchema, clientIpLogging, ConfigSchema, latLon, logLevel, originsRouting, othersRouting } from './schema.js';

export type Config = v.InferOutput<ConfigSchema>;
/** One bucket: `url` has no trailing slash (the object key is appended to it). */
export type BucketConfig = v.InferOutput<BucketSchema>;
export type LatLon = v.InferOutput<typeof latLon>;
export type LogLevel = v.InferOutput<typeof logLevel>;
export type ClientIpLogging = v.InferOutput<typeof clientIpLogging>;
export type OthersRouting = v.InferOutput<typeof othersRouting>;
export type OriginsRouting = v.InferOutput<typeof originsRouting>;
/** One origin replica, its `path` filled in from origin.path when left out. */
export type MirrorConfig = Config['origin']['mirrors'][number];
