/**
 * The dashboard end to end, as a person uses it: Debian's Chromium (playwright-core) against the
 * runtime `npm start` runs (temporary data directory, free port, real backend, no API mocks).
 * An admin signs in, writes and reveals a secret, registers a credential, rotates it and watches
 * the steps, verifies the audit chain and signs out; a viewer sees neither Reveal nor Rotate now;
 * axe-core finds no WCAG 2.2 A/AA violation on any page; the main navigation works by keyboard.
 *
 * Without Chromium this suite fails (ChromiumMissingError); `.ci/run` installs it first.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiToken,
  axeViolations,
  type AxeViolation,
  type DashboardBrowser,
  type DashboardRuntime,
  ensureDashboardBuilt,
  firstPage,
  launchChromium,
  signIn,
  startDashboardRuntime,
  visit,
} from './support/dashboard-harness.js';

const ADMIN_PASSWORD = 'e2e-admin-password-0123';
const VIEWER = { username: 'vera-viewer', password: 'e2e-viewer-password-0123' };
const SECRET_PATH = 'e2e/payments/api';
const SECRET_VALUE = 'e2e-first-value-7c1d';
/** Chromium on a shared two-core machine: generous, since a slow step is not a failure here. */
const FLOW_TIMEOUT = 180_000;

let server: DashboardRuntime;
let admin: DashboardBrowser;
let page: Page;
let baseUrl: string;
let credentialId: string | undefined;

beforeAll(async () => {
  await ensureDashboardBuilt();
  server = await startDashboardRuntime(ADMIN_PASSWORD);
  baseUrl = server.runtime.url;
  await server.runtime.identity.addUser({ ...VIEWER, tenant: 'default', groups: ['viewer'] });
  admin = await launchChromium();
  page = await firstPage(admin.context);
}, FLOW_TIMEOUT);

afterAll(async () => {
  await admin?.close();
  await server?.stop();
});

/** The page's one h1, once it names `expected` (when given: a page that is still loading may show another). */
async function heading(target: Page, expected?: string): Promise<string> {
  const h1 = target.getByRole('heading', { level: 1 });
  if (expected === undefined) await h1.first().waitFor();
  else await target.getByRole('heading', { level: 1, name: expected, exact: true }).waitFor();
  expect(await h1.count()).toBe(1);
  return (await h1.textContent()) ?? '';
}

/** Waits until the page has stopped loading data ("Loading…" gone, network quiet). */
async function settle(target: Page): Promise<void> {
  await target.waitForLoadState('networkidle');
  await target
    .getByText(/^Loading/)
    .waitFor({ state: 'detached', timeout: 15_000 })
    .catch(() => undefined);
}

