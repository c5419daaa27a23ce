import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { ApiError, NetworkError } from '../api/errors.js';
import { FakeApi, credential } from '../test/fake-api.js';
import { renderApp } from '../test/render-app.js';
import { backoffDelay, createQueryClient } from './query-client.js';

describe('Signed-in layout', () => {
  it('has a skip link, one main landmark, the "Main" navigation and one h1 per page', async () => {
    const user = userEvent.setup();
    const api = new FakeApi().on('GET', '/discovery/runs', { body: { data: { runs: [] } } });
    await renderApp('/discovery', api, ['operator']);

    expect(await screen.findByRole('heading', { level: 1, name: 'Discovery' })).toBeTruthy();
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(
      within(nav)
        .getAllByRole('link')
        .map((link) => link.textContent),
    ).toEqual(['Overview', 'Credentials', 'Secrets', 'Discovery', 'Audit', 'Settings']);
    expect(within(nav).getByRole('link', { name: 'Discovery' }).getAttribute('aria-current')).toBe('page');
    expect(screen.getAllByRole('main')).toHaveLength(1);
    expect(screen.getAllByRole('heading', { level: 1 })).toHaveLength(1);
    await user.tab();
    expect(document.activeElement?.textContent).toBe('Skip to main content');
    expect(document.activeElement?.getAttribute('href')).toBe('#main');
    expect(screen.getByRole('button', { name: 'Sign out' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Start discovery run' })).toBeTruthy();
  });

  it('shows a banner while the API cannot be reached and clears it once an answer arrives', async () => {
    const user = userEvent.setup();
    let down = true;
    const api = new FakeApi().on('GET', '/credentials', () =>
      down ? 'network-error' : { body: { data: { credentials: [credential()], total: 1 } } },
    );
    await renderApp('/credentials', api, ['viewer']);

    expect(await screen.findByText(/Connection to the VaultPilot API lost/)).toBeTruthy();
    expect((await screen.findByRole('alert')).textContent).toContain('cannot be reached');
    down = false;
    await user.click(screen.getByRole('button', { name: 'Apply filters' }));
    await user.type(screen.getByLabelText('Owner'), 'x');
    await user.click(screen.getByRole('button', { name: 'Apply filters' }));

    await waitFor(() => expect(screen.queryByText(/Connection to the VaultPilot API lost/)).toBeNull());
  });

  it('says what a 403 does not allow, with the request id, and nothing about the object', async () => {
    const api = new FakeApi().on('GET', '/credentials/cred-9', {
      status: 403,
      body: { error: { code: 'Forbidden', message: 'cred-9 belongs to team-x', requestId: 'req-403' } },
    });

    await renderApp('/credentials/cred-9', api, ['viewer']);

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('You are not allowed to read this credential.');
    expect(alert.textContent).toContain('req-403');
    expect(alert.textContent).not.toContain('team-x');
  });
});

describe('Query retries', () => {
  it('retries lost network and 503 with growing, capped backoff, but not a 403', () => {
    const client = createQueryClient();
    const retry = client.getDefaultOptions().queries?.retry as (count: number, error: unknown) => boolean;

    expect(retry(0, new NetworkError())).toBe(true);
    expect(retry(2, new ApiError('busy', 503, 'ServiceUnavailable', 'r'))).toBe(true);
    expect(retry(6, new NetworkError())).toBe(false);
    expect(retry(0, new ApiError('no', 403, 'Forbidden', 'r'))).toBe(false);
    expect(backoffDelay(0)).toBeGreaterThanOrEqual(500);
    expect(backoffDelay(0)).toBeLessThanOrEqual(1_000);
    expect(backoffDelay(3)).toBeGreaterThanOrEqual(4_000);
    expect(backoffDelay(3)).toBeLessThanOrEqual(8_000);
    expect(backoffDelay(20)).toBeLessThanOrEqual(30_000);
  });
});
