/**
 * Listing the inventory: filters (type, status, severity, finding, source, owner, tag, account,
 * text), a sort order and cursor pagination, as pure functions over the credentials the store
 * returned. Each filter takes a comma-separated list of values, any of which may match; filters
 * combine with AND. The cursor carries the last item's sort key and a fingerprint of the query,
 * so a page always continues the listing it came from and never repeats or skips an item that
 * did not change in between.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';
import {
  type Credential,
  CREDENTIAL_SOURCES,
  CREDENTIAL_STATUSES,
  CREDENTIAL_TYPES,
  type CredentialSource,
  type CredentialStatus,
  type CredentialType,
  effectiveTags,
} from './credential.js';
import {
  FINDING_RULE_IDS,
  type FindingRuleId,
  SEVERITIES,
  type Severity,
  severityRank,
  worstSeverity,
} from './findings.js';

export const CREDENTIAL_SORT_FIELDS = [
  'name',
  'type',
  'status',
  'severity',
  'createdAt',
  'lastUsedAt',
  'lastRotatedAt',
  'expiresAt',
  'updatedAt',
] as const;
export type CredentialSortField = (typeof CREDENTIAL_SORT_FIELDS)[number];

export const LIST_LIMITS = { defaultLimit: 50, maxLimit: 500, maxTextLength: 200 } as const;

export interface CredentialQuery {
  readonly types?: readonly CredentialType[] | undefined;
  readonly statuses?: readonly CredentialStatus[] | undefined;
  readonly severities?: readonly Severity[] | undefined;
  readonly findings?: readonly FindingRuleId[] | undefined;
  readonly sources?: readonly CredentialSource[] | undefined;
  /** Case-insensitive, exact. */
  readonly owner?: string | undefined;
  /** A tag key, and optionally the value it must have. */
  readonly tag?: { readonly key: string; readonly value: string | undefined } | undefined;
  readonly account?: string | undefined;
  /** Case-insensitive substring of name, id, description, owner, reference or tag values. */
  readonly text?: string | undefined;
  readonly sort: { readonly field: CredentialSortField; readonly descending: boolean };
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** The query parameters as they arrive (strings); every one optional. */
export interface RawCredentialQuery {
  readonly type?: string | undefined;
  readonly status?: string | undefined;
  readonly severity?: string | undefined;
  readonly finding?: string | undefined;
  readonly source?: string | undefined;
  readonly owner?: string | undefined;
  readonly tag?: string | undefined;
  readonly account?: string | undefined;
  readonly q?: string | undefined;
  readonly sort?: string | undefined;
  readonly limit?: string | number | undefined;
  readonly cursor?: string | undefined;
}

function listOf<T extends string>(
  raw: string | undefined,
  allowed: readonly T[],
  parameter: string,
): T[] | undefined {
  if (raw === undefined) return undefined;
  const values = raw
    .split(',')
    .map((value) => value.trim())
    .filter((value) => value.length > 0);
  if (values.length === 0) throw invalidParameter(parameter, 'must name at least one value');
  const unknown = values.filter((value) => !(allowed as readonly string[]).includes(value));
  if (unknown.length > 0) {
    throw invalidParameter(
      parameter,
      `has unknown values ${unknown.map((v) => JSON.stringify(v.slice(0, 64))).join(', ')}`,
      {
        allowed: [...allowed],
      },
    );
  }
  return [...new Set(values)] as T[];
}

function invalidParameter(
  parameter: string,
  problem: string,
  extra: Record<string, unknown> = {},
): ValidationError {
  return new ValidationError(`Query parameter ${parameter} ${problem}`, { details: { parameter, ...extra } });
}

function boundedText(raw: string | undefined, parameter: string): string | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (value.length === 0) throw invalidParameter(parameter, 'must not be empty');
  if (value.length > LIST_LIMITS.maxTextLength) {
    throw invalidParameter(parameter, `must be at most ${LIST_LIMITS.maxTextLength} characters`);
  }
  return value;
}

