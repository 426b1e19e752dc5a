/**
 * The TLS blocks of docs/deploy.md: the cert-manager Certificate against cert-manager's schema,
 * the Deployment additions merged into the real deploy/kubernetes/deployment.yaml and run
 * through the same validator as the other manifests, the listen.tls lines against
 * registry-edge's schema, and the names that must agree across the three.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import * as v from 'valibot';
import { parse as parseYaml, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsSchema } from '../../src/server/tls-schema.js';
import { snippet } from '../support/doc-snippets.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

type Doc = Record<string, any>;

/**
 * Merges `patch` into `base` the way the guide's words say: mappings key by key, lists of
 * named items by `name` (so the container gains ports and mounts), other lists appended.
 */
function merge(base: unknown, patch: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(patch)) {
    const merged = [...base];
    for (const item of patch) {
      const at = merged.findIndex((existing) => (existing as Doc)?.name !== undefined && (existing as Doc).name === (item as Doc)?.name);
      if (at >= 0) merged[at] = merge(merged[at], item);
      else merged.push(item);
    }
    return merged;
  }
  if (typeof base === 'object' && base !== null && typeof patch === 'object' && patch !== null && !Array.isArray(base)) {
    const merged: Doc = { ...(base as Doc) };
    for (const [key, value] of Object.entries(patch as Doc)) merged[key] = key in merged ? merge(merged[key], value) : value;
    return merged;
  }
  return patch;
}

const yamlBlock = (id: string): Doc => parseYaml(snippet('deploy.md', id).text) as Doc;

describe('docs/deploy.md TLS blocks', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'registry-edge-deploy-tls-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('the Certificate is valid for cert-manager.io/v1 and asks for an ECDSA P-256 server certificate', () => {
    const doc = yamlBlock('cert-manager-certificate');
    const certificate = new Certificate(doc as ConstructorParameters<typeof Certificate>[0]);
    expect(() => certificate.validate()).not.toThrow();
    expect(doc.spec.privateKey).toMatchObject({ algorithm: 'ECDSA', size: 256 });
    expect(doc.spec.usages).toContain('server auth');
    // The schema itself refuses what a typo would produce.
    const broken = new Certificate({ ...doc, spec: { ...doc.spec, secretName: 7 } } as ConstructorParameters<typeof Certificate>[0]);
    expect(() => broken.validate()).toThrow();
  });

  it('the Deployment additions, merged into deploy/kubernetes/deployment.yaml, pass the manifest validator', async () => {
    const deployment = parseYaml(await readFile(join(ROOT, 'deploy/kubernetes/deployment.yaml'), 'utf8')) as Doc;
    const merged = merge(deployment, yamlBlock('deployment-tls')) as Doc;
    const file = join(scratch, 'deployment-tls.yaml');
    await writeFile(file, stringify(merged));
    const { stdout } = await run(process.execPath, [join(ROOT, 'deploy/validate-manifests.mjs'), file], { cwd: ROOT });
    expect(stdout).toContain('1 valid, 0 invalid');
    const container = (merged.spec.template.spec.containers as Doc[]).find((candidate) => candidate.name === 'registry-edge');
    expect(container?.volumeMounts.map((mount: Doc) => mount.name)).toEqual(['config', 'tmp', 'admin-token', 'tls']);
    // A subPath mount would never see cert-manager's renewals.
    for (const mount of container?.volumeMounts ?? []) expect(mount.subPath).toBeUndefined();
  }, 60_000);

  it('the listen.tls lines pass registry-edge\'s schema, and the names agree across the three blocks', () => {
    const config = yamlBlock('config-listen-tls');
    const tls = v.parse(tlsSchema('/etc/registry-edge'), config.listen.tls);
    if (tls === undefined) throw new Error('config-listen-tls has no listen.tls');
    const certificate = yamlBlock('cert-manager-certificate');
    const additions = yamlBlock('deployment-tls').spec.template.spec;
    const volume = (additions.volumes as Doc[]).find((candidate) => candidate.name === 'tls');
    const mount = (additions.containers[0].volumeMounts as Doc[]).find((candidate) => candidate.name === 'tls');
    expect(volume?.secret.secretName).toBe(certificate.spec.secretName);
    // cert-manager's Secret keys are the file names in the mounted folder.
    expect(tls.cert).toBe(join(mount?.mountPath, 'tls.crt'));
    expect(tls.key).toBe(join(mount?.mountPath, 'tls.key'));
    expect(dirname(tls.cert)).not.toBe('/etc/registry-edge');
    expect(additions.containers[0].ports[0].containerPort).toBe(config.listen.port);
    expect(additions.securityContext.fsGroup).toBe(1000);
    expect(volume?.secret.defaultMode).toBe(0o440);
  });
});
