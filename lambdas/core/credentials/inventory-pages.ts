/**
 * Listing the inventory one page at a time from name-ordered index partitions, so that the cost
 * of a page does not grow with the tenant's inventory (issue 13, item 3).
 *
 * Every credential sits in a few partitions of the store's name-ordered indexes: the tenant's
 * whole inventory, its type, its status, its source, its owner (if any) and its worst severity
 * (if it has findings). A query with the default sort (`name`, either direction) reads the
 * partitions of its most selective indexed filter, merges them in name order, applies the other
 * filters (tag, account, finding, text, and the rest) to what it read, and stops as soon as the
 * page is full. `total` comes from per-tenant counters kept beside the items when the query has a
 * single indexed filter (or none); other combinations count over the narrowed partitions.
 *
 * One family of partitions is ordered by expiry instead (`expiresAt`, then id): one per expiry
 * finding (expired, expiring imminent, soon, notice). A credential holds at most one of those
 * findings (their windows do not overlap), so the partitions are disjoint, and a query for some
 * of them sorted by `expiresAt` (what the dashboard's overview asks) is served like a name-sorted
 * one: merged in expiry order, stopped when the page is full, counted from the counters. Every
 * other sort order still sorts the narrowed partitions in memory (`queryCredentials`).
 */
import { ValidationError } from '../errors.js';
import type { Credential } from './credential.js';
import { type FindingRuleId, type Severity, SEVERITIES, severityRank, worstSeverity } from './findings.js';
import {
  type CredentialPage,
  type CredentialQuery,
  matchesQuery,
  queryCredentials,
  queryFingerprint,
} from './inventory-query.js';

export const INVENTORY_DIMENSIONS = [
  'all',
  'type',
  'status',
  'source',
  'owner',
  'severity',
  'expiry',
] as const;
export type InventoryDimension = (typeof INVENTORY_DIMENSIONS)[number];

/**
 * The expiry findings: their windows do not overlap (expired; then up to the urgent, warning and
 * notice thresholds, which the thresholds' schema keeps in that order), so a credential holds at
 * most one of them, and each requires an `expiresAt`.
 */
export const EXPIRY_FINDING_RULES = [
  'credential-expired',
  'credential-expiring-imminent',
  'credential-expiring-soon',
  'credential-expiring-notice',
] as const satisfies readonly FindingRuleId[];
export type ExpiryFindingRule = (typeof EXPIRY_FINDING_RULES)[number];

function isExpiryFindingRule(ruleId: string): ruleId is ExpiryFindingRule {
  return (EXPIRY_FINDING_RULES as readonly string[]).includes(ruleId);
}

/** How a partition is ordered: by `nameKey`, or (the `expiry` dimension) by `expiryKey`. */
export type InventoryOrder = 'name' | 'expiry';

export function orderOf(dimension: InventoryDimension): InventoryOrder {
  return dimension === 'expiry' ? 'expiry' : 'name';
}

/**
 * One partition of a name- or expiry-ordered index; `value` is '' for `all`, lower-case for
 * `owner`, an expiry finding rule for `expiry`.
 */
export interface InventoryPartition {
  readonly dimension: InventoryDimension;
  readonly value: string;
}

/** Counters per partition key (`countKey`), kept by the store with every write. */
export type InventoryCounts = Readonly<Record<string, number>>;

/** A chunk of one partition in name order, after a name key. */
export interface PartitionChunk {
  readonly items: readonly Credential[];
  /** True when the partition holds nothing beyond the last item returned. */
  readonly exhausted: boolean;
}

/** What the listing needs from the store, beyond the `CredentialStore` basics. */
export interface InventoryPageSource {
  readPartition(
    tenant: string,
    partition: InventoryPartition,
    options: { readonly after: string | undefined; readonly limit: number; readonly descending: boolean },
  ): Promise<PartitionChunk>;
  /** The tenant's counters; undefined when none are kept yet (or they were dropped after a failure). */
  readCounts(tenant: string): Promise<InventoryCounts | undefined>;
  /**
   * Rebuilds the counters from every credential of the tenant, bringing items written before the
   * name-ordered indexes up to date on the way (a one-off migration per tenant). Returns them.
   */
  rebuildCounts(tenant: string): Promise<InventoryCounts>;
}

