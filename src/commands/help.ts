import { usage as checkConfig } from './check-config.js';
import { usage as explain } from './explain.js';
import { usage as geo } from './geo.js';
import { usage as healthcheck } from './healthcheck.js';
import { usage as hosts } from './hosts.js';
import { usage as serve } from './serve.js';
import { usage as sync } from './sync.js';
import { usage as verify } from './verify.js';

export const HELP = `registry-edge: a front door for OCI registries

Usage:
${serve}${checkConfig}${explain}${hosts}${geo}${healthcheck}${sync}${verify}  registry-edge --help | --version
      Every command also takes --help.

Environment (archeio-compatible, overrides the file): PORT, UPSTREAM_REGISTRY_ENDPOINT,
UPSTREAM_REGISTRY_PATH, SIGNATURE_UPSTREAM_ENDPOINT, DEFAULT_AWS_BASE_URL, TRUSTED_PROXY_HOPS;
REGISTRY_EDGE_CONFIG names the config file.
`;