/** Checks every parameter; an unknown value is a `ValidationError` naming the parameter. */
export function parseCredentialQuery(raw: RawCredentialQuery): CredentialQuery {
  const sortRaw = raw.sort ?? 'name';
  const descending = sortRaw.startsWith('-');
  const field = descending ? sortRaw.slice(1) : sortRaw;
  if (!(CREDENTIAL_SORT_FIELDS as readonly string[]).includes(field)) {
    throw invalidParameter(
      'sort',
      `must be one of ${CREDENTIAL_SORT_FIELDS.join(', ')} (prefix - for descending)`,
    );
  }
  const limit = raw.limit === undefined ? LIST_LIMITS.defaultLimit : Number(raw.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMITS.maxLimit) {
    throw invalidParameter('limit', `must be a whole number from 1 to ${LIST_LIMITS.maxLimit}`);
  }
  const tagRaw = boundedText(raw.tag, 'tag');
  let tag: CredentialQuery['tag'];
  if (tagRaw !== undefined) {
    const at = tagRaw.indexOf('=');
    tag =
      at < 0 ? { key: tagRaw, value: undefined } : { key: tagRaw.slice(0, at), value: tagRaw.slice(at + 1) };
    if (tag.key.length === 0) throw invalidParameter('tag', 'must be key or key=value');
  }
  const account = raw.account?.trim();
  if (account !== undefined && !/^\d{12}$/.test(account))
    throw invalidParameter('account', 'must be a 12-digit AWS account id');
  return {
    types: listOf(raw.type, CREDENTIAL_TYPES, 'type'),
    statuses: listOf(raw.status, CREDENTIAL_STATUSES, 'status'),
    severities: listOf(raw.severity, SEVERITIES, 'severity'),
    findings: listOf(raw.finding, FINDING_RULE_IDS, 'finding'),
    sources: listOf(raw.source, CREDENTIAL_SOURCES, 'source'),
    owner: boundedText(raw.owner, 'owner'),
    tag,
    account,
    text: boundedText(raw.q, 'q'),
    sort: { field: field as CredentialSortField, descending },
    limit,
    cursor: raw.cursor,
  };
}

/** Whether a credential passes every filter of the query. */
export function matchesQuery(credential: Credential, query: CredentialQuery): boolean {
  if (query.types !== undefined && !query.types.includes(credential.type)) return false;
  if (query.statuses !== undefined && !query.statuses.includes(credential.status)) return false;
  if (query.sources !== undefined && !query.sources.includes(credential.source)) return false;
  if (query.severities !== undefined) {
    const wanted = query.severities;
    if (!credential.findings.some((finding) => wanted.includes(finding.severity))) return false;
  }
  if (query.findings !== undefined) {
    const wanted = query.findings;
    if (!credential.findings.some((finding) => wanted.includes(finding.ruleId))) return false;
  }
  if (query.owner !== undefined && credential.owner?.toLowerCase() !== query.owner.toLowerCase())
    return false;
  if (query.account !== undefined && credential.reference.account !== query.account) return false;
  if (query.tag !== undefined) {
    const tags = effectiveTags(credential);
    const value = tags[query.tag.key];
    if (value === undefined || (query.tag.value !== undefined && value !== query.tag.value)) return false;
  }
  if (query.text !== undefined) {
    const needle = query.text.toLowerCase();
    const haystack: (string | undefined)[] = [
      credential.id,
      credential.name,
      credential.description,
      credential.owner,
      ...Object.values(credential.reference as Readonly<Record<string, string | undefined>>),
      ...Object.values(effectiveTags(credential)),
    ];
    if (!haystack.some((text) => typeof text === 'string' && text.toLowerCase().includes(needle)))
      return false;
  }
  return true;
}

type SortValue = string | number;

