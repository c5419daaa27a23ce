import type { AuditEvent } from './audit-event.js';

/**
 * Where audit events go. DESIGN.md (Audit): every API call and engine action records its event
 * before the response leaves, and the request fails if it cannot.
 *
 * Contract of `record`:
 * - it resolves only once the event is durably stored;
 * - it rejects otherwise: `DependencyUnavailableError` when the store is down or throttling (the
 *   caller fails closed with 503 and does not perform, or reports as failed, the action), or
 *   `AuditEventRejectedError` for an event that breaks the schema (a defect: 500);
 * - recording the very same event twice is harmless (a retry after a lost acknowledgement).
 */
export interface AuditSink {
  record(event: AuditEvent): Promise<void>;
}
