/**
 * `npm run screenshots`: a picture of every dashboard page (light theme, 1280×800) in
 * docs/screenshots/, taken in Chromium against the local runtime with a little demo data
 * (registered through the API as an admin would). Not part of `npm test`.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import {
  apiToken,
  ensureDashboardBuilt,
  firstPage,
  launchChromium,
  signIn,
  startDashboardRuntime,
  visit,
} from './support/dashboard-harness.js';

const OUT = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const PASSWORD = 'screenshots-admin-password-1';
const DAY = 86_400_000;

async function api(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<any> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return text.length === 0 ? undefined : JSON.parse(text);
}

function inDays(days: number): string {
  return new Date(Date.now() + days * DAY).toISOString().slice(0, 10);
}

/** Demo data: secrets, credentials expiring soon and later, one rotated credential, an alert channel. */
async function seed(baseUrl: string, token: string): Promise<{ rotatedId: string }> {
  for (const [path, data] of [
    ['prod/payments/stripe', { value: 'sk_demo_0000000000000000' }],
    ['prod/orders/db', { username: 'orders_app', password: 'demo-password-1' }],
    ['staging/orders/db', { username: 'orders_app', password: 'demo-password-2' }],
  ] as const) {
    await api(baseUrl, token, 'POST', `/secrets/data/${path}`, { data });
  }
  const credentials = [
    { type: 'api-token', name: 'Stripe API key', owner: 'team-payments', expiresAt: inDays(5) },
    { type: 'github-token', name: 'Release bot token', owner: 'team-platform', expiresAt: inDays(21) },
    { type: 'ses-smtp', name: 'Transactional mail', owner: 'team-growth', expiresAt: inDays(80) },
    { type: 'api-token', name: 'Maps API key', owner: 'team-web', expiresAt: inDays(-3) },
  ];
  for (const credential of credentials) await api(baseUrl, token, 'POST', '/credentials', credential);
  const rotated = (await api(baseUrl, token, 'POST', '/credentials', {
    type: 'vault-secret',
    name: 'Payments webhook secret',
    owner: 'team-payments',
    secretPath: 'prod/payments/stripe',
    generator: { length: 32 },
    rotationPolicy: { intervalDays: 30 },
  })) as { data: { id: string } };
  await api(baseUrl, token, 'PUT', '/rotation-policies/quarterly', {
    policy: { intervalDays: 90, deactivateAfterDays: 10, deleteAfterDays: 10, nonUseGateHours: 24 },
  });
  // An email channel (locally the messages land in the data directory's outbox) with one test sent.
  const email = (await api(baseUrl, token, 'POST', '/notifications/channels', {
    kind: 'email',
    name: 'Security team',
    recipients: ['security@example.com'],
  })) as { data: { id: string } };
  await api(baseUrl, token, 'POST', `/notifications/channels/${email.data.id}/test`);
  return { rotatedId: rotated.data.id };
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle');
  // A page still loading is not a picture of it: fail rather than commit one (a busy machine once
  // left docs/screenshots/credentials.png showing "Loading credentials…").
  await page
    .getByText(/^Loading/)
    .first()
    .waitFor({ state: 'detached', timeout: 60_000 })
    .catch(() => {
      throw new Error(`docs/screenshots/${name}.png: the page was still loading after 60 s`);
    });
  await page.screenshot({ path: `${OUT}${name}.png` });
  console.log(`docs/screenshots/${name}.png`);
}

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  await ensureDashboardBuilt();
  const server = await startDashboardRuntime(PASSWORD);
  const browser = await launchChromium({ width: 1280, height: 800 }, 'light');
  try {
    const baseUrl = server.runtime.url;
    const { rotatedId } = await seed(baseUrl, await apiToken(baseUrl, 'admin', PASSWORD));
    const page = await firstPage(browser.context);

    await page.goto(`${baseUrl}/`);
    await page.waitForURL((url) => url.pathname === '/oauth2/authorize');
    await page.getByLabel('Username').fill('admin');
    await shoot(page, 'sign-in');
    await signIn(page, baseUrl, 'admin', PASSWORD, '/');
    await shoot(page, 'overview');

    // A rotation with its live steps, then the credential page with its history.
    await visit(page, `/credentials/${encodeURIComponent(rotatedId)}`);
    await page.getByRole('button', { name: 'Rotate now' }).click();
    const steps = page.getByRole('list', { name: 'Rotation steps' });
    await steps.getByText('succeeded').nth(3).waitFor({ timeout: 60_000 });
    await shoot(page, 'credential');

    // A discovery run (locally it lists the stored secrets; AWS only with credentials on the machine).
    await visit(page, '/discovery');
    await page.getByRole('button', { name: 'Start discovery run' }).click();
    await page.waitForTimeout(3_000);
    await shoot(page, 'discovery');

    const pages: [string, string][] = [
      ['credentials', '/credentials'],
      ['secrets', '/secrets'],
      ['secrets-browse', '/secrets?path=prod%2F'],
      ['secret', '/secrets/view?path=prod%2Fpayments%2Fstripe'],
      ['settings-policies', '/settings/policies'],
      ['settings-rotation-policies', '/settings/rotation-policies'],
      ['settings-discovery', '/settings/discovery'],
      ['settings-audit', '/settings/audit'],
      ['settings-notifications', '/settings/notifications'],
    ];
    for (const [name, path] of pages) {
      await visit(page, path);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await shoot(page, name);
    }

    await visit(page, '/audit');
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/signed digests? verified/).waitFor();
    await shoot(page, 'audit');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.pathname === '/signed-out');
    await shoot(page, 'signed-out');
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
