/**
 * Expiry warnings: at 30, 7 and 1 days before a credential expires (thresholds configurable per
 * tenant and per credential) and on the day; expired after; and rotations overdue. The rules are
 * pure; `ExpiryCheck` walks the inventory's expiry index (a Query, never a scan) and publishes.
 */
import * as z from 'zod';
import { ValidationError } from '../errors.js';
import type { DomainEvent, EventPublisher } from '../events.js';
import { EXPIRY_EVENT_TYPES } from './notify-event.js';

export const DEFAULT_EXPIRY_THRESHOLDS: readonly number[] = [30, 7, 1];
const DAY_MS = 86_400_000;

/**
 * A credential's own warning days, as a tag (`vaultpilot:expiry-thresholds` = `14,3,1`): set
 * through the inventory API like any tag, so no new credential field is needed.
 */
export const THRESHOLDS_TAG = 'vaultpilot:expiry-thresholds';

/**
 * Active IAM user keys enter the expiry index this many days after creation (the default
 * `accessKeyMaxAgeDays`); the check then applies the tenant's own maximum age. A tenant maximum
 * below this is reported by the discovery finding `iam-access-key-too-old`, not by this index.
 */
export const IAM_KEY_INDEXED_AGE_DAYS = 90;

const ThresholdsSchema = z
  .array(z.number().int().min(1).max(365))
  .min(1)
  .max(10)
  .refine((days) => new Set(days).size === days.length, 'must not repeat a day');

export function parseExpiryThresholds(raw: unknown): number[] {
  const result = ThresholdsSchema.safeParse(raw);
  if (!result.success) {
    throw new ValidationError(
      `Invalid expiryThresholds: ${result.error.issues[0]?.message ?? 'is invalid'}`,
      {
        details: { field: 'expiryThresholds' },
      },
    );
  }
  return [...result.data].sort((a, b) => b - a);
}

/** The thresholds a tag names, or undefined when it is absent or not a valid list. */
export function parseThresholdsTag(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const days = value.split(',').map((part) => Number(part.trim()));
  const result = ThresholdsSchema.safeParse(days);
  return result.success ? [...result.data].sort((a, b) => b - a) : undefined;
}

/** The credential's own thresholds win over the tenant's, which win over the defaults. */
export function effectiveThresholds(
  tenant: readonly number[] | undefined,
  credential: readonly number[] | undefined,
): readonly number[] {
  return credential ?? tenant ?? DEFAULT_EXPIRY_THRESHOLDS;
}

/** Whole days from `now` to `at`, rounded up: 23 hours left is "1 day", 0 means "today". */
export function daysUntil(at: string, now: Date): number {
  return Math.ceil((Date.parse(at) - now.getTime()) / DAY_MS);
}

export type ExpiryStage =
  | { readonly kind: 'expiring'; readonly threshold: number; readonly daysLeft: number }
  | { readonly kind: 'expired'; readonly daysLeft: number };

/**
 * The warning an expiry date calls for now: the smallest threshold it has crossed (`0` is "on the
 * day"), expired once past, nothing while further away than every threshold.
 */
export function expiryStage(
  expiresAt: string,
  now: Date,
  thresholds: readonly number[],
): ExpiryStage | undefined {
  const left = Date.parse(expiresAt) - now.getTime();
  if (left <= 0) return { kind: 'expired', daysLeft: Math.floor(left / DAY_MS) };
  const daysLeft = daysUntil(expiresAt, now);
  if (daysLeft <= 0 || isSameUtcDay(expiresAt, now)) return { kind: 'expiring', threshold: 0, daysLeft: 0 };
  const crossed = thresholds.filter((days) => daysLeft <= days);
  if (crossed.length === 0) return undefined;
  return { kind: 'expiring', threshold: Math.min(...crossed), daysLeft };
}

function isSameUtcDay(at: string, now: Date): boolean {
  return at.slice(0, 10) === now.toISOString().slice(0, 10);
}

/** A rotation is overdue once its due time has passed by more than the grace (the scheduler's own slack). */
export function rotationOverdue(
  dueAt: string,
  now: Date,
  graceHours = 24,
): { readonly overdueDays: number } | undefined {
  const late = now.getTime() - Date.parse(dueAt);
  return late > graceHours * 3_600_000 ? { overdueDays: Math.floor(late / DAY_MS) } : undefined;
}

/** What the expiry index tells about one credential. */
export interface ExpiryCandidate {
  readonly tenant: string;
  readonly credentialId: string;
  readonly credentialType: string;
  readonly credentialName: string;
  readonly owner: string | undefined;
  /** When it expires (a managed credential's expiry, or a discovered secret's next rotation date). */
  readonly expiresAt: string | undefined;
  /** When its rotation is due. */
  readonly rotationDueAt: string | undefined;
  /** An active IAM user key without a rotation binding: when it was created (judged by age). */
  readonly ageSince?: string | undefined;
  readonly expiryThresholds: readonly number[] | undefined;
}

