/** Who is calling, and how one of their actions becomes an audit event. */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../ports.js';
import type { Principal } from '../principal.js';
import type { AuditAction, AuditActor, AuditEvent, AuditOutcome, AuditTarget } from './audit-event.js';

/** The caller of a use case, with the request facts the audit log keeps. */
export interface Caller {
  readonly principal: Principal;
  readonly requestId?: string | undefined;
  readonly correlationId?: string | undefined;
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
}

/** The audit log's actor of a caller: its subject, with a user's name and the request's origin. */
export function auditActorOf(caller: Caller): AuditActor {
  const { principal } = caller;
  return {
    kind: principal.kind,
    id: principal.subject,
    ...(principal.kind === 'user' && principal.username !== ''
      ? { name: principal.username.slice(0, 128) }
      : {}),
    ...(caller.sourceIp === undefined ? {} : { sourceIp: caller.sourceIp }),
    ...(caller.userAgent === undefined ? {} : { userAgent: caller.userAgent.slice(0, 512) }),
  };
}

export function callerAuditEvent(
  caller: Caller,
  clock: Clock,
  fields: { action: AuditAction; target: AuditTarget; outcome: AuditOutcome; reason?: string | undefined },
): AuditEvent {
  const { principal } = caller;
  return {
    eventId: randomUUID(),
    tenant: principal.tenant,
    time: clock.now().toISOString(),
    actor: auditActorOf(caller),
    action: fields.action,
    target: fields.target,
    outcome: fields.outcome,
    ...(fields.reason === undefined ? {} : { reason: fields.reason.slice(0, 1024) }),
    ...(caller.requestId === undefined ? {} : { requestId: caller.requestId }),
    ...(caller.correlationId === undefined ? {} : { correlationId: caller.correlationId }),
  };
}