/** The sort key of the name-ordered indexes: the lower-cased name, then the id (as `sortValue`). */
export function nameKeyOf(credential: Pick<Credential, 'name' | 'id'>): string {
  // U+0001 sorts below every character a name may hold, so "ab" comes before "ab c".
  return `${credential.name.toLowerCase()}\u0001${credential.id}`;
}

/** The sort key of the expiry-ordered partitions: the expiry (ISO-8601, UTC), then the id. */
export function expiryKeyOf(credential: Pick<Credential, 'expiresAt' | 'id'>): string {
  return `${credential.expiresAt ?? ''}\u0001${credential.id}`;
}

/** The key a partition of `order` sorts `credential` by. */
export function orderKeyOf(order: InventoryOrder, credential: Credential): string {
  return order === 'expiry' ? expiryKeyOf(credential) : nameKeyOf(credential);
}

/** The expiry finding a credential holds, if any (and it has an expiry to order it by). */
function expiryFindingOf(credential: Credential): ExpiryFindingRule | undefined {
  if (credential.expiresAt === undefined) return undefined;
  return credential.findings.map((finding) => finding.ruleId).find(isExpiryFindingRule);
}

/** The index partitions holding a credential, besides `all`. */
export function partitionsOf(credential: Credential): InventoryPartition[] {
  const worst = worstSeverity(credential.findings);
  const expiry = expiryFindingOf(credential);
  return [
    { dimension: 'type', value: credential.type },
    { dimension: 'status', value: credential.status },
    { dimension: 'source', value: credential.source },
    ...(credential.owner === undefined
      ? []
      : [{ dimension: 'owner' as const, value: credential.owner.toLowerCase() }]),
    ...(worst === undefined ? [] : [{ dimension: 'severity' as const, value: worst }]),
    ...(expiry === undefined ? [] : [{ dimension: 'expiry' as const, value: expiry }]),
  ];
}

/** The counter a partition's size is kept under (severity: credentials with any finding of it). */
export function countKey(dimension: InventoryDimension, value: string): string {
  return dimension === 'all' ? 'all' : `${dimension}#${value}`;
}

/** The counters a credential adds one to. */
export function countKeysOf(credential: Credential): string[] {
  const severities = new Set(credential.findings.map((finding) => finding.severity));
  return [
    'all',
    ...partitionsOf(credential)
      .filter((partition) => partition.dimension !== 'severity')
      .map((partition) => countKey(partition.dimension, partition.value)),
    ...[...severities].map((severity) => countKey('severity', severity)),
  ];
}

/** How the counters change when `before` becomes `after` (undefined: absent); zero entries left out. */
export function countDelta(
  before: Credential | undefined,
  after: Credential | undefined,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const key of before === undefined ? [] : countKeysOf(before)) delta[key] = (delta[key] ?? 0) - 1;
  for (const key of after === undefined ? [] : countKeysOf(after)) delta[key] = (delta[key] ?? 0) + 1;
  return Object.fromEntries(Object.entries(delta).filter(([, change]) => change !== 0));
}

