import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { admitted, type NetworkPolicy, type Source, type TargetPort } from '../support/network-policy.js';

// The admin port carries reloads, /debug/* and the status page: in the shipped deployment only
// the monitoring namespace may reach it, while registry clients reach the public port from
// anywhere. Read from the Deployment, the Service and the NetworkPolicy together, as a cluster
// would combine them.

const ROOT = join(import.meta.dirname, '..', '..');
/** The namespace docs/deploy.md and docs/operations.md tell operators to use, and the label they document. */
const NAMESPACE = 'registry-edge';
const MONITORING_LABEL = { 'kubernetes.io/metadata.name': 'monitoring' };
const TOKEN_FILE = '/var/run/secrets/registry-edge/token';

type Doc = Record<string, any>;

async function manifest(relative: string): Promise<Doc> {
  return parseYaml(await readFile(join(ROOT, relative), 'utf8')) as Doc;
}

function namespaced(name: string, podLabels: Record<string, string> = { app: 'anything' }): Source {
  return { namespace: name, namespaceLabels: { 'kubernetes.io/metadata.name': name }, podLabels };
}

describe('NetworkPolicy reading (the helper the manifest test relies on)', () => {
  const pod = { app: 'edge' };
  const port = (number: number, name?: string): TargetPort => ({ number, name });
  const policy = (ingress: NetworkPolicy['spec']['ingress'], podSelector = { matchLabels: pod }): NetworkPolicy => ({
    metadata: { name: 'p' },
    spec: { podSelector, policyTypes: ['Ingress'], ingress },
  });
  const fromMonitoring = [{ namespaceSelector: { matchLabels: MONITORING_LABEL } }];
  const cases: Array<[string, NetworkPolicy[], Source, TargetPort, boolean]> = [
    ['no policy selects the pod: everything is admitted', [policy([], { matchLabels: { app: 'other' } })], namespaced('default'), port(9090), true],
    ['a selecting policy with no rules admits nothing', [policy([])], namespaced('default'), port(8080), false],
    ['a rule without from admits every pod', [policy([{ ports: [{ port: 8080 }] }])], namespaced('default'), port(8080), true],
    ['a rule without from admits outside addresses', [policy([{ ports: [{ port: 8080 }] }])], { ip: '203.0.113.9' }, port(8080), true],
    ['a rule for one port does not open another', [policy([{ ports: [{ port: 8080 }] }])], namespaced('default'), port(9090), false],
    ['named ports match the container port name', [policy([{ ports: [{ port: 'admin' }], from: fromMonitoring }])], namespaced('monitoring'), port(9090, 'admin'), true],
    ['a namespace selector refuses other namespaces', [policy([{ ports: [{ port: 'admin' }], from: fromMonitoring }])], namespaced('default'), port(9090, 'admin'), false],
    ['a namespace selector refuses outside addresses', [policy([{ ports: [{ port: 9090 }], from: fromMonitoring }])], { ip: '203.0.113.9' }, port(9090), false],
    ['a rule without ports opens every port', [policy([{ from: fromMonitoring }])], namespaced('monitoring'), port(1234), true],
    ['a pod selector alone means the policy namespace', [policy([{ from: [{ podSelector: {} }] }])], namespaced('other'), port(9090), false],
    ['a pod selector alone admits its own namespace', [policy([{ from: [{ podSelector: {} }] }])], namespaced('default'), port(9090), true],
    ['the protocol must match too', [policy([{ ports: [{ port: 9090, protocol: 'UDP' }] }])], namespaced('default'), port(9090), false],
    ['ipBlock with except', [policy([{ from: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.0/28'] } }] }])], { ip: '203.0.113.9' }, port(80), false],
    ['ipBlock admits its range', [policy([{ from: [{ ipBlock: { cidr: '203.0.113.0/24' } }] }])], { ip: '203.0.113.99' }, port(80), true],
    [
      'matchExpressions In',
      [policy([{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['obs'] }] } }] }])],
      { namespace: 'x', namespaceLabels: { team: 'obs' }, podLabels: {} },
      port(80),
      true,
    ],
  ];
  it.each(cases)('%s', (_name, policies, source, target, expected) => {
    expect(admitted(policies, 'default', pod, source, target)).toBe(expected);
  });
});

