/**
 * The lifecycle events of the audit log (ADR 0004), published on the VaultPilot bus:
 * - `audit.event.chained`: an audit event took its place in the tenant's hash chain (at least
 *   once: a retried stream batch may publish an event again; match on `eventId` to deduplicate);
 * - `audit.digest.signed`: a digest of the chain was signed;
 * - `audit.integrity.failed`: the chain since the last digest, or that digest's record, is not
 *   intact; nothing was signed.
 * None carries a secret value, a source IP or a user agent.
 */
import * as z from 'zod';
import { AUDIT_EVENT_CHAINED } from '../core/audit/audit-sequencer.js';
import { AUDIT_DIGEST_SIGNED, AUDIT_INTEGRITY_FAILED } from '../core/audit/audit-digests.js';
import { AuditTargetSchema, AUDIT_ACTIONS, AUDIT_OUTCOMES, ACTOR_KINDS } from '../core/audit/audit-event.js';
import { VERIFICATION_REASONS } from '../core/audit/chain-verifier.js';
import type { EventDefinition } from './events.js';

const seq = z.number().int().min(1);

export const AUDIT_EVENT_DEFINITIONS: Readonly<Record<string, EventDefinition>> = {
  [AUDIT_EVENT_CHAINED]: {
    description:
      'An audit event was appended to its tenant hash chain (at least once; deduplicate by eventId)',
    detail: z.strictObject({
      seq,
      eventId: z.uuid(),
      action: z.enum(AUDIT_ACTIONS),
      outcome: z.enum(AUDIT_OUTCOMES),
      actor: z.strictObject({ kind: z.enum(ACTOR_KINDS), id: z.string().min(1).max(256) }),
      target: AuditTargetSchema,
      reason: z.string().max(1024).optional(),
      requestId: z.string().max(256).optional(),
      correlationId: z.string().max(256).optional(),
    }),
  },
  [AUDIT_DIGEST_SIGNED]: {
    description: 'A signed digest now covers the tenant audit chain from fromSeq to toSeq',
    detail: z.strictObject({ fromSeq: seq, toSeq: seq, headHash: z.string().regex(/^[0-9a-f]{64}$/) }),
  },
  [AUDIT_INTEGRITY_FAILED]: {
    description: 'The tenant audit chain is not intact since the last digest; no digest was signed',
    detail: z.strictObject({ seq, reason: z.enum(VERIFICATION_REASONS) }),
  },
};
