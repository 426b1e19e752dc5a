import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// Real tools the suite runs (promtool, chromium) come from Debian packages that .ci/run
// installs. On a developer machine without them the tests that need them are skipped with a
// message saying what to install; in CI (CI=true) they run and fail, so a missing install step
// cannot pass unnoticed.

export interface Tool {
  name: string;
  /** Absolute path, or undefined when not found. */
  path: string | undefined;
  /** True when the tests must run even without the tool (CI). */
  required: boolean;
  /** What to tell a developer who lacks it. */
  install: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds `name` from an env override, then fixed candidates, then PATH. */
export function findTool(name: string, options: { env?: string; candidates?: string[]; debianPackage: string }): Tool {
  const override = options.env === undefined ? undefined : process.env[options.env];
  const onPath = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '').map((dir) => join(dir, name));
  const path = [override, ...(options.candidates ?? []), ...onPath].find((candidate): candidate is string => candidate !== undefined && candidate !== '' && executable(candidate));
  const tool: Tool = {
    name,
    path,
    required: process.env.CI === 'true',
    install: `apt-get install -y ${options.debianPackage}${options.env === undefined ? '' : ` (or set ${options.env})`}`,
  };
  if (path === undefined && !tool.required) {
    console.warn(`skipping the tests that run ${name}: it is not installed; ${tool.install}`);
  }
  return tool;
}

/** Whether a describe block that needs `tool` runs: always in CI, else only when the tool is there. */
export function runsWith(tool: Tool): boolean {
  return tool.path !== undefined || tool.required;
}

/** The tool's path, or a clear error (reached in CI when the install step is missing). */
export function toolPath(tool: Tool): string {
  if (tool.path === undefined) throw new Error(`${tool.name} is not installed: ${tool.install}`);
  return tool.path;
}

export const promtool = (): Tool => findTool('promtool', { env: 'PROMTOOL', candidates: ['/usr/bin/promtool'], debianPackage: 'prometheus' });
export const chromium = (): Tool => findTool('chromium', { env: 'CHROMIUM', candidates: ['/usr/bin/chromium'], debianPackage: 'chromium' });
