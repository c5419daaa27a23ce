/**
 * The audit API (ADR 0004). Thin: the route's query and body are parsed by the middleware; each
 * operation is one `AuditLog` use case, and its result is mapped onto the route's contract.
 */
import type { z } from 'zod';
import { AUDIT_ACTIONS, type AuditAction } from '../../core/audit/audit-event.js';
import { ConflictError, ValidationError } from '../../core/errors.js';
import { apiHandler, type ApiResult, callerOf } from '../../shared/api-handler.js';
import type {
  AuditExportQuery,
  AuditHashRequest,
  AuditQuery,
  AuditSettingsBody,
  AuditTenantQuery,
} from '../../shared/contracts/audit.js';
import { container } from '../../shared/container.js';

function auditAction(value: string | undefined): AuditAction | undefined {
  if (value === undefined) return undefined;
  if (!(AUDIT_ACTIONS as readonly string[]).includes(value)) {
    throw new ValidationError(`Unknown audit action ${JSON.stringify(value)}`, {
      details: { issues: [{ code: 'invalid_value', path: ['action'], message: 'Not an audit action' }] },
    });
  }
  return value as AuditAction;
}

export const handler = apiHandler(async (request): Promise<ApiResult> => {
  const audit = container().auditLog();
  const caller = callerOf(request);
  switch (request.route.operationId) {
    case 'listAuditEvents': {
      const query = request.query as z.infer<typeof AuditQuery>;
      const result = await audit.query(
        caller,
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
    }
    case 'verifyAuditChain': {
      const { tenant } = request.query as z.infer<typeof AuditTenantQuery>;
      const result = await audit.verify(caller, tenant);
      const firstBad =
        result.firstBad === null ? null : { seq: result.firstBad.seq, reason: result.firstBad.reason };
      return { body: { ok: result.ok, checked: result.checked, firstBad } };
    }
    case 'exportAuditLog': {
      const query = request.query as z.infer<typeof AuditExportQuery>;
      const exported = await audit.export(
        caller,
        { format: query.format, fromSeq: query.fromSeq, toSeq: query.toSeq },
        query.tenant,
      );
      return {
        body: null,
        text: exported.body,
        headers: {
          'Content-Type': exported.contentType,
          'Content-Disposition': `attachment; filename="${exported.fileName}"`,
        },
      };
    }
    case 'getAuditPublicKey':
      return {
        body: null,
        text: await audit.publicKey(caller),
        headers: { 'Content-Type': 'application/x-pem-file' },
      };
    case 'hashAuditIdentifier': {
      const { value } = request.body as z.infer<typeof AuditHashRequest>;
      return { body: { hmac: await audit.hash(caller, value) } };
    }
    case 'listAuditDigests': {
      const { tenant } = request.query as z.infer<typeof AuditTenantQuery>;
      return { body: { digests: await audit.digestList(caller, tenant) } };
    }
    case 'signAuditDigest': {
      const run = await audit.signDigest(caller);
      if (run.integrityProblem !== undefined) {
        throw new ConflictError(
          `The audit chain is not intact since the last digest (seq ${run.integrityProblem.seq}: ${run.integrityProblem.reason}); nothing was signed`,
          { details: { firstBad: { seq: run.integrityProblem.seq, reason: run.integrityProblem.reason } } },
        );
      }
      return { body: { digest: run.digest ?? null } };
    }
    case 'readAuditSettings':
      return { body: await audit.settings(caller) };
    case 'writeAuditSettings': {
      const body = request.body as z.infer<typeof AuditSettingsBody>;
      return { body: await audit.updateSettings(caller, { retentionDays: body.retentionDays }) };
    }
    default:
      throw new Error(`The audit handler does not serve ${request.route.operationId}`);
  }
});
