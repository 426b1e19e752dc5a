import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV_OVERRIDES, loadConfig } from '../../src/config/load.js';

// The deployment files are only useful if a cluster accepts them and the service accepts the
// configuration they carry; both are checked here without a cluster.

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const VALIDATOR = join(ROOT, 'deploy', 'validate-manifests.mjs');

type Doc = Record<string, any>;

async function validate(...files: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [VALIDATOR, ...files], { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

async function manifest(relative: string): Promise<Doc> {
  return parseYaml(await readFile(join(ROOT, relative), 'utf8')) as Doc;
}

describe('deploy/ manifests', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'registry-edge-deploy-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('pass the schema and strict-field validator', async () => {
    const { code, output } = await validate();
    expect(output).toContain('8 valid, 0 invalid');
    expect(output).toContain('ok   deploy/kubernetes/monitoring/podmonitor.yaml: PodMonitor/registry-edge');
    expect(output).toContain('ok   deploy/kubernetes/networkpolicy.yaml: NetworkPolicy/registry-edge');
    expect(code).toBe(0);
  });

  it('are rejected by the validator when a field is misspelt, mistyped or the kind is unknown', async () => {
    const deployment = await readFile(join(ROOT, 'deploy/kubernetes/deployment.yaml'), 'utf8');
    const broken = deployment
      .replace('revisionHistoryLimit: 5', 'revisionHistoryLimt: 5')
      .replace('containerPort: 8080', 'containerPort: "8080"');
    expect(broken).not.toBe(deployment);
    await writeFile(join(scratch, 'deployment.yaml'), broken);
    await writeFile(join(scratch, 'unknown.yaml'), 'apiVersion: v1\nkind: ConfigMapp\nmetadata: { name: x }\n');
    // The PodMonitor is checked against the Prometheus Operator's CRD schema the same way.
    const podMonitor = await readFile(join(ROOT, 'deploy/kubernetes/monitoring/podmonitor.yaml'), 'utf8');
    const brokenMonitor = podMonitor.replace('scrapeTimeout: 10s', 'scrapeTimout: 10s').replace('interval: 30s', 'interval: half-a-minute');
    expect(brokenMonitor).not.toBe(podMonitor);
    await writeFile(join(scratch, 'podmonitor.yaml'), brokenMonitor);

    const { code, output } = await validate(join(scratch, 'deployment.yaml'), join(scratch, 'unknown.yaml'), join(scratch, 'podmonitor.yaml'));
    expect(code).toBe(1);
    expect(output).toContain('strict: spec.revisionHistoryLimt');
    expect(output).toContain('containerPort must be integer');
    expect(output).toContain('no schema for v1 ConfigMapp');
    expect(output).toContain('strict: spec.podMetricsEndpoints[0].scrapeTimout');
    expect(output).toContain('podMetricsEndpoints/0/interval must match pattern');
    expect(output).toContain('0 valid, 3 invalid');
  });

  it('carry a ConfigMap configuration that the service itself accepts', async () => {
    const configMap = await manifest('deploy/kubernetes/configmap.yaml');
    const file = join(scratch, 'config.yaml');
    await writeFile(file, configMap.data['config.yaml'] as string);
    const { config } = await loadConfig(file, {});
    // The kubelet probes the admin listener from outside the pod.
    expect(config.admin.host).toBe('0.0.0.0');
    expect(config.listen.host).toBe('0.0.0.0');

    const deployment = await manifest('deploy/kubernetes/deployment.yaml');
    const container = deployment.spec.template.spec.containers[0] as Doc;
    const ports = Object.fromEntries((container.ports as Doc[]).map((port) => [port.name, port.containerPort]));
    expect(ports).toEqual({ http: config.listen.port, admin: config.admin.port });
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(container[probe].httpGet.port).toBe('admin');
    const env = Object.fromEntries((container.env as Doc[]).map((entry) => [entry.name, entry.value]));
    const mount = (container.volumeMounts as Doc[]).find((entry) => entry.name === 'config');
    expect(env.REGISTRY_EDGE_CONFIG).toBe(`${mount?.mountPath}/config.yaml`);
  });

  it('give Cloud Run only environment variables the service reads', async () => {
    const service = await manifest('deploy/cloudrun/service.yaml');
    const container = service.spec.template.spec.containers[0] as Doc;
    const known = new Set([...ENV_OVERRIDES.map((entry) => entry.env), 'REGISTRY_EDGE_CONFIG']);
    const names = (container.env as Doc[]).map((entry) => entry.name as string);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(known).toContain(name);
    // Cloud Run sets PORT to the declared container port; the service listens on $PORT.
    expect(container.ports[0].containerPort).toBe(8080);
  });
});
