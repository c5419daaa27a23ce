/**
 * What the rotation engine tells the world: lifecycle events on the bus (their detail schemas are
 * in `lambdas/shared/events.ts`) and audit events. Both carry ids, types, step names and error
 * codes, never a credential's value.
 */
import { createHash } from 'node:crypto';
import type { AuditAction, AuditActor, AuditEvent, AuditOutcome } from '../audit/audit-event.js';
import type { DomainEvent } from '../events.js';
import type { RotationRecord } from './rotation.js';

export const ROTATION_EVENT_TYPES = {
  started: 'rotation.started',
  succeeded: 'rotation.succeeded',
  failed: 'rotation.failed',
  rolledBack: 'rotation.rolled-back',
  retired: 'rotation.retired',
  awaitingInput: 'rotation.awaiting-input',
  reminder: 'rotation.reminder',
} as const;
export type RotationEventType = (typeof ROTATION_EVENT_TYPES)[keyof typeof ROTATION_EVENT_TYPES];

export const ROTATION_ENGINE_ACTOR: AuditActor = { kind: 'system', id: 'rotation-engine' };

export function rotationEvent(
  type: RotationEventType,
  record: RotationRecord,
  time: string,
  extra: { readonly step?: string; readonly reason?: string; readonly rolledBack?: boolean } = {},
): DomainEvent {
  return {
    type,
    tenant: record.tenant,
    time,
    detail: {
      credentialId: record.credentialId,
      credentialType: record.credentialType,
      rotationId: record.rotationId,
      trigger: record.trigger,
      dryRun: record.dryRun,
      state: record.state,
      ...(extra.step === undefined ? {} : { step: extra.step }),
      ...(extra.reason === undefined ? {} : { reason: extra.reason.slice(0, 512) }),
      ...(extra.rolledBack === undefined ? {} : { rolledBack: extra.rolledBack }),
    },
  };
}

/** What an assisted rotation tells people: who answers for it, when it expires, how late it is. */
export interface AssistedNotice {
  readonly expiresAt: string | undefined;
  /** Whole days until the expiry (negative once overdue); undefined without a known expiry. */
  readonly daysLeft: number | undefined;
  /** The reminder threshold that fired (30, 7, 1 …) or `overdue`; absent on `rotation.awaiting-input`. */
  readonly stage?: string;
  /** The people to tell: the owner, and the second contact once overdue. Names or addresses, never values. */
  readonly contacts: readonly string[];
  readonly escalated: boolean;
}

/** `rotation.awaiting-input` or `rotation.reminder` of an assisted rotation. */
export function assistedEvent(
  type: typeof ROTATION_EVENT_TYPES.awaitingInput | typeof ROTATION_EVENT_TYPES.reminder,
  record: RotationRecord,
  time: string,
  notice: AssistedNotice,
): DomainEvent {
  const base = rotationEvent(type, record, time);
  return {
    ...base,
    detail: {
      ...base.detail,
      ...(notice.expiresAt === undefined ? {} : { expiresAt: notice.expiresAt }),
      ...(notice.daysLeft === undefined ? {} : { daysLeft: notice.daysLeft }),
      ...(notice.stage === undefined ? {} : { stage: notice.stage }),
      contacts: [...notice.contacts],
      escalated: notice.escalated,
    },
  };
}

/**
 * An audit event of the engine. Its id is derived from what it records (rotation, step, attempt,
 * outcome), so recording it again after a crash stores nothing twice.
 */
export function engineAuditEvent(
  record: Pick<RotationRecord, 'tenant' | 'credentialId' | 'rotationId'>,
  fields: {
    readonly action: AuditAction;
    readonly outcome: AuditOutcome;
    readonly time: string;
    readonly reason: string;
    readonly path?: string | undefined;
    readonly version?: number | undefined;
    readonly actor?: AuditActor;
    readonly requestId?: string | undefined;
    readonly correlationId?: string | undefined;
  },
): AuditEvent {
  const actor = fields.actor ?? ROTATION_ENGINE_ACTOR;
  const digest = createHash('sha256')
    .update(
      [
        record.tenant,
        record.rotationId,
        fields.action,
        fields.outcome,
        fields.reason,
        fields.time,
        actor.id,
      ].join('\n'),
    )
    .digest('hex');
  // A UUID (version 8: custom) from the digest, so the audit schema's uuid check holds.
  const eventId = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-8${digest.slice(13, 16)}-${((parseInt(digest.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
  return {
    eventId,
    tenant: record.tenant,
    time: fields.time,
    actor,
    action: fields.action,
    target: {
      credentialId: record.credentialId,
      ...(fields.path === undefined ? {} : { path: fields.path }),
      ...(fields.version === undefined ? {} : { version: fields.version }),
    },
    outcome: fields.outcome,
    reason: `${record.rotationId}: ${fields.reason}`.slice(0, 1024),
    ...(fields.requestId === undefined ? {} : { requestId: fields.requestId }),
    ...(fields.correlationId === undefined ? {} : { correlationId: fields.correlationId }),
  };
}