describe('deploy/kubernetes: who can reach which port', async () => {
  const deployment = await manifest('deploy/kubernetes/deployment.yaml');
  const service = await manifest('deploy/kubernetes/service.yaml');
  const policy = (await manifest('deploy/kubernetes/networkpolicy.yaml')) as NetworkPolicy;
  const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
  const container = deployment.spec.template.spec.containers[0] as Doc;
  const containerPorts = container.ports as Array<{ name: string; containerPort: number; protocol: string }>;
  const portNamed = (name: string): TargetPort => {
    const found = containerPorts.find((entry) => entry.name === name);
    if (found === undefined) throw new Error(`the container has no port named ${name}`);
    return { number: found.containerPort, name: found.name, protocol: found.protocol };
  };
  const reach = (source: Source, target: TargetPort) => admitted([policy], NAMESPACE, podLabels, source, target);

  // The public port is the one the Service sends registry clients to.
  const servicePorts = service.spec.ports as Array<{ targetPort: string | number }>;
  const published = servicePorts.map((entry) => (typeof entry.targetPort === 'string' ? portNamed(entry.targetPort) : { number: entry.targetPort, name: undefined }));
  const admin = portNamed('admin');

  it('the policy applies to the Deployment pods and the Service sends traffic to those same pods', () => {
    expect(policy.spec.podSelector.matchLabels).toEqual(service.spec.selector);
    expect(Object.entries(service.spec.selector as Record<string, string>).every(([key, value]) => podLabels[key] === value)).toBe(true);
    expect(published.map((entry) => entry.number)).toEqual([portNamed('http').number]);
    expect(published.map((entry) => entry.number)).not.toContain(admin.number);
  });

  it('admits the public port from any namespace, from the pods own namespace and from outside the cluster', () => {
    for (const target of published) {
      for (const source of [namespaced('default'), namespaced('monitoring'), namespaced(NAMESPACE, podLabels), { ip: '198.51.100.20' }, { ip: '10.0.0.5' }]) {
        expect(reach(source, target)).toBe(true);
      }
    }
  });

  it('admits the admin port only from the documented monitoring namespace', () => {
    expect(reach({ namespace: 'monitoring', namespaceLabels: MONITORING_LABEL, podLabels: { 'app.kubernetes.io/name': 'prometheus' } }, admin)).toBe(true);
    for (const source of [
      namespaced('default'),
      namespaced('kube-system'),
      // Another registry-edge pod, or anything else in its namespace.
      namespaced(NAMESPACE, podLabels),
      namespaced(NAMESPACE),
      // A namespace that merely carries a similar custom label: the label used is the one
      // Kubernetes sets itself, which no one can set to another namespace's name.
      { namespace: 'evil', namespaceLabels: { 'kubernetes.io/metadata.name': 'evil', name: 'monitoring' }, podLabels: {} },
      { ip: '198.51.100.20' },
      { ip: '10.0.0.5' },
    ]) {
      expect(reach(source, admin)).toBe(false);
    }
  });

  it('admits no other port at all', () => {
    for (const number of [22, 80, 443, 9091, 10250]) {
      expect(reach(namespaced('monitoring'), { number, name: undefined })).toBe(false);
      expect(reach({ ip: '198.51.100.20' }, { number, name: undefined })).toBe(false);
    }
  });

  it('leaves the probes on the admin port (the kubelet comes from the node, which a policy never blocks)', () => {
    expect(container.startupProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
  });

  it('mounts the admin token from a Secret as a whole directory (rotation reaches the file)', () => {
    const volumes = deployment.spec.template.spec.volumes as Doc[];
    const volume = volumes.find((entry) => entry.secret !== undefined);
    expect(volume?.secret).toMatchObject({ secretName: 'registry-edge-admin', items: [{ key: 'token', path: 'token' }] });
    // No default token: without the Secret the pod must not start.
    expect(volume?.secret.optional ?? false).toBe(false);
    const mount = (container.volumeMounts as Doc[]).find((entry) => entry.name === volume?.name);
    expect(mount).toMatchObject({ readOnly: true });
    expect(mount?.subPath).toBeUndefined();
    expect(`${mount?.mountPath}/${volume?.secret.items[0].path}`).toBe(TOKEN_FILE);
    // Readable by the process: group-readable, and the pod's fsGroup is the process's group.
    const mode = volume?.secret.defaultMode as number;
    expect(mode & 0o040).toBe(0o040);
    expect(mode & 0o007).toBe(0);
    expect(deployment.spec.template.spec.securityContext.fsGroup).toBe(deployment.spec.template.spec.securityContext.runAsGroup);
  });

  it('the PodMonitor scrapes the admin port of those pods', async () => {
    const podMonitor = await manifest('deploy/kubernetes/monitoring/podmonitor.yaml');
    expect(podMonitor.spec.selector.matchLabels).toEqual(policy.spec.podSelector.matchLabels);
    expect(podMonitor.spec.podMetricsEndpoints).toEqual([expect.objectContaining({ port: 'admin', path: '/metrics' })]);
  });
});
