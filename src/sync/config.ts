/**
 * Reads the parts of a registry-edge config file that sync uses, validated by the sync
 * schema fragments; the other sections are left to the main schema. Relative paths
 * (`store.path`, secret files, `blobs.inventory`) resolve against the config file's folder.
 * Once the main schema holds `sync:` and `store:`, its loader can build `SyncSettings` and
 * this file only keeps `resolveSyncPaths`.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import * as v from 'valibot';
import { parse as parseYaml } from 'yaml';
import { SyncConfigError } from './origin-auth.js';
import { StoreSchema, SyncSectionSchema, SYNC_DEFAULTS, type StoreConfig, type SyncSettings } from './schema.js';

const DEFAULT_KEY = '/containers/images/{digest}';

/** The same rule as the main schema: a path with `{digest}` once, no `.` or `..` segments. */
const KeyTemplateSchema = v.pipe(
  v.string(),
  v.check(
    (key) => /^\/[A-Za-z0-9._~/{}:-]*$/.test(key) && key.split('{digest}').length === 2 && !/(^|\/)\.\.?(\/|\{|$)/.test(key),
    'expected a path starting with / containing {digest} once, no . or .. segments',
  ),
);

/** The document sync reads: strict where it owns the section, loose where the main schema does. */
export const SyncDocumentSchema = v.looseObject({
  origin: v.optional(v.looseObject({ url: v.optional(v.string(), ''), path: v.optional(v.string(), '') }), {}),
  blobs: v.optional(v.looseObject({ key: v.optional(KeyTemplateSchema, DEFAULT_KEY), inventory: v.optional(v.string(), '') }), {}),
  buckets: v.optional(v.array(v.looseObject({ name: v.string(), url: v.string(), store: v.optional(StoreSchema) })), []),
  sync: v.optional(SyncSectionSchema, SYNC_DEFAULTS),
});

/** `path: message (got value)` for each problem, as the main config loader words them. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue) ?? '(top level)';
    return `${path}: ${issue.message}`;
  });
}

function absolute(path: string, base: string): string {
  return path === '' || isAbsolute(path) ? path : resolve(base, path);
}

function resolveStore(store: StoreConfig, base: string): StoreConfig {
  switch (store.type) {
    case 'dir':
      return { ...store, path: absolute(store.path, base) };
    case 's3':
      return {
        ...store,
        access_key_id_file: absolute(store.access_key_id_file, base),
        secret_access_key_file: absolute(store.secret_access_key_file, base),
        session_token_file: absolute(store.session_token_file, base),
      };
    case 'gcs':
      return { ...store, credentials_file: absolute(store.credentials_file, base) };
    case 'azure':
      return { ...store, account_key_file: absolute(store.account_key_file, base) };
  }
}

/** Every file path in the settings made absolute against `base` (the config file's folder). */
export function resolveSyncPaths(settings: SyncSettings, base: string): SyncSettings {
  const auth = settings.sync.auth;
  return {
    ...settings,
    blobs: { ...settings.blobs, inventory: absolute(settings.blobs.inventory, base) },
    buckets: settings.buckets.map((bucket) => (bucket.store === undefined ? bucket : { ...bucket, store: resolveStore(bucket.store, base) })),
    sync: { ...settings.sync, auth: { ...auth, password_file: absolute(auth.password_file, base), docker_config: absolute(auth.docker_config, base) } },
  };
}

/** Settings from an already parsed document (YAML or JSON). */
export function syncSettingsFrom(document: unknown, source: string, base: string): SyncSettings {
  const parsed = v.safeParse(SyncDocumentSchema, document ?? {});
  if (!parsed.success) {
    throw new SyncConfigError(`invalid configuration (${source}):\n  - ${describeIssues(parsed.issues).join('\n  - ')}`);
  }
  const { origin, blobs, buckets, sync } = parsed.output;
  const settings: SyncSettings = {
    origin: { url: origin.url.replace(/\/+$/, ''), path: origin.path.replace(/^\/+|\/+$/g, '') },
    blobs: { key: blobs.key, inventory: blobs.inventory },
    buckets: buckets.map((bucket) => ({ name: bucket.name, url: bucket.url, ...(bucket.store === undefined ? {} : { store: bucket.store }) })),
    sync,
  };
  return resolveSyncPaths(settings, base);
}

/** Reads `file` (or `REGISTRY_EDGE_CONFIG`); sync has no embedded default to fall back on. */
export function loadSyncSettings(file: string | undefined, env: NodeJS.ProcessEnv): SyncSettings {
  const path = file ?? env.REGISTRY_EDGE_CONFIG;
  if (path === undefined || path === '') throw new SyncConfigError('no configuration: pass --config FILE or set REGISTRY_EDGE_CONFIG');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SyncConfigError(`${path}: cannot read: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new SyncConfigError(`${path}: ${(error as Error).message}`);
  }
  return syncSettingsFrom(document, path, dirname(resolve(path)));
}
