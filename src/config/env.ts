/** Archeio's environment variables, honoured for drop-in use where archeio ran. */

type Raw = Record<string, unknown>;

function isRaw(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Each variable and the field it sets; they win over the file and are validated like it. */
export const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: readonly string[] }> = [
  { env: 'PORT', path: ['listen', 'port'] },
  { env: 'UPSTREAM_REGISTRY_ENDPOINT', path: ['origin', 'url'] },
  { env: 'UPSTREAM_REGISTRY_PATH', path: ['origin', 'path'] },
  { env: 'SIGNATURE_UPSTREAM_ENDPOINT', path: ['signatures', 'url'] },
  { env: 'DEFAULT_AWS_BASE_URL', path: ['default_bucket'] },
  { env: 'TRUSTED_PROXY_HOPS', path: ['client_ip', 'trusted_hops'] },
];

/**
 * The mapping at `path` inside `root`, created when missing; undefined when something else is
 * there. Each mapping on the way is replaced by a shallow copy, so the caller's document is
 * never written to and nothing else of it is copied (a big one has 10,000 networks).
 */
function mappingAt(root: Raw, path: readonly string[]): Raw | undefined {
  let node = root;
  for (const key of path) {
    const child = node[key];
    if (child === undefined || child === null) node[key] = {};
    else if (!isRaw(child)) return undefined;
    else node[key] = { ...child };
    node = node[key] as Raw;
  }
  return node;
}

/**
 * A copy of the parsed document with the set variables written in (the schema reads digits
 * as numbers). A section that is not a mapping is left for the schema to report.
 */
export function applyEnv(doc: unknown, env: NodeJS.ProcessEnv): unknown {
  if (doc !== undefined && doc !== null && !isRaw(doc)) return doc;
  const root: Raw = isRaw(doc) ? { ...doc } : {};
  for (const { env: name, path } of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const parent = mappingAt(root, path.slice(0, -1));
    if (parent !== undefined) parent[path[path.length - 1] as string] = value;
  }
  return root;
}
