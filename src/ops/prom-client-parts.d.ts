// Types for the prom-client files src/ops/prom-client.ts imports one by one: the package
// declares its types for its index only, and these are the same classes.
declare module 'prom-client/lib/registry.js' { import { Registry } from 'prom-client'; export = Registry; }
declare module 'prom-client/lib/counter.js' { import { Counter } from 'prom-client'; export = Counter; }
declare module 'prom-client/lib/gauge.js' { import { Gauge } from 'prom-client'; export = Gauge; }
declare module 'prom-client/lib/histogram.js' { import { Histogram } from 'prom-client'; export = Histogram; }
declare module 'prom-client/lib/cluster.js' { import { AggregatorRegistry } from 'prom-client'; export = AggregatorRegistry; }
// Each default-metric file exports one function that registers its metrics.
declare module 'prom-client/lib/metrics/*' { import type { Registry } from 'prom-client'; const register: (registry: Registry | undefined, config: { eventLoopMonitoringPrecision?: number }) => void; export = register; }
