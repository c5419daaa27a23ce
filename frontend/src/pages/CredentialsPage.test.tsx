import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { FakeApi, credential } from '../test/fake-api.js';
import { renderApp } from '../test/render-app.js';

function inventory() {
  return new FakeApi().on('GET', '/credentials', (request) => ({
    body: {
      data: {
        credentials: [credential({ name: `page ${request.url.searchParams.get('cursor') ?? 'first'}` })],
        total: 120,
        nextCursor: request.url.searchParams.get('cursor') === 'c2' ? undefined : 'c2',
      },
    },
  }));
}

describe('Credentials page', () => {
  it('sends the filters and sort of the URL to the API, one page of 50', async () => {
    const api = inventory();

    await renderApp('/credentials?status=overdue&owner=team-pay&sort=-expiresAt', api);

    expect(await screen.findByRole('heading', { level: 1, name: 'Credentials' })).toBeTruthy();
    await screen.findByText('page first');
    const query = Object.fromEntries(api.requestsTo('/credentials').at(-1)?.url.searchParams ?? []);
    expect(query).toEqual({ status: 'overdue', owner: 'team-pay', sort: '-expiresAt', limit: '50' });
    expect(screen.getByRole('columnheader', { name: /Expires/ }).getAttribute('aria-sort')).toBe(
      'descending',
    );
    expect(screen.getByLabelText<HTMLSelectElement>('Status').value).toBe('overdue');
    expect(screen.getByLabelText<HTMLInputElement>('Owner').value).toBe('team-pay');
  });

  it('puts applied filters and a new sort into the URL and asks the API again', async () => {
    const user = userEvent.setup();
    const api = inventory();
    const { router } = await renderApp('/credentials', api);
    await screen.findByText('page first');

    await user.selectOptions(screen.getByLabelText('Type'), 'aws-iam-access-key');
    await user.type(screen.getByLabelText('Text'), 'deploy');
    await user.click(screen.getByRole('button', { name: 'Apply filters' }));
    await waitFor(() =>
      expect(router.state.location.search).toEqual({ type: 'aws-iam-access-key', q: 'deploy' }),
    );
    await user.click(within(screen.getByRole('columnheader', { name: /Last used/ })).getByRole('button'));

    await waitFor(() =>
      expect(router.state.location.search).toEqual({
        type: 'aws-iam-access-key',
        q: 'deploy',
        sort: 'lastUsedAt',
      }),
    );
    await waitFor(() =>
      expect(Object.fromEntries(api.requestsTo('/credentials').at(-1)?.url.searchParams ?? [])).toEqual({
        type: 'aws-iam-access-key',
        q: 'deploy',
        sort: 'lastUsedAt',
        limit: '50',
      }),
    );
  });

  it('pages with the API cursor, forward and back', async () => {
    const user = userEvent.setup();
    const api = inventory();
    const { router } = await renderApp('/credentials?status=overdue', api);
    await screen.findByText('page first');

    await user.click(screen.getByRole('button', { name: 'Next page' }));
    await screen.findByText('page c2');
    expect(router.state.location.search).toEqual({ status: 'overdue', cursor: 'c2' });
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Next page' }).disabled).toBe(true);
    await user.click(screen.getByRole('button', { name: 'Previous page' }));

    await screen.findByText('page first');
    expect(router.state.location.search).toEqual({ status: 'overdue' });
  });

  it('offers "Register credential" to operators but not to viewers', async () => {
    await renderApp('/credentials', inventory(), ['operator']);
    expect(await screen.findByRole('button', { name: 'Register credential' })).toBeTruthy();
  });

  it('hides "Register credential" from viewers', async () => {
    await renderApp('/credentials', inventory(), ['viewer']);
    await screen.findByText('page first');
    expect(screen.queryByRole('button', { name: 'Register credential' })).toBeNull();
  });

  it('shows an API error in an alert with its request id', async () => {
    const api = new FakeApi().on('GET', '/credentials', {
      status: 400,
      body: { error: { code: 'ValidationError', message: 'Unknown status: nope', requestId: 'req-400' } },
    });

    await renderApp('/credentials?status=nope', api);

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Unknown status: nope');
    expect(alert.textContent).toContain('req-400');
  });

  it('registers a managed credential after checking it with the API contract, then opens it', async () => {
    const user = userEvent.setup();
    const api = inventory()
      .on('POST', '/credentials', (request) => ({
        status: 201,
        body: { data: credential({ id: 'cred-new', ...(JSON.parse(request.body ?? '{}') as object) }) },
      }))
      .on('GET', '/credentials/cred-new', {
        body: { data: credential({ id: 'cred-new', name: 'stripe key' }) },
      })
      .on('GET', '/credentials/cred-new/rotations', { body: { data: { rotations: [] } } })
      .on('GET', '/discovery/rules', { body: { data: { rules: [] } } })
      .on('GET', '/rotation-policies', { body: { data: { policies: [] } } });
    const { router } = await renderApp('/credentials', api, ['operator']);
    await user.click(await screen.findByRole('button', { name: 'Register credential' }));
    const form = screen.getByRole('region', { name: 'Register a managed credential' });

    await user.click(within(form).getByRole('button', { name: 'Register' }));
    expect(within(form).getByRole('alert').textContent).toContain('name');
    expect(api.requestsTo('/credentials').filter((request) => request.method === 'POST')).toHaveLength(0);

    await user.type(within(form).getByRole('textbox', { name: /^Name/ }), 'stripe key');
    await user.type(within(form).getByLabelText('Expires on'), '2027-01-31');
    await user.type(within(form).getByRole('textbox', { name: /^Tags/ }), 'team=pay, pci');
    await user.click(within(form).getByRole('button', { name: 'Register' }));

    await waitFor(() => expect(router.state.location.pathname).toBe('/credentials/cred-new'));
    const posted = api.requestsTo('/credentials').find((request) => request.method === 'POST');
    expect(JSON.parse(posted?.body ?? '{}')).toEqual({
      type: 'api-token',
      name: 'stripe key',
      expiresAt: '2027-01-31',
      tags: { team: 'pay', pci: '' },
    });
  });
});
