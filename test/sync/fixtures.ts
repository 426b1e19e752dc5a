/** Small reproducible images for the sync unit tests (the e2e builder, smaller layers). */
import { buildImage, buildIndex, pseudoRandomBytes, type BuiltArtifact, type TarEntry } from '../support/e2e/oci.js';

function layer(name: string, bytes: number): TarEntry[] {
  return [{ path: name, kind: 'file', content: pseudoRandomBytes(name, bytes) }];
}

export const BASE = layer('base', 3000);

export function image(tag: string, architecture = 'amd64'): BuiltArtifact {
  return buildImage({ platform: { architecture, os: 'linux' }, layers: [BASE, layer(`app-${tag}-${architecture}`, 70_000)] });
}

export function multiPlatform(tag: string): ReturnType<typeof buildIndex> {
  return buildIndex(['amd64', 'arm64'].map((architecture) => ({
    platform: { architecture, os: 'linux' },
    layers: [BASE, layer(`tool-${tag}-${architecture}`, 20_000)],
  })));
}

export function blobsOf(...artifacts: BuiltArtifact[]): Map<string, Buffer> {
  const blobs = new Map<string, Buffer>();
  for (const artifact of artifacts) for (const digest of artifact.blobDigests) blobs.set(digest, artifact.blobs.get(digest) as Buffer);
  return blobs;
}
