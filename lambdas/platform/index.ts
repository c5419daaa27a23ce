/**
 * The one place that picks AWS or local adapters. The Lambda bundles are built with
 * `--define:process.env.VAULTPILOT_PLATFORM="aws"` (lib/vaultpilot-function.ts): esbuild folds the
 * conditions below, so the local platform's import is dead code and no local adapter is in an
 * AWS bundle. Unbundled (npm start, tests) both are loaded, and a function's VAULTPILOT_RUNTIME
 * chooses.
 */
import { ConfigError } from '../shared/config.js';
import type { Platform } from './platform.js';

export type { Platform } from './platform.js';

const BUILT_FOR = process.env.VAULTPILOT_PLATFORM;

const aws: Platform | undefined = BUILT_FOR === 'local' ? undefined : (await import('./aws.js')).awsPlatform;
const local: Platform | undefined =
  BUILT_FOR === 'aws' ? undefined : (await import('./local.js')).localPlatform;

export function platformFor(runtime: 'aws' | 'local'): Platform {
  const platform = runtime === 'aws' ? aws : local;
  if (platform === undefined) {
    throw new ConfigError(
      `Invalid configuration:\n  VAULTPILOT_RUNTIME: this bundle was built for ${BUILT_FOR ?? 'no runtime'}`,
      [{ variable: 'VAULTPILOT_RUNTIME', expected: BUILT_FOR ?? 'aws or local' }],
    );
  }
  return platform;
}

/** Forgets every platform's per-process state. */
export function resetPlatforms(): void {
  aws?.reset();
  local?.reset();
}
