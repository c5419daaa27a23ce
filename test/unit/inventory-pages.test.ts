/**
 * The inventory listing from name-ordered index partitions (inventory-pages.ts) returns, page by
 * page, exactly what the in-memory reference (`queryCredentials` over the whole inventory) returns
 * for the same filters, reads only what a page needs when the index applies the filter, takes its
 * totals from the counters, and refuses cursors it did not issue.
 */
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/core/credentials/credential.js';
import type { FindingRuleId, Severity } from '../../lambdas/core/credentials/findings.js';
import {
  countAll,
  type InventoryPageSource,
  listInventoryPage,
  planPartitions,
} from '../../lambdas/core/credentials/inventory-pages.js';
import {
  parseCredentialQuery,
  queryCredentials,
  type RawCredentialQuery,
} from '../../lambdas/core/credentials/inventory-query.js';
import { ValidationError } from '../../lambdas/core/errors.js';
import { credential } from '../support/credentials.js';
import { memoryPageSource } from '../support/memory-inventory.js';

const TENANT = 'acme';
const TYPES = ['api-token', 'github-token', 'aws-iam-access-key'] as const;
const STATUSES = ['healthy', 'expiring', 'overdue'] as const;
const FINDINGS: readonly (readonly { ruleId: FindingRuleId; severity: Severity }[])[] = [
  [],
  [{ ruleId: 'iam-access-key-too-old', severity: 'high' }],
  [
    { ruleId: 'iam-access-key-too-old', severity: 'high' },
    { ruleId: 'credential-expiring-notice', severity: 'low' },
  ],
  [{ ruleId: 'credential-expiring-notice', severity: 'low' }],
];

/** A deterministic inventory of `count` credentials with names that collide case-insensitively. */
function inventory(count: number): Credential[] {
  return Array.from({ length: count }, (_, i) =>
    credential({
      id: `cr_${i.toString(16).padStart(24, '0')}`,
      tenant: TENANT,
      name: `${i % 2 === 0 ? 'Svc' : 'svc'}-${String((i * 7) % 23).padStart(2, '0')}`,
      type: TYPES[i % TYPES.length],
      status: STATUSES[(i >> 1) % STATUSES.length],
      source: i % 5 === 0 ? 'discovered' : 'managed',
      owner: i % 4 === 0 ? undefined : `Team-${i % 3}`,
      tags: { env: i % 3 === 0 ? 'prod' : 'dev' },
      findings: (FINDINGS[i % FINDINGS.length] ?? []).map((f) => ({
        ...f,
        since: '2026-03-01T00:00:00.000Z',
      })),
    }),
  );
}

/** A page source over `items` that counts the credentials it hands out. */
function countingSource(items: readonly Credential[]): { source: InventoryPageSource; read: () => number } {
  const inner = memoryPageSource(async (tenant) => items.filter((c) => c.tenant === tenant));
  let read = 0;
  return {
    source: {
      ...inner,
      readPartition: async (tenant, partition, options) => {
        const chunk = await inner.readPartition(tenant, partition, options);
        read += chunk.items.length;
        return chunk;
      },
    },
    read: () => read,
  };
}

async function everyPage(source: InventoryPageSource, raw: RawCredentialQuery): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages += 1) {
    const page = await listInventoryPage(source, TENANT, parseCredentialQuery({ ...raw, cursor }));
    ids.push(...page.items.map((c) => c.id));
    cursor = page.cursor;
    if (cursor === undefined) return ids;
  }
  throw new Error('More than 100 pages');
}

const QUERIES: readonly RawCredentialQuery[] = [
  {},
  { sort: '-name' },
  { type: 'api-token' },
  { type: 'api-token,github-token', sort: '-name' },
  { status: 'overdue' },
  { source: 'discovered' },
  { owner: 'team-1' },
  { severity: 'low' },
  { severity: 'high,critical' },
  { type: 'github-token', status: 'healthy,overdue' },
  { tag: 'env=prod' },
  { q: 'svc-1' },
  { owner: 'TEAM-2', severity: 'high', q: 'svc' },
  { sort: 'type' },
  { sort: '-severity', status: 'healthy,overdue' },
];

