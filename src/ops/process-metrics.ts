/**
 * prom-client's default process and Node metrics, the same series its `collectDefaultMetrics`
 * registers, assembled here without its CPU module: that one loads @opentelemetry/api (43 KB of
 * source evaluated at every start) for exemplars registry-edge never turns on. The three CPU
 * counters are made here instead, with the names and help prom-client gives them.
 */
import eventLoopLag from 'prom-client/lib/metrics/eventLoopLag.js';
import gc from 'prom-client/lib/metrics/gc.js';
import heapSizeAndUsed from 'prom-client/lib/metrics/heapSizeAndUsed.js';
import heapSpacesSizeAndUsed from 'prom-client/lib/metrics/heapSpacesSizeAndUsed.js';
import osMemoryHeap from 'prom-client/lib/metrics/osMemoryHeap.js';
import processHandles from 'prom-client/lib/metrics/processHandles.js';
import processMaxFileDescriptors from 'prom-client/lib/metrics/processMaxFileDescriptors.js';
import processOpenFileDescriptors from 'prom-client/lib/metrics/processOpenFileDescriptors.js';
import processRequests from 'prom-client/lib/metrics/processRequests.js';
import processResources from 'prom-client/lib/metrics/processResources.js';
import processStartTime from 'prom-client/lib/metrics/processStartTime.js';
import version from 'prom-client/lib/metrics/version.js';
import { Counter, type Registry } from './prom-client.js';

/** prom-client's default: the event-loop delay histogram's resolution, in milliseconds. */
const EVENT_LOOP_PRECISION_MS = 10;

function registerCpuCounters(registry: Registry): void {
  let last = process.cpuUsage();
  const registers = [registry];
  // Registered before the other two, so a scrape runs this collect before it reads them.
  new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    collect() {
      const now = process.cpuUsage();
      const user = now.user - last.user;
      const sys = now.system - last.system;
      last = now;
      this.inc(user / 1e6);
      system.inc(sys / 1e6);
      total.inc((user + sys) / 1e6);
    },
  });
  const system = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers });
  const total = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers });
}

/** Every default metric prom-client would register, on `registry`. */
export function registerProcessMetrics(registry: Registry): void {
  const config = { eventLoopMonitoringPrecision: EVENT_LOOP_PRECISION_MS };
  registerCpuCounters(registry);
  const modules = [processStartTime, osMemoryHeap, processOpenFileDescriptors, processMaxFileDescriptors, eventLoopLag];
  if (typeof process.getActiveResourcesInfo === 'function') modules.push(processResources);
  modules.push(processHandles, processRequests, heapSizeAndUsed, heapSpacesSizeAndUsed, version, gc);
  for (const register of modules) register(registry, config);
}
