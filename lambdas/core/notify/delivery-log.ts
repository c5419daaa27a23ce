/**
 * The delivery log: one entry per (event id, channel), which is also what makes delivery
 * idempotent. `decideClaim` is the rule; the store only persists it with single-item conditional
 * writes (create if absent, replace if the revision is unchanged).
 */
export const DELIVERY_STATUSES = ['sending', 'sent', 'retrying', 'failed', 'skipped'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryKey {
  readonly tenant: string;
  readonly eventId: string;
  /** The event's time: part of the key so the log lists newest first without an index. */
  readonly eventTime: string;
  readonly channelId: string;
}

export interface DeliveryEntry extends DeliveryKey {
  readonly eventType: string;
  readonly channelKind: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  /** An error code (`slack_429`, `ses_MessageRejected`), never a body, URL or secret. */
  readonly reason: string | undefined;
  readonly credentialId: string | undefined;
  readonly updatedAt: string;
  /** While `sending`: until when this attempt holds the entry; after that it is taken as crashed. */
  readonly leaseUntil: string | undefined;
  readonly revision: number;
}

export interface DeliveryLogFilter {
  readonly status?: DeliveryStatus;
  readonly channelId?: string;
  readonly eventType?: string;
  readonly credentialId?: string;
  readonly limit: number;
}

export interface DeliveryLogStore {
  get(key: DeliveryKey): Promise<DeliveryEntry | undefined>;
  /** Stores `entry` if no entry has its key; false if one does (another delivery won). */
  create(entry: DeliveryEntry): Promise<boolean>;
  /** Replaces the entry if it is still at `expectedRevision`; false otherwise. */
  replace(entry: DeliveryEntry, expectedRevision: number): Promise<boolean>;
  /** A tenant's entries, newest event first. */
  list(tenant: string, filter: DeliveryLogFilter): Promise<DeliveryEntry[]>;
}

export type ClaimDecision =
  | { readonly claim: true }
  | { readonly claim: false; readonly why: 'already-sent' | 'failed-for-good' | 'in-progress' | 'skipped' };

/** Whether this delivery may (re)send: only when nobody sent it, holds it, or gave it up. */
export function decideClaim(existing: DeliveryEntry | undefined, now: Date): ClaimDecision {
  if (existing === undefined) return { claim: true };
  switch (existing.status) {
    case 'sent':
      return { claim: false, why: 'already-sent' };
    case 'failed':
      return { claim: false, why: 'failed-for-good' };
    case 'skipped':
      return { claim: false, why: 'skipped' };
    case 'retrying':
      return { claim: true };
    case 'sending':
      return existing.leaseUntil !== undefined && Date.parse(existing.leaseUntil) > now.getTime()
        ? { claim: false, why: 'in-progress' }
        : { claim: true };
  }
}

/** A page of the delivery log as `GET /notifications` asks for it. */
export interface DeliveryLogQuery {
  readonly status?: DeliveryStatus | undefined;
  readonly channelId?: string | undefined;
  readonly eventType?: string | undefined;
  readonly credentialId?: string | undefined;
  /** Events at or after this ISO time. */
  readonly from?: string | undefined;
  /** Events at or before this ISO time. */
  readonly to?: string | undefined;
  readonly limit: number;
  /** Where the previous page stopped (the store's position, from `DeliveryLogPage.next`). */
  readonly after?: string | undefined;
}

export interface DeliveryLogPage {
  readonly entries: DeliveryEntry[];
  /** The position to continue after; undefined on the last page. */
  readonly next: string | undefined;
}

/** The delivery log read page by page, newest event first. */
export interface DeliveryLogPager {
  page(tenant: string, query: DeliveryLogQuery): Promise<DeliveryLogPage>;
}
