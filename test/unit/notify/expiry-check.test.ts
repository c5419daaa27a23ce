/** The expiry check: reads the expiry index page by page and publishes events the shared schemas accept. */
import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../lambdas/core/events.js';
import { type ExpiryCandidate, ExpiryCheck, type ExpiryIndex } from '../../../lambdas/core/notify/expiry.js';
import { validatingPublisher } from '../../../lambdas/shared/events.js';

const NOW = new Date('2026-12-06T12:00:00.000Z');
const at = (days: number): string => new Date(NOW.getTime() + days * 86_400_000).toISOString();
const candidate = (n: number, over: Partial<ExpiryCandidate>): ExpiryCandidate => ({
  tenant: n % 2 === 0 ? 'a' : 'b',
  credentialId: `cr_${n.toString(16).padStart(24, '0')}`,
  credentialType: 'api-token',
  credentialName: `token ${n}`,
  owner: 'owner@example.com',
  expiresAt: undefined,
  rotationDueAt: undefined,
  expiryThresholds: undefined,
  ...over,
});

describe('ExpiryCheck', () => {
  it('publishes expiring, expired and overdue events, honouring tenant and credential thresholds', async () => {
    // Prepare
    const pages: ExpiryCandidate[][] = [
      [
        candidate(1, { expiresAt: at(1) }),
        candidate(2, { expiresAt: at(7) }),
        candidate(3, { expiresAt: at(30) }),
      ],
      [
        candidate(4, { expiresAt: at(-1) }),
        candidate(5, { rotationDueAt: at(-3) }),
        candidate(6, { expiresAt: at(20), expiryThresholds: [21] }),
      ],
      [candidate(8, { expiresAt: at(14) })],
    ];
    const asked: string[] = [];
    const index: ExpiryIndex = {
      async *dueBefore(before) {
        asked.push(before);
        for (const page of pages) yield page;
      },
    };
    const published: DomainEvent[] = [];
    const publisher = validatingPublisher({
      publish: (events) => (published.push(...events), Promise.resolve()),
    });
    const check = new ExpiryCheck(index, publisher, (tenant) =>
      Promise.resolve(
        tenant === 'a' ? { thresholds: [14, 7, 1], accessKeyMaxAgeDays: undefined } : undefined,
      ),
    );

    // Act
    const run = await check.run(NOW);

    // Assess
    expect(run).toEqual({ candidates: 7, expiring: 5, expired: 1, overdue: 1 });
    expect(asked).toHaveLength(1);
    const summary = published.map((event) => [
      event.type,
      event.detail.credentialName,
      event.detail.threshold ?? null,
    ]);
    expect(summary).toEqual([
      ['credential.expiring', 'token 1', 1],
      ['credential.expiring', 'token 2', 7],
      ['credential.expiring', 'token 3', 30],
      ['credential.expired', 'token 4', null],
      ['rotation.overdue', 'token 5', null],
      ['credential.expiring', 'token 6', 21],
      ['credential.expiring', 'token 8', 14],
    ]);
  });

  it('publishes nothing for credentials further away than every threshold', async () => {
    const index: ExpiryIndex = {
      async *dueBefore() {
        yield [candidate(9, { expiresAt: at(45) })];
      },
    };
    const published: DomainEvent[] = [];
    const run = await new ExpiryCheck(
      index,
      { publish: (events) => (published.push(...events), Promise.resolve()) },
      () => Promise.resolve(undefined),
    ).run(NOW);
    expect(run).toEqual({ candidates: 1, expiring: 0, expired: 0, overdue: 0 });
    expect(published).toEqual([]);
  });
});
