import { createExistenceChecker, loadInventory, type CheckHook } from '../blobs/index.js';
import type { LoadedConfig } from '../config/load.js';
import type { Locator } from '../geo/types.js';
import type { Logger } from '../log.js';
import { assembleRuntime, type Runtime } from './runtime.js';

export interface BuildOptions {
  /** Clock for the existence cache (tests inject one). */
  now?: () => number;
  /** Called after every existence HEAD (the metrics feed a latency histogram from it). */
  onCheck?: CheckHook;
}

/** Loads every file a configuration names and assembles a runtime; throws when one is invalid. */
export async function buildRuntime(loaded: LoadedConfig, logger: Logger, options: BuildOptions = {}): Promise<Runtime> {
  const { config } = loaded;
  const inventory = config.blobs.inventory === '' ? undefined : await loadInventory(config.blobs.inventory);
  const locator: Locator = { locate: () => ({}) };
  const checker = createExistenceChecker({
    key: config.blobs.key,
    check: config.blobs.check,
    inventory,
    now: options.now,
    onCheck: options.onCheck,
    logger: logger.child({ component: 'blobs' }),
    headers: { 'User-Agent': 'registry-edge' },
  });
  return assembleRuntime({
    loaded,
    locator,
    checker,
    geo: { rangesLoaded: false, rangesBuiltAt: undefined, locationsLoaded: false },
  });
}
