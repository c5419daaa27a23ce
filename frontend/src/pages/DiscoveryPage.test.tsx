import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { FakeApi } from '../test/fake-api.js';
import { renderApp } from '../test/render-app.js';

function run(status: string) {
  return {
    id: 'run-1',
    runId: 'run-1',
    trigger: 'request',
    requestedBy: 'alice',
    status,
    queuedAt: '2026-12-01T10:00:00.000Z',
    cloud: 'configured',
    sources: [
      {
        kind: 'aws-account',
        label: 'prod',
        account: '123456789012',
        status: 'partial',
        seen: 40,
        calls: 12,
        errors: 1,
      },
    ],
    counts: {
      seen: 40,
      created: 3,
      updated: 1,
      unchanged: 36,
      gone: 0,
      returned: 0,
      findingsOpened: 2,
      findingsResolved: 0,
      historyLost: 1,
      errors: 1,
    },
    errors: [
      {
        source: 'prod',
        code: 'AccessDenied',
        message: 'iam:ListUsers denied',
        service: 'iam',
        operation: 'ListUsers',
      },
    ],
  };
}

describe('Discovery page', () => {
  it('starts a run and follows it until it finishes, with per-source progress and errors', async () => {
    const user = userEvent.setup();
    let started = false;
    let polls = 0;
    const api = new FakeApi()
      .on('GET', '/discovery/runs', () => ({
        body: { data: { runs: started ? [run(polls++ < 1 ? 'running' : 'partial')] : [] } },
      }))
      .on('POST', '/discovery/runs', () => {
        started = true;
        return { status: 202, body: { data: run('queued') } };
      });
    await renderApp('/discovery', api, ['operator']);

    await user.click(await screen.findByRole('button', { name: 'Start discovery run' }));

    const card = await screen.findByRole('article');
    await waitFor(() => expect(within(card).getAllByText('partial')).toHaveLength(2), { timeout: 5_000 });
    // The status line follows the run it announced, not the start's answer (`queued`).
    expect(screen.getAllByRole('status').map((status) => status.textContent)).toContain('Run run-1 partial.');
    expect(screen.queryByText('Run run-1 queued.')).toBeNull();
    // Polled while running: at least the list after the start and the one that saw it finish.
    expect(
      api.requestsTo('/discovery/runs').filter((request) => request.method === 'GET').length,
    ).toBeGreaterThanOrEqual(3);
    expect(within(card).getByRole('table', { name: 'Sources of this run' })).toBeTruthy();
    expect(within(card).getByText(/iam:ListUsers denied/)).toBeTruthy();
    expect(within(card).getByText(/history entries lost 1/)).toBeTruthy();
    expect(api.requestsTo('/discovery/runs').filter((request) => request.method === 'POST')).toHaveLength(1);
  });

  it('hides "Start discovery run" from viewers', async () => {
    await renderApp(
      '/discovery',
      new FakeApi().on('GET', '/discovery/runs', { body: { data: { runs: [] } } }),
      ['viewer'],
    );

    expect(await screen.findByText('No run yet.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Start discovery run' })).toBeNull();
  });

  it('sends /settings to the first settings page', async () => {
    const api = new FakeApi()
      .on('GET', '/policies', { body: { data: { policies: [] } } })
      .on('GET', '/policies/attachments', { body: { data: { groups: {}, clients: {} } } });
    await renderApp('/settings', api, ['admin']);

    expect(await screen.findByRole('heading', { level: 1, name: 'Access policies' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Notifications' }).getAttribute('href')).toBe(
      '/settings/notifications',
    );
  });
});
