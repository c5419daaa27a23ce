/**
 * The lifecycle events of the inventory (published on the event bus; their detail schemas are in
 * `lambdas/shared/events.ts`) and the audit events of finding changes. Both carry ids, names and
 * rule ids, never a credential's value (the inventory has none).
 */
import { randomUUID } from 'node:crypto';
import type { AuditActor, AuditEvent } from '../audit/audit-event.js';
import type { DomainEvent } from '../events.js';
import type { Credential } from './credential.js';
import { type Finding, findingRule } from './findings.js';

export const CREDENTIAL_EVENT_TYPES = {
  discovered: 'credential.discovered',
  gone: 'credential.gone',
  findingOpened: 'credential.finding.opened',
  findingResolved: 'credential.finding.resolved',
} as const;

function credentialDetail(credential: Credential): Record<string, unknown> {
  return {
    credentialId: credential.id,
    credentialType: credential.type,
    credentialName: credential.name,
    source: credential.source,
    ...(credential.reference.account === undefined ? {} : { account: credential.reference.account }),
    ...(credential.reference.region === undefined ? {} : { region: credential.reference.region }),
    ...(credential.owner === undefined ? {} : { owner: credential.owner }),
  };
}

export function findingEvents(
  credential: Credential,
  changes: { readonly opened: readonly Finding[]; readonly resolved: readonly Finding[] },
  time: string,
): DomainEvent[] {
  const event = (type: string, finding: Finding): DomainEvent => ({
    type,
    tenant: credential.tenant,
    time,
    detail: {
      ...credentialDetail(credential),
      ruleId: finding.ruleId,
      severity: finding.severity,
      title: findingRule(finding.ruleId)?.title ?? finding.ruleId,
    },
  });
  return [
    ...changes.opened.map((finding) => event(CREDENTIAL_EVENT_TYPES.findingOpened, finding)),
    ...changes.resolved.map((finding) => event(CREDENTIAL_EVENT_TYPES.findingResolved, finding)),
  ];
}

export function inventoryEvent(
  type: (typeof CREDENTIAL_EVENT_TYPES)['discovered' | 'gone'],
  credential: Credential,
  time: string,
): DomainEvent {
  return { type, tenant: credential.tenant, time, detail: credentialDetail(credential) };
}

/** Audit events of finding changes, made by `actor` (a caller, or the discovery engine). */
export function findingAuditEvents(
  credential: Credential,
  changes: { readonly opened: readonly Finding[]; readonly resolved: readonly Finding[] },
  base: {
    readonly actor: AuditActor;
    readonly time: string;
    readonly requestId?: string | undefined;
    readonly correlationId?: string | undefined;
  },
): AuditEvent[] {
  const event = (action: 'finding.opened' | 'finding.resolved', finding: Finding): AuditEvent => ({
    eventId: randomUUID(),
    tenant: credential.tenant,
    time: base.time,
    actor: base.actor,
    action,
    target: { credentialId: credential.id },
    outcome: 'allowed',
    // The rule id and severity: the audit target has no field for them, and they are not secret.
    reason: `${finding.ruleId} (${finding.severity})`,
    ...(base.requestId === undefined ? {} : { requestId: base.requestId }),
    ...(base.correlationId === undefined ? {} : { correlationId: base.correlationId }),
  });
  return [
    ...changes.opened.map((finding) => event('finding.opened', finding)),
    ...changes.resolved.map((finding) => event('finding.resolved', finding)),
  ];
}
