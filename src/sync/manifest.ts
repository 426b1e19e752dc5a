/**
 * Reading manifests: what an index points at (filtered to the chosen platforms), what an
 * image needs (config and layers, foreign layers apart). Pure: bytes in, descriptors out.
 */
import {
  DOCKER_SCHEMA1,
  DOCKER_SCHEMA1_SIGNED,
  IMAGE_TYPES,
  INDEX_TYPES,
  isForeignLayer,
} from '../registry-client/media-types.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'index'; manifests: Descriptor[] }
  | { kind: 'image'; blobs: Descriptor[]; foreign: Descriptor[]; subject?: string };

export const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

function descriptor(value: unknown, where: string): Descriptor {
  const record = (value ?? {}) as Record<string, unknown>;
  const { mediaType, digest, size } = record;
  if (typeof digest !== 'string' || !DIGEST.test(digest)) throw new Error(`${where}: digest ${JSON.stringify(digest)} is not a sha256/sha512 digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new Error(`${where}: size ${JSON.stringify(size)} is not a byte count`);
  const result: Descriptor = { mediaType: typeof mediaType === 'string' ? mediaType : '', digest, size };
  const platform = record.platform as Record<string, unknown> | undefined;
  if (platform !== undefined && typeof platform.os === 'string' && typeof platform.architecture === 'string') {
    result.platform = { os: platform.os, architecture: platform.architecture };
    if (typeof platform.variant === 'string' && platform.variant !== '') result.platform.variant = platform.variant;
  }
  if (record.annotations !== null && typeof record.annotations === 'object') result.annotations = record.annotations as Record<string, string>;
  return result;
}

/** The manifest's type: its own `mediaType` field, else the response's, else its shape. */
function kindOf(document: Record<string, unknown>, contentType: string): 'index' | 'image' | string {
  const declared = typeof document.mediaType === 'string' && document.mediaType !== '' ? document.mediaType : contentType;
  if (INDEX_TYPES.has(declared)) return 'index';
  if (IMAGE_TYPES.has(declared)) return 'image';
  if (declared === DOCKER_SCHEMA1 || declared === DOCKER_SCHEMA1_SIGNED || document.schemaVersion === 1) {
    return 'Docker schema 1 (deprecated, unsupported: re-push the image as schema 2 or OCI)';
  }
  if (Array.isArray(document.manifests)) return 'index';
  if (document.config !== undefined && Array.isArray(document.layers)) return 'image';
  return `unknown media type ${JSON.stringify(declared)}`;
}

export function parseManifest(bytes: Buffer, contentType: string, where: string): ParsedManifest {
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Error(`${where}: manifest is not JSON`);
  }
  if (document === null || typeof document !== 'object') throw new Error(`${where}: manifest is not a JSON object`);
  const record = document as Record<string, unknown>;
  const kind = kindOf(record, contentType);
  if (kind === 'index') {
    const list = record.manifests as unknown[];
    return { kind, manifests: list.map((item, i) => descriptor(item, `${where}: manifests[${i}]`)) };
  }
  if (kind !== 'image') throw new Error(`${where}: ${kind}`);
  const layers = Array.isArray(record.layers) ? record.layers : [];
  const all = [descriptor(record.config, `${where}: config`), ...layers.map((item, i) => descriptor(item, `${where}: layers[${i}]`))];
  const subject = (record.subject as { digest?: unknown } | undefined)?.digest;
  const parsed: ParsedManifest = {
    kind,
    blobs: all.filter((item) => !isForeignLayer(item.mediaType)),
    foreign: all.filter((item) => isForeignLayer(item.mediaType)),
  };
  if (typeof subject === 'string') parsed.subject = subject;
  return parsed;
}

/** `linux/arm64` matches any arm64 variant; `linux/arm/v7` only v7. */
export function platformMatches(wanted: string, platform: Descriptor['platform']): boolean {
  if (platform === undefined) return false;
  const [os, architecture, variant] = wanted.split('/');
  return platform.os === os && platform.architecture === architecture && (variant === undefined || platform.variant === variant);
}

const ATTESTATION_TYPE = 'vnd.docker.reference.type';
const ATTESTATION_REFERENCE = 'vnd.docker.reference.digest';

/**
 * The entries of an index to walk. With a platform list, BuildKit attestation manifests
 * (platform unknown/unknown) follow the image they describe.
 */
export function selectChildren(manifests: Descriptor[], platforms: 'all' | readonly string[]): Descriptor[] {
  if (platforms === 'all') return manifests;
  const chosen = manifests.filter((item) => platforms.some((wanted) => platformMatches(wanted, item.platform)));
  const chosenDigests = new Set(chosen.map((item) => item.digest));
  const attestations = manifests.filter((item) => {
    const reference = item.annotations?.[ATTESTATION_REFERENCE];
    return item.annotations?.[ATTESTATION_TYPE] === 'attestation-manifest' && reference !== undefined && chosenDigests.has(reference);
  });
  return [...chosen, ...attestations];
}

/** Cosign's tags for a manifest digest: `sha256-<hex>.sig`, `.att`, `.sbom`. */
export function cosignTags(digest: string): string[] {
  const base = digest.replace(':', '-');
  return [`${base}.sig`, `${base}.att`, `${base}.sbom`];
}

/** The OCI 1.1 referrers tag schema's fallback tag for a digest: `sha256-<hex>`. */
export function referrersFallbackTag(digest: string): string {
  return digest.replace(':', '-');
}

/** Tags the `sync.tags` expression selects (every tag when it is empty). */
export function selectTags(tags: readonly string[], expression: string): string[] {
  if (expression === '') return [...tags];
  const pattern = new RegExp(expression);
  return tags.filter((tag) => pattern.test(tag));
}