/** The counters of a whole inventory. */
export function countAll(credentials: readonly Credential[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const credential of credentials) {
    for (const key of countKeysOf(credential)) counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

interface Plan {
  /** Partitions of one dimension, so of one order. */
  readonly partitions: readonly InventoryPartition[];
  readonly order: InventoryOrder;
  /** Counter keys whose sum is the total, when the partitions' filter is the only one. */
  readonly countKeys: readonly string[] | undefined;
}

/**
 * Picks the partitions to read: the expiry partitions of the expiry findings a query sorted by
 * `expiresAt` asks for; otherwise the most selective indexed filter, or the whole inventory.
 */
export function planPartitions(query: CredentialQuery): Plan {
  const expiryFindings = query.findings;
  if (
    query.sort.field === 'expiresAt' &&
    expiryFindings !== undefined &&
    expiryFindings.every((ruleId) => isExpiryFindingRule(ruleId))
  ) {
    const onlyFilter =
      query.types === undefined &&
      query.statuses === undefined &&
      query.severities === undefined &&
      query.sources === undefined &&
      query.owner === undefined &&
      query.tag === undefined &&
      query.account === undefined &&
      query.text === undefined;
    return {
      partitions: expiryFindings.map((value) => ({ dimension: 'expiry', value })),
      order: 'expiry',
      // The partitions are disjoint, so their counters add up.
      countKeys: onlyFilter ? expiryFindings.map((value) => countKey('expiry', value)) : undefined,
    };
  }
  const residual =
    query.findings !== undefined ||
    query.tag !== undefined ||
    query.account !== undefined ||
    query.text !== undefined;
  const indexed = [
    query.owner === undefined
      ? undefined
      : { dimension: 'owner' as const, values: [query.owner.toLowerCase()] },
    query.types === undefined ? undefined : { dimension: 'type' as const, values: [...query.types] },
    query.statuses === undefined ? undefined : { dimension: 'status' as const, values: [...query.statuses] },
    query.sources === undefined ? undefined : { dimension: 'source' as const, values: [...query.sources] },
  ].filter((filter) => filter !== undefined);
  const severities = query.severities;
  const only = indexed.length + (severities === undefined ? 0 : 1) === 1 && !residual;
  const first = indexed[0];
  if (first !== undefined) {
    return {
      partitions: first.values.map((value) => ({ dimension: first.dimension, value })),
      order: 'name',
      countKeys: only ? first.values.map((value) => countKey(first.dimension, value)) : undefined,
    };
  }
  if (severities !== undefined) {
    // A credential with a finding of severity s has a worst severity of s or above.
    const lowest = Math.min(...severities.map((severity) => severityRank(severity)));
    const worstValues: Severity[] = SEVERITIES.filter((severity) => severityRank(severity) >= lowest);
    return {
      partitions: worstValues.map((value) => ({ dimension: 'severity', value })),
      order: 'name',
      // Counters of different severities overlap, so only one value can be summed.
      countKeys: only && severities.length === 1 ? [countKey('severity', severities[0] ?? '')] : undefined,
    };
  }
  return {
    partitions: [{ dimension: 'all', value: '' }],
    order: 'name',
    countKeys: residual ? undefined : ['all'],
  };
}

const MAX_ORDER_KEY_LENGTH = 1200;

/** A cursor of an index-ordered listing: the order key of the page's last item (name or expiry). */
export function encodeOrderCursor(query: CredentialQuery, orderKey: string): string {
  return Buffer.from(JSON.stringify({ f: queryFingerprint(query), n: orderKey })).toString('base64url');
}

function cursorError(message: string, cause?: unknown): ValidationError {
  return new ValidationError(message, { cause, details: { parameter: 'cursor' } });
}

/** The order key a cursor continues after; a `ValidationError` (400) for anything else. */
export function decodeOrderCursor(query: CredentialQuery, cursor: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error: unknown) {
    throw cursorError('Query parameter cursor is not a cursor this API issued', error);
  }
  const candidate = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
    f?: unknown;
    n?: unknown;
  };
  const key = candidate.n;
  if (typeof key !== 'string' || !key.includes('\u0001') || key.length > MAX_ORDER_KEY_LENGTH) {
    throw cursorError('Query parameter cursor is not a cursor this API issued');
  }
  if (candidate.f !== queryFingerprint(query)) {
    throw cursorError('Query parameter cursor belongs to a listing with other filters or sort order');
  }
  return key;
}

/** A partition being read in chunks, for the merge. */
class PartitionReader {
  private buffer: Credential[] = [];
  private after: string | undefined;
  private exhausted = false;

  constructor(
    private readonly source: InventoryPageSource,
    private readonly tenant: string,
    private readonly partition: InventoryPartition,
    after: string | undefined,
    private readonly chunk: number,
    private readonly descending: boolean,
  ) {
    this.after = after;
  }

  private get order(): InventoryOrder {
    return orderOf(this.partition.dimension);
  }

  /** The next credential without taking it; undefined when the partition is done. */
  async peek(): Promise<Credential | undefined> {
    if (this.buffer.length === 0 && !this.exhausted) {
      const read = await this.source.readPartition(this.tenant, this.partition, {
        after: this.after,
        limit: this.chunk,
        descending: this.descending,
      });
      this.buffer = [...read.items];
      this.exhausted = read.exhausted || read.items.length === 0;
      const last = read.items.at(-1);
      if (last !== undefined) this.after = orderKeyOf(this.order, last);
    }
    return this.buffer[0];
  }