describe('the dashboard as an admin', () => {
  it(
    'signs in through the local sign-in page and returns to the page asked for',
    async () => {
      // Act
      await signIn(page, baseUrl, 'admin', ADMIN_PASSWORD, '/audit');

      // Assess
      expect(new URL(page.url()).pathname).toBe('/audit');
      expect(await heading(page, 'Audit')).toBe('Audit');
      const nav = page.getByRole('navigation', { name: 'Main' });
      for (const name of ['Overview', 'Credentials', 'Secrets', 'Discovery', 'Audit', 'Settings']) {
        await expect(nav.getByRole('link', { name, exact: true }).count()).resolves.toBe(1);
      }
    },
    FLOW_TIMEOUT,
  );

  it(
    'moves through the main navigation with the keyboard alone',
    async () => {
      // Prepare: a fresh load (which signs in again: tokens live in memory only), focus at the top.
      await signIn(page, baseUrl, 'admin', ADMIN_PASSWORD, '/');
      await heading(page);
      const nav = page.getByRole('navigation', { name: 'Main' });
      const focused = async () => ({
        // A string, evaluated in the page (no DOM library here); nothing focused gives ''.
        text: await page.evaluate<string>("((document.activeElement || {}).textContent || '').trim()"),
        inMainNav: (await nav.locator(':focus').count()) === 1,
      });

      // Act: Tab until the first link of the main navigation has focus, then through the rest.
      let presses = 0;
      while (!(await focused()).inMainNav && presses < 25) {
        await page.keyboard.press('Tab');
        presses += 1;
      }
      const order = [(await focused()).text];
      for (let i = 0; i < 5; i += 1) {
        await page.keyboard.press('Tab');
        order.push((await focused()).text);
      }
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Enter');
      await page.waitForURL((url) => url.pathname === '/discovery');

      // Assess
      expect(order).toEqual(['Overview', 'Credentials', 'Secrets', 'Discovery', 'Audit', 'Settings']);
      expect(await heading(page, 'Discovery')).toBe('Discovery');
    },
    FLOW_TIMEOUT,
  );

  it(
    'writes a secret, reveals it only on request, and hides it again',
    async () => {
      // Prepare
      await visit(page, `/secrets/view?path=${encodeURIComponent(SECRET_PATH)}`);
      await heading(page, SECRET_PATH);
      await settle(page);

      // Act: write the first version.
      await page.getByLabel('Field name').first().fill('value');
      await page.getByLabel('Field value').first().fill(SECRET_VALUE);
      await page.getByRole('button', { name: 'Write new version' }).click();
      // The secret now exists: its versions table replaces the create form.
      await page.getByRole('heading', { name: 'Versions' }).waitFor();
      const maskedBefore = await page.getByText(SECRET_VALUE, { exact: true }).count();
      // Reveal, then hide.
      await page.getByRole('button', { name: 'Reveal' }).first().click();
      await page.getByText(SECRET_VALUE, { exact: true }).waitFor();
      const copyButtons = await page.getByRole('button', { name: 'Copy' }).count();
      await page.getByRole('button', { name: 'Hide' }).click();
      await page.getByText(SECRET_VALUE, { exact: true }).waitFor({ state: 'detached' });
      const stored = await page.evaluate<string>(
        'JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, url: location.href })',
      );

      // Assess
      expect(maskedBefore).toBe(0);
      expect(copyButtons).toBe(1);
      expect(stored).not.toContain(SECRET_VALUE);
      expect(stored).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    },
    FLOW_TIMEOUT,
  );

  it(
    'registers a credential, rotates it and watches create, set, test and finish succeed',
    async () => {
      // Prepare
      await visit(page, `/credentials`);
      await heading(page, 'Credentials');
      await page.getByRole('button', { name: 'Register credential' }).click();
      const form = page.getByRole('region', { name: 'Register a managed credential' });

      // Act: register.
      await form.getByLabel('Type', { exact: true }).selectOption('vault-secret');
      // By role: the accessible name leaves out the required field's aria-hidden asterisk.
      await form.getByRole('textbox', { name: 'Name', exact: true }).fill('E2E payments API key');
      await form.getByRole('textbox', { name: 'Owner' }).fill('team-payments');
      await form.getByRole('textbox', { name: 'Secret path' }).fill(SECRET_PATH);
      await form
        .getByLabel('Type settings (JSON, optional)')
        .fill('{"generator":{"length":32},"rotationPolicy":{"intervalDays":30}}');
      await form.getByRole('button', { name: 'Register', exact: true }).click();
      await page.waitForURL((url) => url.pathname.startsWith('/credentials/'));
      credentialId = decodeURIComponent(new URL(page.url()).pathname.slice('/credentials/'.length));
      expect(await heading(page, 'E2E payments API key')).toBe('E2E payments API key');

      // Rotate and watch.
      await page.getByRole('button', { name: 'Rotate now' }).click();
      const steps = page.getByRole('list', { name: 'Rotation steps' });
      await steps.waitFor();
      await expect
        .poll(async () => (await steps.getByRole('listitem').allTextContents()).join(' | '), {
          timeout: 60_000,
          interval: 500,
        })
        .toMatch(/^create\s*succeeded.*\|\s*set\s*succeeded.*\|\s*test\s*succeeded.*\|\s*finish\s*succeeded/);

      // Assess
      const items = await steps.getByRole('listitem').allTextContents();
      expect(items.map((item) => item.split(/\s/, 1)[0])).toEqual(['create', 'set', 'test', 'finish']);
      // The rotation wrote version 2 of the secret, with a new value. A fresh load (and sign-in):
      // the dashboard keeps what it read for a while, and the secret page was read before.
      await signIn(
        page,
        baseUrl,
        'admin',
        ADMIN_PASSWORD,
        `/secrets/view?path=${encodeURIComponent(SECRET_PATH)}`,
      );
      await settle(page);
      const current = page.getByRole('row').filter({ has: page.getByText('current', { exact: true }) });
      await current.getByRole('button', { name: 'Reveal' }).click();
      await current.getByRole('button', { name: 'Hide' }).waitFor();
      expect(await current.getByRole('cell').first().textContent()).toBe('2');
      expect(await current.getByText(SECRET_VALUE, { exact: true }).count()).toBe(0);
      expect(await current.getByText(/^[\x21-\x7e]{32}$/).count()).toBe(1);
    },
    FLOW_TIMEOUT,
  );

  it(
    'verifies the audit chain',
    async () => {
      // Prepare
      await visit(page, `/audit`);
      await heading(page, 'Audit');

      // Act
      await page.getByRole('button', { name: 'Verify chain' }).click();

      // Assess
      await expect
        .poll(async () => (await page.getByRole('status').allTextContents()).join(' '), { timeout: 30_000 })
        .toMatch(/intact \d+ entries \(seq 1–\d+\), \d+ signed digests? verified\./);
      expect((await page.getByRole('status').allTextContents()).join(' ')).not.toContain('not intact');
    },
    FLOW_TIMEOUT,
  );

  it(
    'has no axe-core violation (WCAG 2.2 A and AA) and exactly one h1 on any page',
    async () => {
      // Prepare: every page route of the contract, with the h1 it must show.
      const routes: [string, string][] = [
        ['/', 'Overview'],
        ['/credentials', 'Credentials'],
        [`/credentials/${encodeURIComponent(credentialId ?? 'missing')}`, 'E2E payments API key'],
        ['/secrets', 'Secrets'],
        ['/secrets?path=e2e%2F', 'Secrets'],
        [`/secrets/view?path=${encodeURIComponent(SECRET_PATH)}`, SECRET_PATH],
        ['/discovery', 'Discovery'],
        ['/audit', 'Audit'],
        ['/settings/policies', 'Access policies'],
        ['/settings/rotation-policies', 'Rotation policies'],
        ['/settings/discovery', 'Discovery settings'],
        ['/settings/audit', 'Audit retention'],
        ['/settings/notifications', 'Notifications'],
        ['/no-such-page', 'Page not found'],
      ];

      // Act
      const found: Record<string, AxeViolation[]> = {};
      for (const [route, title] of routes) {
        await visit(page, route);
        await heading(page, title);
        await settle(page);
        const violations = await axeViolations(page);
        if (violations.length > 0) found[route] = violations;
      }
      // The route form opens on demand: its checkboxes are checked too.
      await visit(page, '/settings/notifications');
      await heading(page, 'Notifications');
      await page.getByRole('button', { name: 'New route' }).click();
      await page.getByRole('form', { name: 'New route' }).waitFor();
      const formViolations = await axeViolations(page);
      if (formViolations.length > 0) found['/settings/notifications (new route)'] = formViolations;

      // Assess
      expect(credentialId).toBeDefined();
      expect(found).toEqual({});
    },
    FLOW_TIMEOUT,
  );

  it(
    'signs out to the signed-out page, which passes axe too, and broke no CSP rule anywhere',
    async () => {
      // Act
      await visit(page, `/`);
      await heading(page, 'Overview');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL((url) => url.pathname === '/signed-out');

      // Assess
      expect(await heading(page, 'Signed out')).toBe('Signed out');
      expect(await axeViolations(page)).toEqual([]);
      expect(admin.cspViolations).toEqual([]);
    },
    FLOW_TIMEOUT,
  );
});

