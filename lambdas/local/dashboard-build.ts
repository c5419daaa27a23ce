/**
 * Builds the dashboard before `npm start` serves it, when the build is missing or older than its
 * sources (the frontend workspace and the API contracts it imports), with `npm run build -w
 * frontend` and its progress on the console. Without the frontend workspace it says so and the
 * runtime serves the API only.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from this file's place in it (lambdas/local/). */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DASHBOARD_DIST = join(REPOSITORY_ROOT, 'frontend', 'dist');

/** Not sources: dependencies, the build itself, caches and tests. */
const SKIPPED_DIRECTORIES = new Set([
  'node_modules',
  'dist',
  'coverage',
  '.vite',
  'test',
  'tests',
  '__tests__',
]);

export type DashboardBuildState = 'absent' | 'fresh' | 'stale' | 'missing';

async function newestModification(directory: string): Promise<number> {
  let newest = 0;
  let entries;
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.') || SKIPPED_DIRECTORIES.has(entry.name)) continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestModification(path));
    else if (entry.isFile() && !/\.(test|spec)\.[cm]?[jt]sx?$/.test(entry.name)) {
      newest = Math.max(newest, (await stat(path)).mtimeMs);
    }
  }
  return newest;
}

/** Whether the workspace exists and its build is up to date. */
export async function dashboardBuildState(root = REPOSITORY_ROOT): Promise<DashboardBuildState> {
  const frontend = join(root, 'frontend');
  if (!existsSync(join(frontend, 'package.json'))) return 'absent';
  let built: number;
  try {
    built = (await stat(join(frontend, 'dist', 'index.html'))).mtimeMs;
  } catch {
    return 'missing';
  }
  const sources = Math.max(
    await newestModification(frontend),
    await newestModification(join(root, 'lambdas', 'shared', 'contracts')),
  );
  return sources > built ? 'stale' : 'fresh';
}

export class DashboardBuildError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DashboardBuildError';
  }
}

/** Runs `npm run build -w frontend`, its output on this process's console. */
export function buildDashboard(
  root = REPOSITORY_ROOT,
  stdio: 'inherit' | 'ignore' = 'inherit',
): Promise<void> {
  return new Promise((resolveBuild, reject) => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const child = spawn(npm, ['run', 'build', '-w', 'frontend'], { cwd: root, stdio });
    child.once('error', (error) =>
      reject(
        new DashboardBuildError(`npm run build -w frontend could not start: ${error.message}`, {
          cause: error,
        }),
      ),
    );
    child.once('exit', (code, signal) => {
      if (code === 0) resolveBuild();
      else
        reject(
          new DashboardBuildError(`npm run build -w frontend failed (${signal ?? `exit code ${code}`})`),
        );
    });
  });
}

export interface DashboardBuildLog {
  info(message: string): void;
  error(message: string): void;
}

/**
 * Builds when needed; true when there is a build to serve. A failed build is reported and the
 * previous build (if any) is served, so a broken frontend edit never stops the API.
 */
export async function ensureDashboardBuild(
  log: DashboardBuildLog,
  root = REPOSITORY_ROOT,
  stdio: 'inherit' | 'ignore' = 'inherit',
): Promise<boolean> {
  const state = await dashboardBuildState(root);
  if (state === 'absent') {
    log.info('The dashboard workspace (frontend/package.json) is not there yet: serving the API only.');
    return false;
  }
  if (state === 'fresh') return true;
  log.info(
    state === 'missing'
      ? 'Building the dashboard (frontend/dist is missing): npm run build -w frontend'
      : 'Rebuilding the dashboard (its sources changed): npm run build -w frontend',
  );
  const started = performance.now();
  try {
    await buildDashboard(root, stdio);
  } catch (error: unknown) {
    log.error(
      `${error instanceof Error ? error.message : String(error)}; ${
        state === 'stale' ? 'serving the previous build' : 'serving the API only'
      }`,
    );
    return state === 'stale';
  }
  log.info(`Dashboard built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return true;
}
