/**
 * Records what became of one delivery: the delivery-log entry of (event, channel) and, for a
 * message sent or given up on, the audit event `notification.sent` or `notification.failed`.
 * The notifier calls this after each send; the notifications API calls it for test messages.
 *
 * Order: the log entry first, because it is what stops a redelivered event from sending twice;
 * then the audit event. The audit event's id is derived from the entry (tenant, event, channel,
 * status, attempts), so recording it again (after an audit failure, or for a redelivered event
 * that finds the entry already `sent`, through `auditDelivery`) stores the very same event,
 * which the audit sink takes as harmless. Neither record holds a secret: channel ids, kinds,
 * event ids and classified reasons (`slack_429`) only.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent } from '../audit/audit-event.js';
import type { AuditSink } from '../audit/audit-sink.js';
import type { Clock } from '../ports.js';
import { channelSecretPath } from './channel.js';
import type { DeliveryEntry, DeliveryLogStore, DeliveryStatus } from './delivery-log.js';

/** The audit actor of deliveries the notifier makes. */
export const NOTIFIER_ACTOR = 'notifier';

export interface DeliveryOutcome {
  readonly status: Exclude<DeliveryStatus, 'sending'>;
  readonly attempts: number;
  /** A classified reason (`ses_MessageRejected`), never a response body, URL or secret. */
  readonly reason: string | undefined;
}

export interface DeliveryRecorderDependencies {
  readonly log: DeliveryLogStore;
  readonly audit: AuditSink;
  readonly clock: Clock;
}

export type RecordedDelivery =
  | { readonly recorded: true; readonly entry: DeliveryEntry }
  /** Another delivery changed the entry meanwhile; nothing was written. */
  | { readonly recorded: false; readonly entry: DeliveryEntry | undefined };

/** A version-8 UUID from a SHA-256 of `parts`: the same delivery outcome, the same audit event id. */
export function deliveryAuditId(parts: readonly string[]): string {
  const hex = createHash('sha256').update(parts.join('\n')).digest('hex');
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The audit event of a finished delivery, or undefined for outcomes that are not audited. */
export function deliveryAuditEvent(
  entry: DeliveryEntry,
  actor: string = NOTIFIER_ACTOR,
): AuditEvent | undefined {
  if (entry.status !== 'sent' && entry.status !== 'failed') return undefined;
  const via = `${entry.eventType} ${entry.eventId} via ${entry.channelKind} channel ${entry.channelId}`;
  return {
    eventId: deliveryAuditId([
      entry.tenant,
      entry.eventId,
      entry.channelId,
      entry.status,
      String(entry.attempts),
    ]),
    tenant: entry.tenant,
    time: new Date(entry.updatedAt).toISOString(),
    actor: { kind: 'system', id: actor },
    action: entry.status === 'sent' ? 'notification.sent' : 'notification.failed',
    target: {
      path: channelSecretPath(entry.channelId),
      ...(entry.credentialId === undefined ? {} : { credentialId: entry.credentialId }),
    },
    outcome: entry.status === 'sent' ? 'allowed' : 'failed',
    reason: (entry.status === 'sent' ? via : `${via}: ${entry.reason ?? 'unknown'}`).slice(0, 1024),
  };
}

export class DeliveryRecorder {
  constructor(
    private readonly deps: DeliveryRecorderDependencies,
    private readonly actor: string = NOTIFIER_ACTOR,
  ) {}

  /**
   * Writes `outcome` onto `current` (the entry as this delivery holds it; undefined when there
   * is none yet, as for a test message), then audits it. Rejects when the audit write fails;
   * the log entry stands, and `auditDelivery` records the same event later.
   */
  async record(
    current: DeliveryEntry,
    outcome: DeliveryOutcome,
    options: { readonly create?: boolean } = {},
  ): Promise<RecordedDelivery> {
    const recorded = await this.writeEntry(current, outcome, options);
    if (recorded.recorded) await this.auditDelivery(recorded.entry);
    return recorded;
  }

  /** `record` without the audit event: the caller audits the entry (`auditDelivery`) itself. */
  async writeEntry(
    current: DeliveryEntry,
    outcome: DeliveryOutcome,
    options: { readonly create?: boolean } = {},
  ): Promise<RecordedDelivery> {
    const next: DeliveryEntry = {
      ...current,
      status: outcome.status,
      attempts: outcome.attempts,
      reason: outcome.reason,
      updatedAt: this.deps.clock.now().toISOString(),
      leaseUntil: undefined,
      revision: options.create === true ? current.revision : current.revision + 1,
    };
    const won =
      options.create === true
        ? await this.deps.log.create(next)
        : await this.deps.log.replace(next, current.revision);
    if (!won) return { recorded: false, entry: await this.deps.log.get(current) };
    return { recorded: true, entry: next };
  }

  /** Audits a finished entry (`sent` or `failed`); a no-op for other statuses. Safe to repeat. */
  async auditDelivery(entry: DeliveryEntry): Promise<void> {
    const event = deliveryAuditEvent(entry, this.actor);
    if (event !== undefined) await this.deps.audit.record(event);
  }
}
