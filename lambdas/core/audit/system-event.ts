/** Audit events of the engines: actions nobody called, taken by VaultPilot itself. */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../ports.js';
import type { AuditAction, AuditEvent, AuditOutcome, AuditTarget } from './audit-event.js';

export function systemAuditEvent(
  tenant: string,
  engine: string,
  clock: Clock,
  fields: {
    action: AuditAction;
    target?: AuditTarget;
    outcome: AuditOutcome;
    reason?: string | undefined;
    correlationId?: string | undefined;
  },
): AuditEvent {
  return {
    eventId: randomUUID(),
    tenant,
    time: clock.now().toISOString(),
    actor: { kind: 'system', id: engine },
    action: fields.action,
    target: fields.target ?? {},
    outcome: fields.outcome,
    ...(fields.reason === undefined ? {} : { reason: fields.reason.slice(0, 1024) }),
    ...(fields.correlationId === undefined ? {} : { correlationId: fields.correlationId }),
  };
}