  take(): void {
    this.buffer.shift();
  }
}

/**
 * Reads credentials in their partitions' order (name or expiry; `partitions` are of one dimension)
 * merged, without duplicates, after `after`, keeping those `accept` takes, until `wanted` are
 * found or every partition is done.
 */
export async function readInOrder(
  source: InventoryPageSource,
  tenant: string,
  partitions: readonly InventoryPartition[],
  options: {
    readonly after: string | undefined;
    readonly descending: boolean;
    readonly wanted: number;
    readonly chunk: number;
    readonly accept: (credential: Credential) => boolean;
  },
): Promise<Credential[]> {
  const readers = partitions.map(
    (partition) =>
      new PartitionReader(source, tenant, partition, options.after, options.chunk, options.descending),
  );
  const order = orderOf(partitions[0]?.dimension ?? 'all');
  const found: Credential[] = [];
  let previous: string | undefined;
  while (found.length < options.wanted) {
    const heads = await Promise.all(readers.map((reader) => reader.peek()));
    let best = -1;
    let bestKey = '';
    heads.forEach((head, index) => {
      if (head === undefined) return;
      const key = orderKeyOf(order, head);
      if (best < 0 || (options.descending ? key > bestKey : key < bestKey)) {
        best = index;
        bestKey = key;
      }
    });
    if (best < 0) break;
    const credential = heads[best];
    readers[best]?.take();
    // Partitions of one dimension are disjoint; the check guards a credential moved meanwhile.
    if (credential === undefined || bestKey === previous) continue;
    previous = bestKey;
    if (options.accept(credential)) found.push(credential);
  }
  return found;
}

export function sumCounts(counts: InventoryCounts, keys: readonly string[]): number {
  return keys.reduce((total, key) => total + Math.max(0, counts[key] ?? 0), 0);
}

/** Chunk size when filters the index cannot apply may drop much of what is read. */
const FILTERED_CHUNK = 100;
/** Chunk size when a whole narrowed partition is read (other sorts, totals of combined filters). */
const FULL_READ_CHUNK = 500;

/**
 * One page of the inventory. Reads the counters first: when a tenant has none yet, rebuilding
 * them also brings items written before these indexes into them, so nothing is missed.
 */
export async function listInventoryPage(
  source: InventoryPageSource,
  tenant: string,
  query: CredentialQuery,
): Promise<CredentialPage> {
  const counts = (await source.readCounts(tenant)) ?? (await source.rebuildCounts(tenant));
  const plan = planPartitions(query);
  const accept = (credential: Credential): boolean => matchesQuery(credential, query);
  const ordered = plan.order === 'expiry' || query.sort.field === 'name';
  const readAll = (): Promise<Credential[]> =>
    readInOrder(source, tenant, plan.partitions, {
      after: undefined,
      descending: false,
      wanted: Number.POSITIVE_INFINITY,
      chunk: FULL_READ_CHUNK,
      accept,
    });
  if (!ordered) {
    // Other orders have no index: they sort the narrowed partitions in memory (O(partition)).
    return queryCredentials(await readAll(), query);
  }
  const after = query.cursor === undefined ? undefined : decodeOrderCursor(query, query.cursor);
  const [found, total] = await Promise.all([
    readInOrder(source, tenant, plan.partitions, {
      after,
      descending: query.sort.descending,
      wanted: query.limit + 1,
      chunk: plan.countKeys === undefined ? Math.max(query.limit + 1, FILTERED_CHUNK) : query.limit + 1,
      accept,
    }),
    plan.countKeys === undefined
      ? readAll().then((all) => all.length)
      : Promise.resolve(sumCounts(counts, plan.countKeys)),
  ]);
  const items = found.slice(0, query.limit);
  const last = items.at(-1);
  return {
    items,
    total,
    cursor:
      found.length > query.limit && last !== undefined
        ? encodeOrderCursor(query, orderKeyOf(plan.order, last))
        : undefined,
  };
}
