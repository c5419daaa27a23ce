/**
 * The audit API (ADR 0004). Thin: the route's query and body are parsed by the middleware; each
 * operation is one `AuditLog` use case, and its result is mapped onto the route's contract.
 */
import { AUDIT_ACTIONS, type AuditAction } from '../../core/audit/audit-event.js';
import { verificationSummary } from '../../core/audit/chain-verifier.js';
import { ConflictError, ValidationError } from '../../core/errors.js';
import { apiHandler, callerOf } from '../../shared/api-handler.js';
import { ANSWER_RESERVE_MS, deadlineBefore } from '../../shared/deadline.js';
import { audit } from './compose.js';
import { AUDIT_ROUTES } from './routes.js';

function auditAction(value: string | undefined): AuditAction | undefined {
  if (value === undefined) return undefined;
  if (!(AUDIT_ACTIONS as readonly string[]).includes(value)) {
    throw new ValidationError(`Unknown audit action ${JSON.stringify(value)}`, {
      details: { issues: [{ code: 'invalid_value', path: ['action'], message: 'Not an audit action' }] },
    });
  }
  return value as AuditAction;
}

export const handler = apiHandler(AUDIT_ROUTES, () => audit().api, {
  listAuditEvents: async (request) => {
    const { query } = request;
    const result = await audit().log.query(
      callerOf(request),
      {
        actor: query.actor,
        action: auditAction(query.action),
        target: query.target,
        outcome: query.outcome,
        from: query.from,
        to: query.to,
      },
      { limit: query.limit, cursor: query.cursor },
      query.tenant,
    );
    return { body: { events: result.events, nextCursor: result.cursor ?? null } };
  },
  verifyAuditChain: async (request) => {
    const result = await audit().log.verify(callerOf(request), request.query.tenant);
    return { body: verificationSummary(result) };
  },
  exportAuditLog: async (request) => {
    const { format, fromSeq, toSeq, tenant } = request.query;
    const exported = await audit().log.export(callerOf(request), { format, fromSeq, toSeq }, tenant);
    return {
      body: null,
      text: exported.body,
      headers: {
        'Content-Type': exported.contentType,
        'Content-Disposition': `attachment; filename="${exported.fileName}"`,
      },
    };
  },
  getAuditPublicKey: async (request) => ({
    body: null,
    text: await audit().log.publicKey(callerOf(request)),
    headers: { 'Content-Type': 'application/x-pem-file' },
  }),
  hashAuditIdentifier: async (request) => ({
    body: { hmac: await audit().log.hash(callerOf(request), request.body.value) },
  }),
  listAuditDigests: async (request) => ({
    body: { digests: await audit().log.digestList(callerOf(request), request.query.tenant) },
  }),
  signAuditDigest: async (request) => {
    const run = await audit().log.signDigest(
      callerOf(request),
      deadlineBefore(request.context, ANSWER_RESERVE_MS),
    );
    if (run.integrityProblem !== undefined) {
      throw new ConflictError(
        `The audit chain is not intact since the last digest (seq ${run.integrityProblem.seq}: ${run.integrityProblem.reason}); nothing was signed`,
        { details: { firstBad: { seq: run.integrityProblem.seq, reason: run.integrityProblem.reason } } },
      );
    }
    return { body: { digest: run.digest ?? null, complete: run.complete } };
  },
  readAuditSettings: async (request) => ({
    body: await audit().log.settings(callerOf(request), request.query.tenant),
  }),
  writeAuditSettings: async (request) => ({
    body: await audit().log.updateSettings(
      callerOf(request),
      { retentionDays: request.body.retentionDays },
      request.query.tenant,
    ),
  }),
});