describe('the local sign-in page', () => {
  it(
    'has no axe-core violation, with and without an error',
    async () => {
      // Prepare
      const browser = await launchChromium();
      try {
        const signInPage = await firstPage(browser.context);
        await signInPage.goto(`${baseUrl}/`);
        await signInPage.waitForURL((url) => url.pathname === '/oauth2/authorize');

        // Act
        const clean = await axeViolations(signInPage);
        await signInPage.getByLabel('Username').fill('admin');
        await signInPage.getByLabel('Password').fill('not-the-password');
        await signInPage.getByRole('button', { name: 'Sign in' }).click();
        await signInPage.getByRole('alert').waitFor();
        const withError = await axeViolations(signInPage);

        // Assess
        expect(clean).toEqual([]);
        expect(withError).toEqual([]);
        expect(await signInPage.getByRole('alert').textContent()).toContain('Invalid username or password');
        expect(browser.cspViolations).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    FLOW_TIMEOUT,
  );
});

describe('the dashboard as a viewer', () => {
  it(
    'shows the secret and the credential but neither Reveal nor Rotate now, and the API refuses both',
    async () => {
      // Prepare
      const browser = await launchChromium();
      try {
        const viewerPage = await firstPage(browser.context);
        await signIn(viewerPage, baseUrl, VIEWER.username, VIEWER.password, '/secrets');

        // Act
        await visit(viewerPage, `/secrets/view?path=${encodeURIComponent(SECRET_PATH)}`);
        await heading(viewerPage, SECRET_PATH);
        await settle(viewerPage);
        const revealButtons = await viewerPage.getByRole('button', { name: 'Reveal' }).count();
        const writeButtons = await viewerPage.getByRole('button', { name: 'Write new version' }).count();
        const versionsShown = await viewerPage.getByRole('heading', { name: /Versions/ }).count();
        await visit(viewerPage, `/credentials/${encodeURIComponent(credentialId ?? 'missing')}`);
        const credentialHeading = await heading(viewerPage, 'E2E payments API key');
        await settle(viewerPage);
        const rotateButtons = await viewerPage.getByRole('button', { name: 'Rotate now' }).count();
        const rollBackButtons = await viewerPage.getByRole('button', { name: 'Roll back' }).count();
        const token = await apiToken(baseUrl, VIEWER.username, VIEWER.password);
        const reveal = await fetch(`${baseUrl}/secrets/data/${SECRET_PATH}`, {
          headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        });
        const rotate = await fetch(
          `${baseUrl}/credentials/${encodeURIComponent(credentialId ?? 'missing')}/rotate`,
          {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
          },
        );

        // Assess
        expect(versionsShown).toBeGreaterThan(0);
        expect(revealButtons).toBe(0);
        expect(writeButtons).toBe(0);
        expect(credentialHeading).toBe('E2E payments API key');
        expect(rotateButtons).toBe(0);
        expect(rollBackButtons).toBe(0);
        expect(reveal.status).toBe(403);
        expect(rotate.status).toBe(403);
        expect(await axeViolations(viewerPage)).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    FLOW_TIMEOUT,
  );
});
