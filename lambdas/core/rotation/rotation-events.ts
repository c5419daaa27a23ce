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
