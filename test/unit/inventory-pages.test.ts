/**
 * The inventory listing from name- and expiry-ordered index partitions (inventory-pages.ts)
 * returns, page by page, exactly what the in-memory reference (`queryCredentials` over the whole
 * inventory) returns for the same filters, reads only what a page needs when the index applies
 * the filter, takes its totals from the counters, and refuses cursors it did not issue.
 */
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/core/credentials/credential.js';
import {
  DEFAULT_THRESHOLDS,
  evaluateFindings,
  findingRule,
  type FindingRuleId,
  type Severity,
} from '../../lambdas/core/credentials/findings.js';
import {
  countAll,
  EXPIRY_FINDING_RULES,
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
import { credential, DAY, NOW } from '../support/credentials.js';
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

/**
 * `count` credentials whose expiries run from 12 days ago to 40 days ahead, several on the same
 * instant, with the findings the rules give them at NOW (some expired, some expiring, some
 * neither, some without an expiry); a few also carry an IAM finding.
 */
function expiringInventory(count: number): Credential[] {
  return Array.from({ length: count }, (_, i) => {
    const base = credential({
      id: `cr_${i.toString(16).padStart(24, '0')}`,
      tenant: TENANT,
      name: `token-${String(i % 31).padStart(2, '0')}`,
      type: TYPES[i % TYPES.length],
      expiresAt:
        i % 9 === 0 ? undefined : new Date(NOW.getTime() + (((i * 5) % 53) - 12) * DAY).toISOString(),
    });
    const findings = [
      ...evaluateFindings(base, { now: NOW, thresholds: DEFAULT_THRESHOLDS }),
      ...(i % 4 === 0
        ? [{ ruleId: 'iam-access-key-too-old' as const, severity: 'high' as const, since: NOW.toISOString() }]
        : []),
    ];
    return { ...base, findings };
  });
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

/**
 * Pages of `limit` through `items` list exactly what the in-memory reference lists in one go,
 * with its total; the reference must need more than one page.
 */
async function expectPagesAsReference(
  items: readonly Credential[],
  raw: RawCredentialQuery,
  limit: number,
): Promise<void> {
  // Prepare
  const { source } = countingSource(items);
  const reference = queryCredentials(items, parseCredentialQuery({ ...raw, limit: 500 }));

  // Act
  const ids = await everyPage(source, { ...raw, limit: String(limit) });
  const first = await listInventoryPage(
    source,
    TENANT,
    parseCredentialQuery({ ...raw, limit: String(limit) }),
  );

  // Assess
  expect(reference.items.length).toBeGreaterThan(limit);
  expect(ids).toEqual(reference.items.map((c) => c.id));
  expect(first.total).toBe(reference.total);
}

const EXPIRY_QUERIES: readonly RawCredentialQuery[] = [
  { finding: 'credential-expiring-imminent,credential-expiring-soon', sort: 'expiresAt' },
  { finding: EXPIRY_FINDING_RULES.join(','), sort: 'expiresAt' },
  { finding: 'credential-expiring-notice', sort: '-expiresAt' },
  { finding: 'credential-expired,credential-expiring-notice', sort: 'expiresAt', type: 'api-token' },
  { finding: 'credential-expiring-soon', sort: 'expiresAt', q: 'token-1' },
  // Not served by the expiry partitions: a non-expiry finding, another sort, no finding filter.
  { finding: 'credential-expired,iam-access-key-too-old', sort: 'expiresAt' },
  { finding: 'credential-expired', sort: 'name' },
  { sort: '-expiresAt' },
];

describe('listInventoryPage', () => {
  it.each(EXPIRY_QUERIES)('pages by expiry exactly as the in-memory reference for %o', async (raw) => {
    await expectPagesAsReference(expiringInventory(300), raw, 6);
  });

  it('reads one page plus one item per expiry partition for an expiry listing, whatever the inventory', async () => {
    // Prepare: the overview's question over 1,000 and 10,000 credentials.
    const reads: number[] = [];
    const totals: number[] = [];
    for (const size of [1_000, 10_000]) {
      const { source, read } = countingSource(expiringInventory(size));

      // Act
      const page = await listInventoryPage(
        source,
        TENANT,
        parseCredentialQuery({
          limit: '5',
          finding: 'credential-expiring-imminent,credential-expiring-soon',
          sort: 'expiresAt',
        }),
      );
      reads.push(read());
      totals.push(page.total);
      expect(page.items).toHaveLength(5);
    }

    // Assess: two partitions, six items each; the totals came from the counters.
    expect(reads).toEqual([12, 12]);
    expect(totals[1]).toBeGreaterThan(totals[0] ?? 0);
  });

  it('plans expiry listings over the expiry partitions, counted when the finding filter is alone', () => {
    // Act
    const alone = planPartitions(
      parseCredentialQuery({ finding: 'credential-expired,credential-expiring-notice', sort: 'expiresAt' }),
    );
    const combined = planPartitions(
      parseCredentialQuery({ finding: 'credential-expired', sort: '-expiresAt', owner: 'ops' }),
    );
    const byName = planPartitions(parseCredentialQuery({ finding: 'credential-expired' }));

    // Assess
    expect(alone).toEqual({
      partitions: [
        { dimension: 'expiry', value: 'credential-expired' },
        { dimension: 'expiry', value: 'credential-expiring-notice' },
      ],
      order: 'expiry',
      countKeys: ['expiry#credential-expired', 'expiry#credential-expiring-notice'],
    });
    expect(combined).toMatchObject({ order: 'expiry', countKeys: undefined });
    expect(byName).toMatchObject({ order: 'name', partitions: [{ dimension: 'all', value: '' }] });
  });

  it('has expiry findings that never hold together, so their partitions are disjoint', () => {
    // Prepare: expiries from 40 days ago to 40 days ahead, hour by hour, under several thresholds
    // (the schema keeps critical <= warning <= notice).
    const rules = EXPIRY_FINDING_RULES.map((id) => findingRule(id));
    const thresholdSets = [
      DEFAULT_THRESHOLDS,
      { ...DEFAULT_THRESHOLDS, expiryCriticalDays: 3, expiryWarningDays: 3, expiryNoticeDays: 3 },
      { ...DEFAULT_THRESHOLDS, expiryCriticalDays: 0, expiryWarningDays: 10, expiryNoticeDays: 60 },
    ];
    let matched = 0;

    // Act + Assess
    for (const thresholds of thresholdSets) {
      for (let hours = -40 * 24; hours <= 40 * 24; hours += 1) {
        const subject = credential({ expiresAt: new Date(NOW.getTime() + hours * 3_600_000).toISOString() });
        const holding = rules.filter((rule) => rule?.matches(subject, { now: NOW, thresholds }) === true);
        expect(holding.length).toBeLessThanOrEqual(1);
        matched += holding.length;
      }
    }
    expect(matched).toBeGreaterThan(1000);
  });

  it.each(QUERIES)('pages through exactly what the in-memory reference lists for %o', async (raw) => {
    await expectPagesAsReference(inventory(97), raw, 7);
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
