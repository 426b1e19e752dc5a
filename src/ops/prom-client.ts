/**
 * The parts of prom-client registry-edge uses, imported file by file. The package's index also
 * loads its Summary (with tdigest) and its Pushgateway (https, zlib), which registry-edge never
 * uses: about a fifth of the instructions the package costs at start-up (callgrind). Its
 * AggregatorRegistry (which loads node:cluster) is imported by the --workers primary alone.
 */
import Counter from 'prom-client/lib/counter.js';
import Gauge from 'prom-client/lib/gauge.js';
import Histogram from 'prom-client/lib/histogram.js';
import Registry from 'prom-client/lib/registry.js';

export { Counter, Gauge, Histogram, Registry };
