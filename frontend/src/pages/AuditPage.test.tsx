import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { FakeApi } from '../test/fake-api.js';
import { renderApp } from '../test/render-app.js';

const EVENT = {
  eventId: 'evt-7',
  tenant: 'default',
  time: '2026-11-30T09:00:00.000Z',
  actor: { kind: 'user', id: 'bob', sourceIp: '10.0.0.7' },
  action: 'secret.read',
  target: { path: 'prod/db/password', version: 2 },
  outcome: 'denied',
  reason: 'Forbidden',
  requestId: 'req-evt-7',
};

function auditApi(verify: unknown) {
  return new FakeApi()
    .on('GET', '/audit', { body: { events: [EVENT], nextCursor: 'older' } })
    .on('GET', '/audit/verify', { body: verify })
    .on('GET', '/audit/export', { body: { header: true } });
}

/** What GET /audit/verify answers for an intact chain of `checked` entries from seq 1. */
function intact(checked: number, digestsVerified: number) {
  return { ok: true, checked, firstSeq: 1, lastSeq: checked, digestsVerified, firstBad: null };
}

describe('Audit page', () => {
  it('queries by the filters in the URL and shows an event’s detail', async () => {
    const user = userEvent.setup();
    const api = auditApi(intact(3, 0));
    const { router } = await renderApp('/audit?actor=bob&outcome=denied', api, ['auditor']);

    const table = await screen.findByRole('table', { name: 'Audit events, newest first' });
    await within(table).findByText('prod/db/password v2');
    expect(Object.fromEntries(api.requestsTo('/audit')[0]?.url.searchParams ?? [])).toEqual({
      actor: 'bob',
      outcome: 'denied',
      limit: '50',
    });
    await user.click(within(table).getByRole('button', { name: /Details/ }));
    const detail = screen.getByRole('region', { name: 'Event detail' });
    expect(within(detail).getByText('req-evt-7')).toBeTruthy();
    expect(within(detail).getByText('Forbidden')).toBeTruthy();

    await user.type(screen.getByLabelText('Action'), 'secret.read');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await waitFor(() =>
      expect(router.state.location.search).toEqual({
        actor: 'bob',
        outcome: 'denied',
        action: 'secret.read',
      }),
    );
  });

  it('names a user by the username the event recorded, and filters by the actor’s id from the detail', async () => {
    // Prepare
    const user = userEvent.setup();
    const named = {
      ...EVENT,
      actor: { kind: 'user', id: '83f007a2-5c1e-4c1b-9f3e-1f2a3b4c5d6e', name: 'alice' },
    };
    const api = new FakeApi().on('GET', '/audit', { body: { events: [named], nextCursor: null } });
    const { router } = await renderApp('/audit', api, ['auditor']);
    const table = await screen.findByRole('table', { name: 'Audit events, newest first' });

    // Act
    const cell = await within(table).findByText('alice');
    await user.click(within(table).getByRole('button', { name: /Details/ }));
    const detail = screen.getByRole('region', { name: 'Event detail' });
    await user.click(within(detail).getByRole('link', { name: 'Only this actor’s events' }));

    // Assess: the id is there for whoever needs it, and the filter takes it.
    expect(cell.getAttribute('title')).toBe(named.actor.id);
    expect(within(detail).getByText(`alice (user ${named.actor.id})`)).toBeTruthy();
    await waitFor(() => expect(router.state.location.search).toEqual({ actor: named.actor.id }));
  });

  it('"Verify chain" reports the first bad sequence number and why', async () => {
    const user = userEvent.setup();
    await renderApp(
      '/audit',
      auditApi({
        ok: false,
        checked: 56,
        firstSeq: 1,
        lastSeq: 56,
        digestsVerified: 1,
        firstBad: { seq: 57, reason: 'modified' },
      }),
      ['admin'],
    );

    await user.click(await screen.findByRole('button', { name: 'Verify chain' }));

    const region = screen.getByRole('region', { name: 'Chain integrity' });
    await waitFor(() =>
      expect(within(region).getByRole('status').textContent).toMatch(
        /not intact.*first bad seq 57: modified \(56 entries verified before it\)/,
      ),
    );
  });

  it.each([
    {
      when: 'names its range and the signed digests verified',
      answer: intact(812, 9),
      says: /intact 812 entries \(seq 1–812\), 9 signed digests verified\.$/,
    },
    {
      when: 'says when no signed digest covers the entries yet',
      answer: intact(5, 0),
      says: /0 signed digests verified\. No signed digest covers them yet/,
    },
  ])('"Verify chain" on an intact chain $when', async ({ answer, says }) => {
    const user = userEvent.setup();
    await renderApp('/audit', auditApi(answer), ['auditor']);

    await user.click(await screen.findByRole('button', { name: 'Verify chain' }));

    const status = within(screen.getByRole('region', { name: 'Chain integrity' })).getByRole('status');
    await waitFor(() => expect(status.textContent).toMatch(says));
  });

  it('exports NDJSON and CSV through the API with the session token', async () => {
    const user = userEvent.setup();
    const api = auditApi(intact(1, 0));
    const createObjectURL = vi.fn(() => 'blob:export');
    Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() });
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => undefined);
    await renderApp('/audit', api, ['auditor']);

    await user.click(await screen.findByRole('button', { name: 'Export NDJSON' }));
    await screen.findByText('The NDJSON export has been downloaded.');
    await user.click(screen.getByRole('button', { name: 'Export CSV' }));
    await screen.findByText('The CSV export has been downloaded.');

    const exports = api.requestsTo('/audit/export');
    expect(exports.map((request) => request.url.searchParams.get('format'))).toEqual(['ndjson', 'csv']);
    expect(exports.map((request) => request.headers.get('accept'))).toEqual([
      'application/x-ndjson',
      'text/csv',
    ]);
    expect(exports.every((request) => request.headers.get('authorization') === 'Bearer access-1')).toBe(true);
    expect(click).toHaveBeenCalledTimes(2);
  });

  it('tells viewers the audit log is not theirs to see, without asking the API', async () => {
    const api = auditApi(intact(1, 0));
    await renderApp('/audit', api, ['viewer']);

    expect(await screen.findByText(/The audit log is shown to auditors and admins/)).toBeTruthy();
    expect(api.requestsTo('/audit')).toHaveLength(0);
  });
});
