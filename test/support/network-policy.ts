// A small reading of Kubernetes NetworkPolicy ingress semantics, enough to ask "would this
// connection be admitted?" of the shipped manifests without a cluster or a network plugin.
// https://kubernetes.io/docs/concepts/services-networking/network-policies/

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

export interface PolicyPort {
  port?: number | string;
  endPort?: number;
  protocol?: string;
}

export interface PolicyPeer {
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicy {
  metadata: { name: string; namespace?: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: string[];
    ingress?: Array<{ from?: PolicyPeer[]; ports?: PolicyPort[] }>;
  };
}

/** Where a connection comes from: a pod (its namespace's and its own labels) or an outside IPv4 address. */
export type Source = { namespace: string; namespaceLabels: Record<string, string>; podLabels: Record<string, string> } | { ip: string };

/** The destination pod's port, by number and by the name its container gives it. */
export interface TargetPort {
  number: number;
  name: string | undefined;
  protocol?: string;
}

export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return true;
  for (const [key, wanted] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== wanted) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, key);
    const value = labels[key];
    const ok =
      operator === 'In'
        ? present && values.includes(value as string)
        : operator === 'NotIn'
          ? !present || !values.includes(value as string)
          : operator === 'Exists'
            ? present
            : !present;
    if (!ok) return false;
  }
  return true;
}

function ipv4(address: string): number {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) throw new Error(`not an IPv4 address: ${address}`);
  return parts.reduce((sum, part) => sum * 256 + part, 0);
}

function inCidr(address: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipv4(base) / size) * size;
  const value = ipv4(address);
  return value >= start && value < start + size;
}

function peerAdmits(peer: PolicyPeer, source: Source, policyNamespace: string): boolean {
  if ('ip' in source) {
    const block = peer.ipBlock;
    return block !== undefined && inCidr(source.ip, block.cidr) && !(block.except ?? []).some((cidr) => inCidr(source.ip, cidr));
  }
  // Cluster pods are matched by selectors; an ipBlock is meant for addresses outside the cluster.
  if (peer.ipBlock !== undefined) return false;
  if (peer.namespaceSelector === undefined && peer.podSelector === undefined) return false;
  const namespaceOk = peer.namespaceSelector === undefined ? source.namespace === policyNamespace : selects(peer.namespaceSelector, source.namespaceLabels);
  return namespaceOk && selects(peer.podSelector, source.podLabels);
}

function portAdmits(ports: PolicyPort[] | undefined, target: TargetPort): boolean {
  if (ports === undefined || ports.length === 0) return true;
  const protocol = target.protocol ?? 'TCP';
  return ports.some((entry) => {
    if ((entry.protocol ?? 'TCP') !== protocol) return false;
    if (entry.port === undefined) return true;
    if (typeof entry.port === 'string') return entry.port === target.name;
    return target.number >= entry.port && target.number <= (entry.endPort ?? entry.port);
  });
}

/**
 * Whether traffic from `source` to `target` on a pod labelled `podLabels` is admitted by the
 * given policies (all in `namespace`). A pod no policy selects for ingress admits everything;
 * once one selects it, a connection needs a rule that matches both its port and its source.
 */
export function admitted(policies: NetworkPolicy[], namespace: string, podLabels: Record<string, string>, source: Source, target: TargetPort): boolean {
  const applying = policies.filter(
    (policy) => selects(policy.spec.podSelector, podLabels) && (policy.spec.policyTypes ?? ['Ingress']).includes('Ingress'),
  );
  if (applying.length === 0) return true;
  return applying.some((policy) =>
    (policy.spec.ingress ?? []).some(
      (rule) =>
        portAdmits(rule.ports, target) && (rule.from === undefined || rule.from.length === 0 || rule.from.some((peer) => peerAdmits(peer, source, namespace))),
    ),
  );
}
