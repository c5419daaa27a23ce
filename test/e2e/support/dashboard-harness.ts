/**
 * What the end-to-end suites, the screenshots script and the dashboard benchmark share: the
 * built dashboard, the local runtime as `npm start` runs it (a temporary data directory, a free
 * port, no mocks), Debian's Chromium driven by playwright-core, the local sign-in as a person
 * does it, and axe-core injected into the page.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildDashboard, dashboardBuildState } from '../../../lambdas/local/dashboard-build.js';
import type { LocalLimits } from '../../../lambdas/local/local-limits.js';
import { startLocalRuntime, type LocalRuntime } from '../../../lambdas/local/runtime.js';
import { parseLocalRuntimeConfig } from '../../../lambdas/shared/config.js';

/** Debian's package; no browser is downloaded (`.ci/run` installs it when missing). */
export const CHROMIUM = process.env.VAULTPILOT_CHROMIUM ?? '/usr/bin/chromium';

/** The flags the project runs Chromium with: headless, offline, quiet, no sandbox (CI runs as root). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export class ChromiumMissingError extends Error {
  constructor(path: string) {
    super(
      `Chromium is not installed at ${path}; install Debian's package (apt-get install -y chromium), as .ci/run does`,
    );
    this.name = 'ChromiumMissingError';
  }
}

/** Builds the dashboard when its build is missing or older than its sources. */
export async function ensureDashboardBuilt(): Promise<void> {
  const state = await dashboardBuildState();
  if (state === 'absent') throw new Error('The frontend workspace (frontend/package.json) is missing');
  if (state !== 'fresh') await buildDashboard(undefined, 'ignore');
}

export interface DashboardRuntime {
  readonly runtime: LocalRuntime;
  readonly adminPassword: string;
  stop(): Promise<void>;
}

/** The runtime `npm start` runs, on a free port, with its data in a fresh temporary directory. */
/** The runtime the flows run against; `limits` replaces the local request limits (a bench's seeding). */
export async function startDashboardRuntime(
  adminPassword: string,
  limits?: LocalLimits,
): Promise<DashboardRuntime> {
  const dataDir = await mkdtemp(join(tmpdir(), 'vaultpilot-e2e-'));
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const runtime = await startLocalRuntime(
    parseLocalRuntimeConfig({
      PORT: '0',
      VAULTPILOT_DATA_DIR: dataDir,
      // The scheduled engines would only add background traffic to what the flows check.
      VAULTPILOT_SCHEDULER: 'false',
      VAULTPILOT_ADMIN_PASSWORD: adminPassword,
    }),
    { info: () => undefined, error: (message, extra) => console.error(message, extra ?? '') },
    ...(limits === undefined ? [] : [limits]),
  );
  return {
    runtime,
    adminPassword,
    stop: async () => {
      await runtime.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface DashboardBrowser {
  readonly context: BrowserContext;
  /** Console lines that report a content-security-policy violation (there must be none). */
  readonly cspViolations: string[];
  close(): Promise<void>;
}

/** Chromium with a fresh profile; fails (never skips) when Chromium is not installed. */
export async function launchChromium(
  viewport = { width: 1280, height: 800 },
  colorScheme: 'light' | 'dark' = 'light',
): Promise<DashboardBrowser> {
  if (!existsSync(CHROMIUM)) throw new ChromiumMissingError(CHROMIUM);
  const profile = await mkdtemp(join(tmpdir(), 'vaultpilot-chromium-'));
  // launchPersistentContext passes the fresh profile as --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    viewport,
    colorScheme,
    reducedMotion: 'reduce',
  });
  const cspViolations: string[] = [];
  const watch = (page: Page): void => {
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to (load|execute|apply|connect)/i.test(message.text())) {
        cspViolations.push(message.text());
      }
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    cspViolations,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A page of the context (the one a persistent context opens with, else a new one). */
export async function firstPage(context: BrowserContext): Promise<Page> {
  return context.pages()[0] ?? (await context.newPage());
}

/**
 * Signs in as a person does: open a dashboard page, get sent to the local sign-in page, type
 * the credentials, and come back to the same page, signed in (the main navigation shows).
 */
export async function signIn(
  page: Page,
  baseUrl: string,
  username: string,
  password: string,
  path = '/',
): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.waitForURL((url) => url.pathname === '/oauth2/authorize');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/**
 * Opens a page of the signed-in dashboard the way its own links do (history.pushState and the
 * popstate the router listens to), since a full page load drops the in-memory tokens and signs
 * the person in again (which `signIn` covers).
 */
export async function visit(page: Page, path: string): Promise<void> {
  // A string, evaluated in the page: this project compiles without the DOM library.
  await page.evaluate(`(() => {
    const index = (window.history.state && window.history.state.__TSR_index) || 0;
    const key = Math.random().toString(36).slice(2);
    window.history.pushState({ __TSR_index: index + 1, key, __TSR_key: key }, '', ${JSON.stringify(path)});
    window.dispatchEvent(new PopStateEvent('popstate', { state: window.history.state }));
  })()`);
  const wanted = new URL(path, 'http://x');
  await page.waitForURL((url) => url.pathname === wanted.pathname && url.search === wanted.search);
}

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly string[];
}

let axeSource: string | undefined;

/**
 * Runs axe-core (WCAG 2.0, 2.1 and 2.2, A and AA) on the page as it is now. The script goes in
 * through the DevTools protocol, which the page's CSP does not govern, so the CSP stays strict.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Strings, evaluated in the page: this project compiles without the DOM library.
  const alreadyThere = await page.evaluate<boolean>("'axe' in window");
  if (!alreadyThere) await page.evaluate(axeSource);
  const result = await page.evaluate<{ violations: AxeResultViolation[] }>(
    `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
      .then((result) => ({ violations: result.violations.map(({ id, impact, help, nodes }) =>
        ({ id, impact, help, nodes: nodes.map((node) => ({ target: node.target })) })) }))`,
  );
  return result.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.map((node) => JSON.stringify(node.target)),
  }));
}

interface AxeResultViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: unknown }[];
}

/** The access token of a local user, for preparing data through the API (never to check it). */
export async function apiToken(baseUrl: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 200) throw new Error(`Sign-in of ${username} answered ${response.status}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}
