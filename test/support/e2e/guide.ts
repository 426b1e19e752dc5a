/**
 * The client configurations of docs/clients.md, read out of the guide and pointed at the
 * suite's processes: `edge.example` becomes a front door, the upstream registry a recording
 * stand-in, the CA path a file the suite wrote. Anything else in the snippet stays verbatim.
 */
import { snippet, substitute } from '../doc-snippets.js';

export const GUIDE = 'clients.md';
/** The registry the guide mirrors; image names in the suite's pulls use it as written. */
export const MIRRORED_REGISTRY = 'registry.k8s.io';

export interface Targets {
  /** The front door's base URL, scheme included (`http://127.0.0.1:P` or `https://127.0.0.1:P`). */
  door: string;
  /** The fallback upstream's base URL. */
  upstream: string;
  /** The CA file for a TLS door (any readable PEM for a plain one). */
  caFile: string;
}

export type ContainerdSnippet = 'containerd-mirror-tls' | 'containerd-mirror-plain' | 'containerd-no-fallback' | 'containerd-server-only-broken';
export type RegistriesSnippet = 'registries-mirror-tls' | 'registries-mirror-plain';

/** `hosts.toml` for registry.k8s.io, as the guide writes it, aimed at the suite. */
export function containerdHostsToml(id: ContainerdSnippet, targets: Targets): string {
  const text = substitute(snippet(GUIDE, id).text, [
    ['http://edge.example:8080', targets.door],
    ['https://edge.example', targets.door],
    ['https://registry.k8s.io', targets.upstream],
    ['/etc/containerd/certs.d/registry.k8s.io/edge-ca.crt', targets.caFile],
  ], ['http://edge.example:8080', 'https://edge.example', 'https://registry.k8s.io', '/etc/containerd/certs.d/registry.k8s.io/edge-ca.crt']);
  if (!text.includes(targets.door)) throw new Error(`docs/${GUIDE} ${id} names no edge.example host to aim at the front door:\n${text}`);
  return text;
}

/** A registries.conf drop-in, as the guide writes it, aimed at the suite. */
export function registriesConf(id: RegistriesSnippet, targets: Omit<Targets, 'caFile'>): string {
  const host = (url: string): string => new URL(url).host;
  const text = substitute(snippet(GUIDE, id).text, [
    ['location = "edge.example:8080"', `location = "${host(targets.door)}"`],
    ['location = "edge.example"', `location = "${host(targets.door)}"`],
    [`location = "${MIRRORED_REGISTRY}"`, `location = "${host(targets.upstream)}"`],
  ], ['location = "edge.example:8080"', 'location = "edge.example"']);
  if (!text.includes(`"${host(targets.door)}"`)) throw new Error(`docs/${GUIDE} ${id} names no edge.example mirror to aim at the front door:\n${text}`);
  return text;
}
