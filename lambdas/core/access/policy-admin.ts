/**
 * Managing a tenant's path policies and their attachments. Admins (and machine clients with the
 * admin scope) may change them; auditors may read them too. Every call is audited, fail-closed,
 * like the secret operations.
 */
import { audited, ROLE_DENIAL } from '../audit/audited.js';
import type { AuditAction, AuditOutcome } from '../audit/audit-event.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { NotFoundError } from '../errors.js';
import type { Clock } from '../ports.js';
import { type Caller, callerAuditEvent } from '../audit/caller.js';
import { type Policy, PolicySchema } from './policy.js';
import type { PolicyHolder, PolicyStore, StoredPolicy } from './policy-store.js';

const ADMIN_SCOPE = 'vaultpilot/admin';
const AUDIT_SCOPE = 'vaultpilot/audit';

export interface AttachmentNames {
  readonly groups: Readonly<Record<string, readonly string[]>>;
  readonly clients: Readonly<Record<string, readonly string[]>>;
}

type Access = 'read' | 'manage';

function mayAccess(caller: Caller, access: Access): boolean {
  const { principal } = caller;
  if (principal.kind === 'machine') {
    return (
      principal.scopes.includes(ADMIN_SCOPE) || (access === 'read' && principal.scopes.includes(AUDIT_SCOPE))
    );
  }
  return principal.roles.includes('admin') || (access === 'read' && principal.roles.includes('auditor'));
}

export class PolicyAdministration {
  constructor(
    private readonly policies: PolicyStore,
    private readonly audit: AuditSink,
    private readonly clock: Clock,
  ) {}

  list(caller: Caller): Promise<StoredPolicy[]> {
    return this.guard(caller, 'read', 'policy.read', undefined, () =>
      this.policies.list(caller.principal.tenant),
    );
  }

  get(caller: Caller, name: string): Promise<StoredPolicy> {
    return this.guard(caller, 'read', 'policy.read', name, async () => {
      const stored = await this.policies.get(caller.principal.tenant, name);
      if (stored === undefined) throw new NotFoundError(`No policy named ${name}`);
      return stored;
    });
  }

  /** `policy.rules` as the caller sent them: checked here by the domain's PolicySchema (400 with its issues). */
  put(
    caller: Caller,
    policy: { readonly name: string; readonly rules: unknown },
    expectedRevision?: number,
  ): Promise<StoredPolicy> {
    return this.guard(caller, 'manage', 'policy.write', policy.name, () =>
      this.policies.put(
        caller.principal.tenant,
        PolicySchema.parse(policy),
        expectedRevision === undefined ? {} : { expectedRevision },
      ),
    );
  }

  delete(caller: Caller, name: string, expectedRevision?: number): Promise<void> {
    return this.guard(caller, 'manage', 'policy.delete', name, () =>
      this.policies.delete(
        caller.principal.tenant,
        name,
        expectedRevision === undefined ? {} : { expectedRevision },
      ),
    );
  }

  attachments(caller: Caller): Promise<AttachmentNames> {
    return this.guard(caller, 'read', 'policy.read', undefined, async () => {
      const attached = await this.policies.attachments(caller.principal.tenant);
      const names = (byHolder: Readonly<Record<string, readonly Policy[]>>) =>
        Object.fromEntries(
          Object.entries(byHolder).map(([holder, list]) => [holder, list.map((p) => p.name)]),
        );
      return { groups: names(attached.byGroup), clients: names(attached.byClient) };
    });
  }

  attach(caller: Caller, holder: PolicyHolder, policyNames: readonly string[]): Promise<void> {
    return this.guard(caller, 'manage', 'policy.write', undefined, () =>
      this.policies.attach(caller.principal.tenant, holder, policyNames),
    );
  }

  private async guard<T>(
    caller: Caller,
    access: Access,
    action: AuditAction,
    policy: string | undefined,
    run: () => Promise<T>,
  ): Promise<T> {
    return audited({
      denial: mayAccess(caller, access) ? undefined : ROLE_DENIAL,
      changes: access === 'manage',
      run,
      record: (outcome, reason) => this.record(caller, action, policy, outcome, reason),
    });
  }

  private record(
    caller: Caller,
    action: AuditAction,
    policy: string | undefined,
    outcome: AuditOutcome,
    reason?: string,
  ): Promise<void> {
    const target = policy === undefined || policy.length > 256 ? {} : { policy };
    return this.audit.record(callerAuditEvent(caller, this.clock, { action, target, outcome, reason }));
  }
}
