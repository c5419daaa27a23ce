import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { FakeApi } from '../../test/fake-api.js';
import { renderApp } from '../../test/render-app.js';

function channel(overrides: Record<string, unknown> = {}) {
  return {
    id: 'ch_email',
    name: 'Security team',
    kind: 'email',
    recipients: ['security@example.com', 'oncall@example.com'],
    secret: { set: false },
    digest: true,
    state: 'active',
    revision: 1,
    ...overrides,
  };
}

const SLACK = channel({
  id: 'ch_slack',
  name: 'Slack #alerts',
  kind: 'slack',
  recipients: undefined,
  slack: { mode: 'webhook' },
  secret: { set: true, hint: 'https://hooks.slack.com' },
  digest: false,
  state: 'failing',
  failure: { reason: 'slack_no_service', since: '2026-12-01T10:00:00.000Z' },
});

const ROUTES = {
  routes: [
    {
      id: 'default-critical',
      name: 'Critical alerts',
      eventTypes: ['rotation.failed', 'audit.integrity.failed'],
      minSeverity: 'high',
      match: {},
      channels: 'all',
      notifyOwner: false,
      enabled: true,
      builtIn: true,
    },
    {
      id: 'rt_1',
      name: 'Expiry to Slack',
      eventTypes: ['credential.expiring'],
      minSeverity: 'low',
      match: {},
      channels: ['ch_slack'],
      notifyOwner: true,
      enabled: false,
      builtIn: false,
    },
  ],
  usingDefaults: false,
};

const DELIVERY = {
  eventId: 'ev-1',
  eventType: 'credential.expiring',
  eventTime: '2026-12-01T09:00:00.000Z',
  channelId: 'ch_slack',
  channelKind: 'slack',
  status: 'failed',
  attempts: 3,
  reason: 'slack_no_service',
  updatedAt: '2026-12-01T09:05:00.000Z',
};

function notificationsApi(channels: unknown[] = [channel(), SLACK]) {
  return new FakeApi()
    .on('GET', '/notifications/channels', () => ({ body: { data: { channels } } }))
    .on('GET', '/notifications/routes', { body: { data: ROUTES } })
    .on('GET', '/notifications', { body: { data: { deliveries: [DELIVERY] } } });
}

