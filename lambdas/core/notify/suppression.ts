/**
 * Less noise: one condition of one credential is sent once per window until it changes, and people
 * can acknowledge a credential's alerts (until its condition changes) or snooze them (until a date).
 * The store keeps one record per condition; `decideSuppression` is the pure rule.
 */
import * as z from 'zod';
import { ValidationError } from '../errors.js';
import type { Condition } from './notify-event.js';

export const DEFAULT_DEDUP_WINDOW_HOURS = 24;

/** The last time a condition was sent: by which event, in which state. */
export interface ConditionRecord {
  readonly key: string;
  readonly state: string;
  readonly eventId: string;
  readonly sentAt: string;
}

export type SuppressionDecision =
  | { readonly send: true; readonly why: 'new' | 'changed' | 'window-elapsed' | 'same-event' }
  | { readonly send: false; readonly why: 'duplicate' | 'acknowledged' | 'snoozed' };

/**
 * Whether an event about `condition` is news. The same event id is always let through again, so a
 * redelivered event can finish channels that failed the first time (per-channel idempotency stops
 * a second send).
 */
export function decideDuplicate(
  condition: Condition,
  previous: ConditionRecord | undefined,
  eventId: string,
  now: Date,
  windowHours: number = DEFAULT_DEDUP_WINDOW_HOURS,
): SuppressionDecision {
  if (previous === undefined) return { send: true, why: 'new' };
  if (previous.eventId === eventId) return { send: true, why: 'same-event' };
  if (previous.state !== condition.state) return { send: true, why: 'changed' };
  const elapsed = now.getTime() - Date.parse(previous.sentAt);
  return elapsed >= windowHours * 3_600_000
    ? { send: true, why: 'window-elapsed' }
    : { send: false, why: 'duplicate' };
}

/** A person's acknowledgement or snooze of a credential's alerts. */
export interface AlertHold {
  readonly credentialId: string;
  readonly kind: 'acknowledged' | 'snoozed';
  /** Snooze: until this ISO time. */
  readonly until: string | undefined;
  /** Acknowledge: the condition states acknowledged (`key` → `state`); a new state is news again. */
  readonly conditions: Readonly<Record<string, string>>;
  readonly by: string;
  readonly at: string;
  readonly note: string | undefined;
}

const MAX_SNOOZE_DAYS = 365;

const HoldInputSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('acknowledged'), note: z.string().max(512).optional() }),
  z.strictObject({
    kind: z.literal('snoozed'),
    until: z.iso.datetime({ offset: true }),
    note: z.string().max(512).optional(),
  }),
]);
export type AlertHoldInput = z.output<typeof HoldInputSchema>;

export function parseAlertHoldInput(raw: unknown, now: Date): AlertHoldInput {
  const result = HoldInputSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue === undefined || issue.path.length === 0 ? 'kind' : issue.path.map(String).join('.');
    throw new ValidationError(`Invalid acknowledgement: ${field} ${issue?.message ?? 'is invalid'}`, {
      details: { field },
    });
  }
  if (result.data.kind === 'snoozed') {
    const until = Date.parse(result.data.until);
    if (until <= now.getTime() || until - now.getTime() > MAX_SNOOZE_DAYS * 86_400_000) {
      throw new ValidationError(
        `Invalid acknowledgement: until must be in the next ${MAX_SNOOZE_DAYS} days`,
        {
          details: { field: 'until' },
        },
      );
    }
  }
  return result.data;
}

/** Whether a hold silences `condition` now. Audit integrity failures are never held (no credential). */
export function decideHold(
  hold: AlertHold | undefined,
  condition: Condition | undefined,
  now: Date,
): SuppressionDecision | undefined {
  if (hold === undefined) return undefined;
  if (hold.kind === 'snoozed') {
    return hold.until !== undefined && Date.parse(hold.until) > now.getTime()
      ? { send: false, why: 'snoozed' }
      : undefined;
  }
  if (condition === undefined) return undefined;
  return hold.conditions[condition.key] === condition.state
    ? { send: false, why: 'acknowledged' }
    : undefined;
}
