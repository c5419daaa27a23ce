/**
 * A function's composition, built once per process from its manifest: the configuration is read
 * and checked (every variable the manifest makes necessary), then the function's `compose`
 * builds what it uses. In a Lambda bundle this happens while the module loads (the init phase),
 * so a missing or malformed variable stops the function at cold start, naming the variable.
 * Unbundled (npm start, tests) it happens on first use, after the local runtime has set the
 * environment; `resetFunctions` forgets every composition, as a new cold start would.
 */
import { type FunctionConfig, parseFunctionConfigFor, readEnvironment } from '../shared/config.js';
import type { FunctionManifest } from '../shared/function-manifest.js';
import { resetPlatforms } from './index.js';

export interface ColdStart {
  readonly manifest: FunctionManifest;
  readonly config: FunctionConfig;
  /** Runs when the composition is forgotten (closing clients). */
  onReset(release: () => void): void;
}

const resets = new Set<() => void>();

export function coldStart<T>(manifest: FunctionManifest, compose: (start: ColdStart) => T): () => T {
  let composed: { value: T } | undefined;
  let releases: (() => void)[] = [];
  resets.add(() => {
    for (const release of releases) release();
    releases = [];
    composed = undefined;
  });
  const get = (): T => {
    if (composed === undefined) {
      const config = parseFunctionConfigFor(manifest, readEnvironment());
      const value = compose({
        manifest,
        config,
        onReset: (release) => releases.push(release),
      });
      composed = { value };
    }
    return composed.value;
  };
  if (process.env.VAULTPILOT_PLATFORM === 'aws') get();
  return get;
}

/** Forgets every function's composition and the platforms' per-process state. */
export function resetFunctions(): void {
  for (const reset of resets) reset();
  resetPlatforms();
}
