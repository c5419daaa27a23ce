import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { FakeApi, credential } from '../test/fake-api.js';
import { type Role, renderApp } from '../test/render-app.js';

const HOLD_PATH = '/notifications/holds/cred-1';
const DAY_MS = 86_400_000;

/** The credential page's API, with the alert hold as `hold` says (404 while there is none). */
function holdApi(initial?: Record<string, unknown>) {
  let hold = initial;
  const bodies: unknown[] = [];
  const api = new FakeApi()
    .on('GET', '/credentials/cred-1', { body: { data: credential({ id: 'cred-1' }) } })
    .on('GET', '/discovery/rules', { body: { data: { rules: [] } } })
    .on('GET', '/rotation-policies', { body: { data: { policies: [] } } })
    .on('GET', '/credentials/cred-1/rotations', { body: { data: { rotations: [] } } })
    .on('GET', HOLD_PATH, () =>
      hold === undefined
        ? { status: 404, body: { error: { code: 'NotFound', message: 'No hold', requestId: 'r-404' } } }
        : { body: { data: hold } },
    )
    .on('PUT', HOLD_PATH, (request) => {
      const body = JSON.parse(request.body ?? '{}') as Record<string, unknown>;
      bodies.push(body);
      hold = {
        credentialId: 'cred-1',
        conditions: {},
        by: 'user:alice',
        at: '2026-12-07T10:00:00.000Z',
        ...body,
      };
      return { body: { data: hold } };
    })
    .on('DELETE', HOLD_PATH, () => {
      hold = undefined;
      return { status: 204 };
    });
  return { api, bodies };
}

async function alertsPanel(api: FakeApi, roles: Role[]): Promise<HTMLElement> {
  await renderApp('/credentials/cred-1', api, roles);
  return screen.findByRole('region', { name: 'Alerts' });
}

describe('the alerts panel of a credential', () => {
  it('says alerts are sent when nothing holds them, and snoozes them for a week', async () => {
    const user = userEvent.setup();
    const { api, bodies } = holdApi();
    const panel = await alertsPanel(api, ['operator']);
    expect(
      await within(panel).findByText('Alerts about this credential are sent as they come.'),
    ).toBeTruthy();

    const before = Date.now();
    await user.click(within(panel).getByRole('button', { name: 'Snooze 7 days' }));

    await waitFor(() => expect(within(panel).getByText(/Snoozed by user:alice until/)).toBeTruthy());
    expect(bodies).toHaveLength(1);
    const body = bodies[0] as { kind: string; until: string };
    expect(body.kind).toBe('snoozed');
    const until = Date.parse(body.until);
    expect(until).toBeGreaterThanOrEqual(before + 7 * DAY_MS);
    expect(until).toBeLessThanOrEqual(Date.now() + 7 * DAY_MS);
  });

  it('shows an acknowledgement and sends the alerts again on request', async () => {
    const user = userEvent.setup();
    const { api } = holdApi({
      credentialId: 'cred-1',
      kind: 'acknowledged',
      conditions: { expiry: 'expiring-7' },
      by: 'user:bob',
      at: '2026-12-06T09:00:00.000Z',
      note: 'vendor renews on Friday',
    });
    const panel = await alertsPanel(api, ['admin']);
    expect(
      await within(panel).findByText(/Acknowledged by user:bob on .*held until its condition changes/),
    ).toBeTruthy();
    expect(within(panel).getByText(/Note: vendor renews on Friday/)).toBeTruthy();

    await user.click(within(panel).getByRole('button', { name: 'Send alerts again' }));

    expect(
      await within(panel).findByText('Alerts about this credential are sent as they come.'),
    ).toBeTruthy();
    expect(api.requests.filter((request) => request.method === 'DELETE')).toHaveLength(1);
  });

  it('says nothing about the alerts when the hold cannot be read, only the error', async () => {
    const { api } = holdApi();
    api.on('GET', HOLD_PATH, {
      status: 503,
      headers: { 'retry-after': '1' },
      body: { error: { code: 'ServiceUnavailable', message: 'Storage is unavailable', requestId: 'r-503' } },
    });
    const panel = await alertsPanel(api, ['operator']);

    expect((await within(panel).findByRole('alert')).textContent).toContain('r-503');
    expect(within(panel).queryByText(/sent as they come/)).toBeNull();
    expect(within(panel).queryByRole('button')).toBeNull();
  });

  it('lets auditors see a hold without changing it', async () => {
    const { api } = holdApi({
      credentialId: 'cred-1',
      kind: 'snoozed',
      until: '2026-12-20T00:00:00.000Z',
      conditions: {},
      by: 'user:bob',
      at: '2026-12-06T09:00:00.000Z',
    });
    const panel = await alertsPanel(api, ['auditor']);
    expect(await within(panel).findByText(/Snoozed by user:bob until/)).toBeTruthy();
    expect(within(panel).queryByRole('button')).toBeNull();
  });

  it('shows viewers nothing of it, and asks the API nothing', async () => {
    const viewer = holdApi();
    await renderApp('/credentials/cred-1', viewer.api, ['viewer']);
    expect(await screen.findByRole('heading', { level: 1 })).toBeTruthy();
    expect(screen.queryByRole('region', { name: 'Alerts' })).toBeNull();
    expect(viewer.api.requestsTo(HOLD_PATH)).toEqual([]);
  });
});