describe('Notifications settings page', () => {
  it('lists channels with where they send (no secret), routes by channel name, and the latest deliveries', async () => {
    await renderApp('/settings/notifications', notificationsApi(), ['admin']);

    const channels = await screen.findByRole('table', { name: 'Notification channels' });
    const rows = within(channels).getAllByRole('row');
    expect(rows).toHaveLength(3);
    expect(rows[1]?.textContent).toContain('security@example.com, oncall@example.com');
    expect(rows[2]?.textContent).toContain('incoming webhook https://hooks.slack.com');
    expect(within(rows[2] as HTMLElement).getByText('failing')).toBeTruthy();
    expect(rows[2]?.textContent).toContain('slack_no_service since');

    const routes = await screen.findByRole('table', { name: 'Notification routes' });
    expect(within(routes).getByText('all channels')).toBeTruthy();
    // A route's channel ids are shown by the channels' names.
    expect(within(routes).getAllByRole('row')[2]?.textContent).toContain('Slack #alerts');

    const deliveries = await screen.findByRole('table', { name: 'Latest deliveries' });
    expect(within(deliveries).getAllByRole('row')[1]?.textContent).toMatch(
      /credential\.expiring.*Slack #alerts.*failed.*3.*slack_no_service/,
    );
    // Managing is for admins: the actions are there.
    expect(screen.getAllByRole('button', { name: 'Send test' })).toHaveLength(2);
    expect(screen.getByRole('button', { name: 'Add channel' })).toBeTruthy();
  });

  it('sends a test and says how it went, next to the channel', async () => {
    const user = userEvent.setup();
    const api = notificationsApi().on('POST', /^\/notifications\/channels\/[^/]+\/test$/, (request) => ({
      body: {
        data: request.url.pathname.includes('ch_slack')
          ? { status: 'failed', reason: 'slack_no_service', eventId: 'ev-t', channel: SLACK }
          : { status: 'sent', eventId: 'ev-t', channel: channel() },
      },
    }));
    await renderApp('/settings/notifications', api, ['admin']);

    const channels = await screen.findByRole('table', { name: 'Notification channels' });
    const [emailTest, slackTest] = within(channels).getAllByRole('button', { name: 'Send test' });
    await user.click(emailTest as HTMLElement);
    await user.click(slackTest as HTMLElement);

    await waitFor(() => expect(within(channels).getByText('Test sent.')).toBeTruthy());
    expect(await within(channels).findByText('Test failed: slack_no_service.')).toBeTruthy();
    expect(
      api.requests
        .filter((request) => request.method === 'POST' && request.url.pathname.startsWith('/notifications'))
        .map((request) => request.url.pathname),
    ).toEqual(['/notifications/channels/ch_email/test', '/notifications/channels/ch_slack/test']);
  });

  it('adds a webhook channel with only its own fields, then clears the secrets from the form', async () => {
    const user = userEvent.setup();
    const created: unknown[] = [];
    const api = notificationsApi([]).on('POST', '/notifications/channels', (request) => {
      created.push(JSON.parse(request.body ?? '{}'));
      return { status: 201, body: { data: channel({ id: 'ch_new', kind: 'webhook' }) } };
    });
    await renderApp('/settings/notifications', api, ['admin']);

    expect(await screen.findByText('No channel yet: alerts have nowhere to go.')).toBeTruthy();
    await user.selectOptions(screen.getByLabelText('Kind'), 'webhook');
    await user.type(screen.getByLabelText('Name'), 'PagerDuty bridge');
    await user.type(screen.getByLabelText(/Endpoint URL/), 'https://hooks.example.com/vp');
    await user.type(screen.getByLabelText(/Signing key/), 'k'.repeat(40));
    await user.click(screen.getByLabelText('Takes the daily digest'));
    await user.click(screen.getByRole('button', { name: 'Add channel' }));

    await waitFor(() => expect(created).toHaveLength(1));
    expect(created[0]).toEqual({
      kind: 'webhook',
      name: 'PagerDuty bridge',
      digest: true,
      url: 'https://hooks.example.com/vp',
      signingKey: 'k'.repeat(40),
    });
    // The form forgets what was typed once the API has it.
    await waitFor(() => expect(screen.getByLabelText<HTMLInputElement>(/Signing key/).value).toBe(''));
    expect(screen.getByLabelText<HTMLInputElement>(/Endpoint URL/).type).toBe('password');
  });

  it('shows a refused channel with the API’s field issues', async () => {
    const user = userEvent.setup();
    const api = notificationsApi([]).on('POST', '/notifications/channels', {
      status: 400,
      body: {
        error: {
          code: 'ValidationError',
          message: 'Invalid channel: recipients must be email addresses',
          details: { field: 'recipients' },
          requestId: 'req-400',
        },
      },
    });
    await renderApp('/settings/notifications', api, ['admin']);

    await user.type(await screen.findByLabelText(/Recipients/), 'not-an-address');
    await user.click(screen.getByRole('button', { name: 'Add channel' }));

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('recipients must be email addresses');
    expect(alert.textContent).toContain('req-400');
  });

  it('turns a route off with a PUT of the whole route, flipping only enabled', async () => {
    const user = userEvent.setup();
    const bodies: unknown[] = [];
    const api = notificationsApi().on('PUT', '/notifications/routes/default-critical', (request) => {
      bodies.push(JSON.parse(request.body ?? '{}'));
      return { body: { data: { ...ROUTES.routes[0], enabled: false } } };
    });
    await renderApp('/settings/notifications', api, ['admin']);

    await user.click(await screen.findByRole('button', { name: 'Turn off Critical alerts' }));

    await waitFor(() => expect(bodies).toHaveLength(1));
    expect(bodies[0]).toEqual({
      name: 'Critical alerts',
      eventTypes: ['rotation.failed', 'audit.integrity.failed'],
      minSeverity: 'high',
      match: {},
      channels: 'all',
      notifyOwner: false,
      enabled: false,
    });
    // The disabled route offers to turn it on again.
    expect(screen.getByRole('button', { name: 'Turn on Expiry to Slack' })).toBeTruthy();
  });

  it('changes what a route matches with a PUT of the whole route', async () => {
    const user = userEvent.setup();
    const bodies: unknown[] = [];
    const api = notificationsApi().on('PUT', '/notifications/routes/rt_1', (request) => {
      bodies.push(JSON.parse(request.body ?? '{}'));
      return { body: { data: { ...ROUTES.routes[1], ...(bodies[0] as object) } } };
    });
    await renderApp('/settings/notifications', api, ['admin']);

    await user.click(await screen.findByRole('button', { name: 'Change Expiry to Slack' }));
    const form = screen.getByRole('form', { name: 'Change Expiry to Slack' });
    await user.click(within(form).getByRole('checkbox', { name: 'credential.expired' }));
    await user.selectOptions(within(form).getByLabelText('From severity'), 'medium');
    await user.click(within(form).getByRole('checkbox', { name: 'Security team' }));
    await user.type(within(form).getByLabelText('Owner'), 'platform@example.com');
    await user.type(within(form).getByLabelText('Tags'), 'env=prod, team = payments');
    await user.click(within(form).getByRole('checkbox', { name: 'Enabled' }));
    await user.click(within(form).getByRole('button', { name: 'Save route' }));

    await waitFor(() => expect(bodies).toHaveLength(1));
    expect(bodies[0]).toEqual({
      name: 'Expiry to Slack',
      eventTypes: ['credential.expiring', 'credential.expired'],
      minSeverity: 'medium',
      match: { owner: 'platform@example.com', tags: { env: 'prod', team: 'payments' } },
      channels: ['ch_slack', 'ch_email'],
      notifyOwner: true,
      enabled: true,
    });
    // The form closes once the API has the route.
    await waitFor(() => expect(screen.queryByRole('form', { name: 'Change Expiry to Slack' })).toBeNull());
  });

  it('adds a route, and says what is missing before it asks the API', async () => {
    const user = userEvent.setup();
    const bodies: unknown[] = [];
    const api = notificationsApi().on('POST', '/notifications/routes', (request) => {
      bodies.push(JSON.parse(request.body ?? '{}'));
      return { status: 201, body: { data: { ...ROUTES.routes[1], id: 'rt_2', name: 'Prod failures' } } };
    });
    await renderApp('/settings/notifications', api, ['admin']);

    await user.click(await screen.findByRole('button', { name: 'New route' }));
    const form = screen.getByRole('form', { name: 'New route' });
    await user.type(within(form).getByLabelText(/^Name/), 'Prod failures');
    await user.click(within(form).getByRole('button', { name: 'Add route' }));
    expect(within(form).getByRole('alert').textContent).toBe('Choose at least one event');
    await user.click(within(form).getByRole('checkbox', { name: 'rotation.failed' }));
    await user.type(within(form).getByLabelText('Tags'), 'env');
    await user.click(within(form).getByRole('button', { name: 'Add route' }));
    expect(within(form).getByRole('alert').textContent).toMatch(/^Tags are key=value pairs/);
    await user.clear(within(form).getByLabelText('Tags'));
    await user.type(within(form).getByLabelText('Path prefix'), 'prod/');
    await user.click(within(form).getByRole('button', { name: 'Add route' }));

    await waitFor(() => expect(bodies).toHaveLength(1));
    expect(bodies[0]).toEqual({
      name: 'Prod failures',
      eventTypes: ['rotation.failed'],
      minSeverity: 'low',
      match: { pathPrefix: 'prod/' },
      channels: 'all',
      notifyOwner: false,
      enabled: true,
    });
  });

  it('deletes a route once asked to confirm', async () => {
    const user = userEvent.setup();
    let deleted = 0;
    const api = notificationsApi().on('DELETE', '/notifications/routes/rt_1', () => {
      deleted += 1;
      return { status: 204 };
    });
    await renderApp('/settings/notifications', api, ['admin']);
    const table = await screen.findByRole('table', { name: 'Notification routes' });
    const row = within(table).getByText('Expiry to Slack').closest('tr');
    if (row === null) throw new Error('no row');

    await user.click(within(row).getByRole('button', { name: 'Change Expiry to Slack' }));
    expect(screen.getByRole('form', { name: 'Change Expiry to Slack' })).toBeTruthy();
    await user.click(within(row).getByRole('button', { name: 'Delete' }));
    expect(deleted).toBe(0);
    expect(within(row).getByText(/Its events stop reaching its channels/)).toBeTruthy();
    await user.click(within(row).getByRole('button', { name: 'Delete route' }));

    await waitFor(() => expect(deleted).toBe(1));
    // The form that was open on it closes rather than turn into a new route's.
    await waitFor(() => expect(screen.queryByRole('form', { name: 'Change Expiry to Slack' })).toBeNull());
    expect(screen.queryByRole('form', { name: 'New route' })).toBeNull();
  });

  it('says nothing about channels or deliveries it could not read, only the error', async () => {
    const unavailable = {
      status: 503,
      headers: { 'retry-after': '1' },
      body: { error: { code: 'ServiceUnavailable', message: 'Storage is unavailable', requestId: 'r-503' } },
    };
    const api = notificationsApi()
      .on('GET', '/notifications/channels', unavailable)
      .on('GET', '/notifications', unavailable);
    await renderApp('/settings/notifications', api, ['admin']);

    await waitFor(() => expect(screen.getAllByRole('alert').length).toBeGreaterThanOrEqual(2));
    expect(screen.queryByText(/No channel yet/)).toBeNull();
    expect(screen.queryByText('Nothing sent yet.')).toBeNull();
  });

  it('lets auditors read, without the actions', async () => {
    await renderApp('/settings/notifications', notificationsApi(), ['auditor']);
    expect(await screen.findByRole('table', { name: 'Notification channels' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Send test' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Add channel' })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Turn (on|off) / })).toBeNull();
  });

  it('shows viewers only who may read, and asks the API nothing', async () => {
    const api = notificationsApi();
    await renderApp('/settings/notifications', api, ['viewer']);
    expect(await screen.findByText('Notification settings are shown to auditors and admins.')).toBeTruthy();
    expect(api.requests.filter((request) => request.url.pathname.startsWith('/notifications'))).toEqual([]);
  });
});