/** The index of credentials by the earliest of their expiry and rotation due dates. */
export interface ExpiryIndex {
  /** Candidates whose earliest date is at or before `before`, page by page. */
  dueBefore(before: string, pageSize: number): AsyncIterable<readonly ExpiryCandidate[]>;
}

/** A tenant's settings for the check: warning days, and the maximum age of IAM access keys. */
export interface TenantExpiryPolicy {
  readonly thresholds: readonly number[] | undefined;
  readonly accessKeyMaxAgeDays: number | undefined;
}

/** Per-tenant settings (the tenant's finding thresholds). */
export type TenantExpirySettings = (tenant: string) => Promise<TenantExpiryPolicy | undefined>;

function subjectDetail(candidate: ExpiryCandidate): Record<string, unknown> {
  return {
    credentialId: candidate.credentialId,
    credentialType: candidate.credentialType,
    credentialName: candidate.credentialName,
    ...(candidate.owner === undefined ? {} : { owner: candidate.owner }),
  };
}

/** The events one candidate calls for now (pure: the use case only publishes them). */
export function expiryEvents(
  candidate: ExpiryCandidate,
  now: Date,
  thresholds: readonly number[],
  accessKeyMaxAgeDays: number = IAM_KEY_INDEXED_AGE_DAYS,
): DomainEvent[] {
  const events: DomainEvent[] = [];
  const time = now.toISOString();
  if (candidate.expiresAt !== undefined) {
    const stage = expiryStage(candidate.expiresAt, now, thresholds);
    if (stage?.kind === 'expiring') {
      events.push({
        type: EXPIRY_EVENT_TYPES.expiring,
        tenant: candidate.tenant,
        time,
        detail: {
          ...subjectDetail(candidate),
          expiresAt: candidate.expiresAt,
          daysLeft: stage.daysLeft,
          threshold: stage.threshold,
        },
      });
    } else if (stage?.kind === 'expired') {
      events.push({
        type: EXPIRY_EVENT_TYPES.expired,
        tenant: candidate.tenant,
        time,
        detail: { ...subjectDetail(candidate), expiresAt: candidate.expiresAt },
      });
    }
  }
  const rotationDueAt =
    candidate.rotationDueAt ??
    (candidate.ageSince === undefined || Number.isNaN(Date.parse(candidate.ageSince))
      ? undefined
      : new Date(Date.parse(candidate.ageSince) + accessKeyMaxAgeDays * DAY_MS).toISOString());
  if (rotationDueAt !== undefined) {
    const overdue = rotationOverdue(rotationDueAt, now);
    if (overdue !== undefined) {
      events.push({
        type: EXPIRY_EVENT_TYPES.rotationOverdue,
        tenant: candidate.tenant,
        time,
        detail: {
          ...subjectDetail(candidate),
          dueAt: rotationDueAt,
          overdueDays: overdue.overdueDays,
        },
      });
    }
  }
  return events;
}

export interface ExpiryCheckRun {
  readonly candidates: number;
  readonly expiring: number;
  readonly expired: number;
  readonly overdue: number;
}

export class ExpiryCheck {
  constructor(
    private readonly index: ExpiryIndex,
    private readonly publisher: EventPublisher,
    private readonly tenantThresholds: TenantExpirySettings,
    private readonly options: { readonly pageSize?: number } = {},
  ) {}

  /**
   * Publishes the events due now. The index is read up to the largest threshold ahead; repeats
   * on later runs are expected and left to the notifier's de-duplication (same condition, same state).
   */
  async run(now: Date, only?: { readonly tenant: string }): Promise<ExpiryCheckRun> {
    const horizon = new Date(now.getTime() + 366 * DAY_MS).toISOString();
    const policyOf = new Map<string, TenantExpiryPolicy | undefined>();
    let candidates = 0;
    const counts = { expiring: 0, expired: 0, overdue: 0 };
    for await (const page of this.index.dueBefore(horizon, this.options.pageSize ?? 500)) {
      const events: DomainEvent[] = [];
      for (const candidate of page) {
        // On demand for one tenant: the index is shared, so another tenant's items are skipped.
        if (only !== undefined && candidate.tenant !== only.tenant) continue;
        candidates += 1;
        if (!policyOf.has(candidate.tenant))
          policyOf.set(candidate.tenant, await this.tenantThresholds(candidate.tenant));
        const policy = policyOf.get(candidate.tenant);
        const thresholds = effectiveThresholds(policy?.thresholds, candidate.expiryThresholds);
        for (const event of expiryEvents(candidate, now, thresholds, policy?.accessKeyMaxAgeDays)) {
          events.push(event);
          if (event.type === EXPIRY_EVENT_TYPES.expiring) counts.expiring += 1;
          else if (event.type === EXPIRY_EVENT_TYPES.expired) counts.expired += 1;
          else counts.overdue += 1;
        }
      }
      // EventBridge takes at most 10 entries per PutEvents.
      for (let start = 0; start < events.length; start += 10)
        await this.publisher.publish(events.slice(start, start + 10));
    }
    return { candidates, ...counts };
  }
}