/** The sort value of a credential, or undefined when it has none (those sort last either way). */
function sortValue(credential: Credential, field: CredentialSortField): SortValue | undefined {
  switch (field) {
    case 'name':
      return credential.name.toLowerCase();
    case 'type':
    case 'status':
      return credential[field];
    case 'severity': {
      const worst = worstSeverity(credential.findings);
      return worst === undefined ? 0 : severityRank(worst);
    }
    default:
      return credential[field];
  }
}

/** `[missing ? 1 : 0, value, id]`: a total order in which missing values come last. */
type SortKey = readonly [0 | 1, SortValue, string];

function sortKey(credential: Credential, field: CredentialSortField): SortKey {
  const value = sortValue(credential, field);
  return value === undefined ? [1, '', credential.id] : [0, value, credential.id];
}

function compareKeys(a: SortKey, b: SortKey, descending: boolean, reverseTies = false): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) {
    const order = a[1] < b[1] ? -1 : 1;
    return descending ? -order : order;
  }
  const tie = a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0;
  return reverseTies ? -tie : tie;
}

/** Identifies what a cursor belongs to: the filters and the sort, not the page size. */
export function queryFingerprint(query: CredentialQuery): string {
  const { limit: _limit, cursor: _cursor, ...rest } = query;
  return createHash('sha256').update(JSON.stringify(rest)).digest('base64url').slice(0, 16);
}

function encodeCursor(query: CredentialQuery, key: SortKey): string {
  return Buffer.from(JSON.stringify({ f: queryFingerprint(query), k: key })).toString('base64url');
}

function decodeCursor(query: CredentialQuery, cursor: string): SortKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error: unknown) {
    throw new ValidationError('Query parameter cursor is not a cursor this API issued', {
      cause: error,
      details: { parameter: 'cursor' },
    });
  }
  const candidate = parsed as { f?: unknown; k?: unknown };
  const key = candidate.k;
  const valid =
    Array.isArray(key) &&
    key.length === 3 &&
    (key[0] === 0 || key[0] === 1) &&
    (typeof key[1] === 'string' || typeof key[1] === 'number') &&
    typeof key[2] === 'string';
  if (!valid) {
    throw new ValidationError('Query parameter cursor is not a cursor this API issued', {
      details: { parameter: 'cursor' },
    });
  }
  if (candidate.f !== queryFingerprint(query)) {
    throw new ValidationError(
      'Query parameter cursor belongs to a listing with other filters or sort order',
      {
        details: { parameter: 'cursor' },
      },
    );
  }
  return key as unknown as SortKey;
}

export interface CredentialPage {
  readonly items: Credential[];
  /** How many credentials match the filters in all. */
  readonly total: number;
  /** For the next page; undefined on the last one. */
  readonly cursor: string | undefined;
}

function indexOrdered(field: CredentialSortField): boolean {
  return field === 'name' || field === 'expiresAt';
}

/** Filters, sorts and cuts one page out of `credentials`. */
export function queryCredentials(credentials: readonly Credential[], query: CredentialQuery): CredentialPage {
  const { field, descending } = query.sort;
  const keyed = credentials
    .filter((credential) => matchesQuery(credential, query))
    .map((credential) => ({ credential, key: sortKey(credential, field) }))
    // The orders an index can serve (name, expiresAt) reverse ties too when descending, as a
    // descending Query of those indexes does (listInventoryPage); other orders keep ties in id order.
    .sort((a, b) => compareKeys(a.key, b.key, descending, descending && indexOrdered(field)));
  const after = query.cursor === undefined ? undefined : decodeCursor(query, query.cursor);
  const start =
    after === undefined
      ? 0
      : keyed.findIndex(
          (entry) => compareKeys(entry.key, after, descending, descending && indexOrdered(field)) > 0,
        );
  const rest = start < 0 ? [] : keyed.slice(start);
  const page = rest.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map((entry) => entry.credential),
    total: keyed.length,
    cursor: rest.length > query.limit && last !== undefined ? encodeCursor(query, last.key) : undefined,
  };
}
