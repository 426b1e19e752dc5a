/** The images every e2e run pushes to the origin. Changing a byte here changes every digest. */
import { buildImage, buildIndex, pseudoRandomBytes, type BuiltArtifact, type TarEntry } from './oci.js';

export const BIG_LAYER_BYTES = 6 * 1024 * 1024;
export const BIG_LAYER_SEED = 'registry-edge e2e big layer';

/** Repository with a nested name, several tags (for pagination) and a multi-MiB layer. */
export const APP_REPO = 'library/app';
export const APP_TAGS = ['1.0', '1.1', '1.2'] as const;
/** Repository holding one multi-platform index. */
export const TOOL_REPO = 'tools/multi';
export const TOOL_TAG = 'v1';

const baseLayer: TarEntry[] = [
  { path: 'etc', kind: 'dir' },
  { path: 'etc/os-release', kind: 'file', content: Buffer.from('NAME="registry-edge e2e"\nID=e2e\n') },
  { path: 'etc/hostname', kind: 'file', content: Buffer.from('e2e\n') },
];

const bigLayer: TarEntry[] = [
  { path: 'opt', kind: 'dir' },
  { path: 'opt/app', kind: 'dir' },
  { path: 'opt/app/payload.bin', kind: 'file', content: pseudoRandomBytes(BIG_LAYER_SEED, BIG_LAYER_BYTES) },
];

function versionLayer(tag: string): TarEntry[] {
  return [
    { path: 'opt', kind: 'dir' },
    { path: 'opt/app', kind: 'dir' },
    { path: 'opt/app/VERSION', kind: 'file', content: Buffer.from(`${tag}\n`) },
  ];
}

export interface Fixtures {
  /** tag → image of APP_REPO (amd64, three layers: base, big, version). */
  app: Map<string, BuiltArtifact>;
  /** The multi-platform index of TOOL_REPO:TOOL_TAG and its per-architecture images. */
  tool: { index: BuiltArtifact; platforms: Map<string, BuiltArtifact> };
  /** Digest of the multi-MiB layer shared by every APP_REPO tag. */
  bigLayerDigest: string;
}

export function buildFixtures(): Fixtures {
  const app = new Map<string, BuiltArtifact>();
  for (const tag of APP_TAGS) {
    app.set(tag, buildImage({
      platform: { architecture: 'amd64', os: 'linux' },
      layers: [baseLayer, bigLayer, versionLayer(tag)],
      env: [`APP_VERSION=${tag}`],
    }));
  }
  const tool = buildIndex(['amd64', 'arm64'].map((architecture) => ({
    platform: { architecture, os: 'linux' },
    layers: [
      baseLayer,
      [
        { path: 'usr', kind: 'dir' },
        { path: 'usr/bin', kind: 'dir' },
        { path: 'usr/bin/tool', kind: 'file', mode: 0o755, content: pseudoRandomBytes(`tool-${architecture}`, 256 * 1024) },
      ],
    ],
  })));
  const first = app.get(APP_TAGS[0]);
  const bigLayerDigest = first?.blobDigests[2];
  if (!bigLayerDigest) throw new Error('fixture layout changed: the big layer is the second layer of every app image');
  return { app, tool, bigLayerDigest };
}
