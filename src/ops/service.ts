import type { Logger } from '../log.js';
import type { ReloadReport } from './reload.js';

/** A running `serve`, whatever its process model: what the CLI wires signals to. */
export interface Service {
  logger: Logger;
  /** The admin listener's bound port; undefined when it is off (or lives in the cluster primary). */
  adminPort: number | undefined;
  /** SIGHUP / POST /reload: re-read the config and data files and swap them in, or keep the old ones. */
  reload(reason?: string): Promise<ReloadReport>;
  /** SIGTERM / SIGINT: drain and stop. */
  stop(): Promise<void>;
}
