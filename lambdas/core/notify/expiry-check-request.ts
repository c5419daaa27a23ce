/**
 * `POST /notifications/expiry-check`: an admin runs the expiry check now for their own tenant
 * (the daily schedule covers every tenant). Audited like every admin action: denied, attempted,
 * allowed or failed. Repeats of conditions already sent are left to the notifier's
 * de-duplication, so running it twice sends nothing twice within the window.
 */
import { audited, ROLE_DENIAL } from '../audit/audited.js';
import type { AuditOutcome } from '../audit/audit-event.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { type Caller, callerAuditEvent } from '../audit/caller.js';
import { mayAccessInventory } from '../credentials/inventory-access.js';
import type { Clock } from '../ports.js';
import type { ExpiryCheck, ExpiryCheckRun } from './expiry.js';

export class ExpiryCheckRequests {
  constructor(
    private readonly check: Pick<ExpiryCheck, 'run'>,
    private readonly audit: AuditSink,
    private readonly clock: Clock,
  ) {}

  runNow(caller: Caller): Promise<ExpiryCheckRun> {
    return audited<ExpiryCheckRun>({
      // The same people who configure discovery and rotation: admins, or the admin scope.
      denial: mayAccessInventory(caller.principal, 'configure') ? undefined : ROLE_DENIAL,
      changes: true,
      run: () => this.check.run(this.clock.now(), { tenant: caller.principal.tenant }),
      record: (outcome, reason, done) =>
        this.record(caller, outcome, done === undefined ? reason : summary(done)),
    });
  }

  private record(caller: Caller, outcome: AuditOutcome, reason: string | undefined): Promise<void> {
    return this.audit.record(
      callerAuditEvent(caller, this.clock, {
        action: 'notification.expiry-check.run',
        target: {},
        outcome,
        reason,
      }),
    );
  }
}

function summary(run: ExpiryCheckRun): string {
  return `candidates=${run.candidates} expiring=${run.expiring} expired=${run.expired} overdue=${run.overdue}`;
}