describe('listInventoryPage', () => {
  it.each(QUERIES)('pages through exactly what the in-memory reference lists for %o', async (raw) => {
    // Prepare
    const items = inventory(97);
    const { source } = countingSource(items);
    const reference = queryCredentials(items, parseCredentialQuery({ ...raw, limit: 500 }));

    // Act
    const ids = await everyPage(source, { ...raw, limit: '7' });
    const first = await listInventoryPage(source, TENANT, parseCredentialQuery({ ...raw, limit: '7' }));

    // Assess
    expect(reference.items.length).toBeGreaterThan(0);
    expect(ids).toEqual(reference.items.map((c) => c.id));
    expect(first.total).toBe(reference.total);
  });

  it('reads one page plus one item per partition when the index applies every filter', async () => {
    // Prepare: the same query over 1,000 and 10,000 credentials.
    const reads: number[] = [];
    for (const size of [1_000, 10_000]) {
      const { source, read } = countingSource(inventory(size));

      // Act
      const page = await listInventoryPage(
        source,
        TENANT,
        parseCredentialQuery({ limit: '50', type: 'api-token' }),
      );
      reads.push(read());
      expect(page.items).toHaveLength(50);
    }

    // Assess
    expect(reads).toEqual([51, 51]);
  });

  it('takes totals from the counters when one indexed filter is all there is', async () => {
    // Prepare: counters that disagree with the items show where the total came from.
    const items = inventory(20);
    const inner = memoryPageSource(async () => items);
    const source: InventoryPageSource = {
      ...inner,
      readCounts: async () => ({ ...countAll(items), all: 1234, 'status#overdue': 77 }),
    };

    // Act
    const all = await listInventoryPage(source, TENANT, parseCredentialQuery({}));
    const overdue = await listInventoryPage(source, TENANT, parseCredentialQuery({ status: 'overdue' }));
    const combined = await listInventoryPage(
      source,
      TENANT,
      parseCredentialQuery({ status: 'overdue', q: 'svc' }),
    );

    // Assess: the combination is counted from the items instead.
    expect(all.total).toBe(1234);
    expect(overdue.total).toBe(77);
    expect(combined.total).toBe(items.filter((c) => c.status === 'overdue').length);
  });

  it('rebuilds the counters once when the tenant has none', async () => {
    // Prepare
    const items = inventory(10);
    const inner = memoryPageSource(async () => items);
    let rebuilt = 0;
    const source: InventoryPageSource = {
      ...inner,
      readCounts: async () => undefined,
      rebuildCounts: async (tenant) => {
        rebuilt += 1;
        return inner.rebuildCounts(tenant);
      },
    };

    // Act
    const page = await listInventoryPage(source, TENANT, parseCredentialQuery({}));

    // Assess
    expect(rebuilt).toBe(1);
    expect(page.total).toBe(10);
  });

  it.each([
    ['not base64 JSON', '!!!'],
    ['JSON without a name key', Buffer.from('{"f":"x"}').toString('base64url')],
    ['a key of another form', Buffer.from('{"f":"x","n":"plain"}').toString('base64url')],
  ])('answers a cursor that is %s with a ValidationError', async (_label, cursor) => {
    // Prepare
    const { source } = countingSource(inventory(10));

    // Act
    const listing = listInventoryPage(source, TENANT, parseCredentialQuery({ cursor }));

    // Assess
    await expect(listing).rejects.toBeInstanceOf(ValidationError);
  });

  it('refuses a cursor of another listing', async () => {
    // Prepare
    const { source } = countingSource(inventory(30));
    const page = await listInventoryPage(source, TENANT, parseCredentialQuery({ limit: '5' }));

    // Act
    const other = listInventoryPage(
      source,
      TENANT,
      parseCredentialQuery({ limit: '5', type: 'api-token', cursor: page.cursor }),
    );

    // Assess
    await expect(other).rejects.toMatchObject({ name: 'ValidationError', details: { parameter: 'cursor' } });
  });

  it('plans severity filters over the partitions of that severity and above', () => {
    // Act
    const plan = planPartitions(parseCredentialQuery({ severity: 'medium' }));

    // Assess
    expect(plan.partitions.map((p) => p.value)).toEqual(['critical', 'high', 'medium']);
    expect(plan.countKeys).toEqual(['severity#medium']);
  });
});
