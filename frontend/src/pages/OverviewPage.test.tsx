import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { FakeApi, credential } from '../test/fake-api.js';
import { renderApp } from '../test/render-app.js';

const RULES = [
  { id: 'credential-expiring-imminent', thresholdDays: 1 },
  { id: 'credential-expiring-soon', thresholdDays: 7 },
  { id: 'credential-expiring-notice', thresholdDays: 30 },
].map((rule) => ({
  ...rule,
  severity: 'medium',
  title: rule.id,
  remediation: 'renew',
  appliesTo: 'any',
  enabled: true,
  equivalent: 'x',
}));

/** Answers every inventory query by its filter, with a total that tells the filters apart. */
function overviewApi() {
  const totals: Record<string, number> = { critical: 2, high: 5, medium: 11, low: 0 };
  return new FakeApi()
    .on('GET', '/discovery/rules', { body: { data: { rules: RULES } } })
    .on('GET', '/credentials', (request) => {
      const query = request.url.searchParams;
      const severity = query.get('severity');
      const total =
        severity !== null
          ? (totals[severity] ?? 0)
          : query.get('status') === 'overdue'
            ? 3
            : query.get('status') === 'failed'
              ? 1
              : query.get('finding')?.includes('notice') === true
                ? 9
                : query.get('finding') !== null
                  ? 4
                  : 0;
      return {
        body: {
          data: {
            credentials: [
              credential({ id: `c-${total}`, name: `credential ${total}`, expiresAt: '2026-12-03' }),
            ],
            total,
          },
        },
      };
    })
    .on('GET', '/audit', {
      body: {
        events: [
          {
            eventId: 'v1',
            tenant: 'default',
            time: '2026-11-30T08:00:00.000Z',
            actor: { kind: 'user', id: 'auditor-ann' },
            action: 'audit.verify',
            target: {},
            outcome: 'allowed',
          },
        ],
        nextCursor: null,
      },
    })
    .on('GET', '/audit/digests', {
      body: {
        digests: [
          {
            format: 'v1',
            tenant: 'default',
            fromSeq: 1,
            toSeq: 812,
            headHash: 'ab'.repeat(32),
            prevSignature: '',
            prevExpiresAt: 0,
            expiresAt: 0,
            createdAt: '2026-11-30T07:00:00.000Z',
            reconciledThrough: '2026-11-30T07:00:00.000Z',
            algorithm: 'ED25519',
            keyFingerprint: 'fp',
            signature: 'sig',
          },
        ],
      },
    });
}

describe('Overview page', () => {
  it('shows what needs attention from server-side filters with small pages', async () => {
    const api = overviewApi();

    await renderApp('/', api, ['admin']);

    expect(await screen.findByRole('heading', { level: 1, name: 'Overview' })).toBeTruthy();
    const week = await screen.findByRole('region', { name: 'Expiring within 7 days' });
    await waitFor(() => expect(within(week).getByText('4')).toBeTruthy());
    const month = screen.getByRole('region', { name: 'Expiring within 30 days' });
    await waitFor(() => expect(within(month).getByText('9')).toBeTruthy());
    await waitFor(() =>
      expect(within(screen.getByRole('region', { name: 'Overdue' })).getByText('3')).toBeTruthy(),
    );
    await waitFor(() =>
      expect(within(screen.getByRole('region', { name: 'Failed rotations' })).getByText('1')).toBeTruthy(),
    );
    const severities = screen.getByRole('region', { name: 'Open findings by severity' });
    await waitFor(() => expect(within(severities).getByText('11')).toBeTruthy());

    // Never the whole inventory: every inventory request carries a filter and a bounded limit.
    const queries = api
      .requestsTo('/credentials')
      .map((request) => Object.fromEntries(request.url.searchParams));
    expect(queries.length).toBeGreaterThan(0);
    for (const query of queries) {
      expect(Number(query.limit)).toBeLessThanOrEqual(200);
      expect(query.finding ?? query.status ?? query.severity ?? query.source).toBeDefined();
    }
    expect(queries).toContainEqual({
      finding: 'credential-expiring-imminent,credential-expiring-soon',
      sort: 'expiresAt',
      limit: '5',
    });
    // The 30-day panel and the calendar share one request.
    expect(queries.filter((query) => query.finding?.includes('notice') === true)).toEqual([
      {
        finding: 'credential-expiring-imminent,credential-expiring-soon,credential-expiring-notice',
        sort: 'expiresAt',
        limit: '200',
      },
    ]);
  });

  it('shows the audit chain status: last verification and last signed digest', async () => {
    await renderApp('/', overviewApi(), ['auditor']);

    const chain = await screen.findByRole('region', { name: 'Audit chain' });

    await waitFor(() => expect(within(chain).getByText(/auditor-ann/)).toBeTruthy());
    await waitFor(() => expect(within(chain).getByText(/seq 1–812/)).toBeTruthy());
  });

  it('labels the windows with the tenant’s own thresholds', async () => {
    const api = overviewApi();
    const rules = RULES.map((rule) =>
      rule.id === 'credential-expiring-soon' ? { ...rule, thresholdDays: 14 } : rule,
    );
    api.on('GET', '/discovery/rules', { body: { data: { rules } } });

    await renderApp('/', api, ['viewer']);

    expect(await screen.findByRole('region', { name: 'Expiring within 14 days' })).toBeTruthy();
    expect(screen.getByText('The audit chain status is shown to auditors and admins.')).toBeTruthy();
  });
});
