/**
 * Deterministic OCI images built without network or container tooling, so that every run
 * pushes byte-identical blobs and the digests asserted by the suite never drift.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const MEDIA_TYPE = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** 2000-01-01T00:00:00Z: any fixed instant works; zero would look like a missing value. */
export const FIXED_MTIME_S = 946_684_800;
const FIXED_CREATED = new Date(FIXED_MTIME_S * 1000).toISOString();

export interface TarEntry {
  path: string;
  kind: 'file' | 'dir';
  content?: Buffer;
  mode?: number;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

export interface Platform {
  architecture: string;
  os: string;
}

/** A content-addressed image (manifest or index) with every blob it references. */
export interface BuiltArtifact {
  descriptor: Descriptor;
  /** Every blob reachable from the artifact, including its own manifest bytes. */
  blobs: Map<string, Buffer>;
  /** Digests of config and layer blobs only, i.e. what a client fetches under `/blobs/`. */
  blobDigests: string[];
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Incompressible but reproducible bytes: AES-CTR keystream keyed by the seed. A layer made of
 * these keeps its size after gzip, so byte counts in access logs are meaningful.
 */
export function pseudoRandomBytes(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

function writeOctal(header: Buffer, offset: number, width: number, value: number): void {
  // ustar numeric fields are zero-padded octal terminated by NUL.
  const text = value.toString(8).padStart(width - 1, '0');
  if (text.length > width - 1) throw new Error(`tar field overflow: ${value}`);
  header.write(`${text}\0`, offset, width, 'ascii');
}

function tarHeader(entry: TarEntry, size: number): Buffer {
  const header = Buffer.alloc(512);
  const name = entry.kind === 'dir' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  if (Buffer.byteLength(name) > 100) throw new Error(`tar path too long for this writer: ${name}`);
  header.write(name, 0, 100, 'utf8');
  writeOctal(header, 100, 8, entry.mode ?? (entry.kind === 'dir' ? 0o755 : 0o644));
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, FIXED_MTIME_S);
  header.write(entry.kind === 'dir' ? '5' : '0', 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write('root', 265, 32, 'ascii');
  header.write('root', 297, 32, 'ascii');
  // The checksum is computed with its own field read as eight spaces.
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

/** A POSIX ustar archive of the entries, in the given order, ended by two zero blocks. */
export function buildTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.kind === 'file' ? (entry.content ?? Buffer.alloc(0)) : Buffer.alloc(0);
    parts.push(tarHeader(entry, content.length), content);
    const padding = (512 - (content.length % 512)) % 512;
    if (padding > 0) parts.push(Buffer.alloc(padding));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

interface Layer {
  descriptor: Descriptor;
  bytes: Buffer;
  diffId: string;
}

function buildLayer(entries: TarEntry[]): Layer {
  const tar = buildTar(entries);
  // Node writes a zero mtime and a fixed OS byte in the gzip header, so output is stable.
  const bytes = gzipSync(tar, { level: 6 });
  return {
    bytes,
    diffId: sha256Digest(tar),
    descriptor: { mediaType: MEDIA_TYPE.layerGzip, digest: sha256Digest(bytes), size: bytes.length },
  };
}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

export interface ImageSpec {
  platform: Platform;
  layers: TarEntry[][];
  env?: string[];
}

export function buildImage(spec: ImageSpec): BuiltArtifact {
  const layers = spec.layers.map(buildLayer);
  const config = jsonBytes({
    created: FIXED_CREATED,
    architecture: spec.platform.architecture,
    os: spec.platform.os,
    config: { Env: spec.env ?? [], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    history: layers.map(() => ({ created: FIXED_CREATED, created_by: 'registry-edge e2e fixture' })),
  });
  const configDescriptor: Descriptor = { mediaType: MEDIA_TYPE.config, digest: sha256Digest(config), size: config.length };
  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.manifest,
    config: configDescriptor,
    layers: layers.map((layer) => layer.descriptor),
  });
  const descriptor: Descriptor = { mediaType: MEDIA_TYPE.manifest, digest: sha256Digest(manifest), size: manifest.length };
  const blobs = new Map<string, Buffer>([
    [configDescriptor.digest, config],
    ...layers.map((layer): [string, Buffer] => [layer.descriptor.digest, layer.bytes]),
    [descriptor.digest, manifest],
  ]);
  return {
    descriptor,
    blobs,
    blobDigests: [configDescriptor.digest, ...layers.map((layer) => layer.descriptor.digest)],
  };
}

export function buildIndex(images: ImageSpec[]): { index: BuiltArtifact; platforms: Map<string, BuiltArtifact> } {
  const platforms = new Map<string, BuiltArtifact>();
  for (const spec of images) platforms.set(spec.platform.architecture, buildImage(spec));
  const index = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.index,
    manifests: images.map((spec) => {
      const built = platforms.get(spec.platform.architecture);
      if (!built) throw new Error('unreachable: platform just built');
      return { ...built.descriptor, platform: { architecture: spec.platform.architecture, os: spec.platform.os } };
    }),
  });
  const descriptor: Descriptor = { mediaType: MEDIA_TYPE.index, digest: sha256Digest(index), size: index.length };
  const blobs = new Map<string, Buffer>([[descriptor.digest, index]]);
  const blobDigests = new Set<string>();
  for (const built of platforms.values()) {
    for (const [digest, bytes] of built.blobs) blobs.set(digest, bytes);
    for (const digest of built.blobDigests) blobDigests.add(digest);
  }
  return { index: { descriptor, blobs, blobDigests: [...blobDigests] }, platforms };
}

/** Writes an OCI image layout whose index names each artifact by its tag. */
export async function writeOciLayout(dir: string, tagged: Map<string, BuiltArtifact>): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests: Descriptor[] = [];
  for (const [tag, artifact] of tagged) {
    for (const [digest, bytes] of artifact.blobs) {
      await writeFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
    }
    manifests.push({ ...artifact.descriptor, annotations: { 'org.opencontainers.image.ref.name': tag } });
  }
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests }));
}
