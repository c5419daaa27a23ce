/**
 * The secret store as callers reach it: every operation is authorized against the tenant's
 * path policies, performed, and recorded in the audit log before its result is returned.
 *
 * Audit is fail-closed (DESIGN.md): a read whose audit record cannot be written returns nothing
 * (503); a write that was performed but could not be audited is reported as failed (503). A
 * denied or failed attempt is audited too, and values never reach the audit log: only paths,
 * version numbers, outcomes and error codes.
 */
import { audited } from '../audit/audited.js';
import { authorizeSecretOperation } from '../access/authorize.js';
import type { KvOperation } from '../access/policy.js';
import type { PolicyStore } from '../access/policy-store.js';
import type { AuditAction, AuditOutcome, AuditTarget } from '../audit/audit-event.js';
import { type Caller, callerAuditEvent } from '../audit/caller.js';
import type { AuditSink } from '../audit/audit-sink.js';
import type { Clock } from '../ports.js';
import type { Principal } from '../principal.js';
import type {
  ListOptions,
  MetadataUpdate,
  SecretData,
  SecretList,
  SecretMetadata,
  SecretReadResult,
  SecretsService,
  SecretVersionMetadata,
  WriteOptions,
} from './kv-service.js';
import { parseSecretPath, parseSecretPrefix, type SecretPath, type SecretPrefix } from './secret-path.js';

interface Attempt<T> {
  readonly action: AuditAction;
  readonly operation: KvOperation;
  readonly target: AuditTarget;
  readonly run: () => Promise<T>;
  /** Audit facts learnt from the result (e.g. the version written). */
  readonly resultTarget?: (result: T) => AuditTarget;
}

export class SecretAccess {
  constructor(
    private readonly secrets: SecretsService,
    private readonly policies: PolicyStore,
    private readonly audit: AuditSink,
    private readonly clock: Clock,
  ) {}

  /** The actor name recorded as a version's `created_by`. */
  static actorName(principal: Principal): string {
    return principal.kind === 'user' ? `user:${principal.username}` : `client:${principal.clientId}`;
  }

  read(caller: Caller, rawPath: string, version?: number): Promise<SecretReadResult> {
    const path = parseSecretPath(rawPath);
    return this.guard(caller, path, {
      action: 'secret.read',
      operation: 'readValue',
      target: { path, ...(version === undefined ? {} : { version }) },
      run: () => this.secrets.read(caller.principal.tenant, path, version),
      resultTarget: (result) => ({ path, version: result.metadata.version }),
    });
  }

  async write(
    caller: Caller,
    rawPath: string,
    data: SecretData,
    options: WriteOptions = {},
  ): Promise<SecretVersionMetadata> {
    const path = parseSecretPath(rawPath);
    const tenant = caller.principal.tenant;
    // Creating and updating are separate capabilities, as in Vault. The same read serves the
    // write's casRequired check.
    const metadata = await this.secrets.metadataIfAny(tenant, path);
    return this.guard(caller, path, {
      action: 'secret.write',
      operation: metadata === undefined ? 'create' : 'update',
      target: { path },
      run: () =>
        this.secrets.write(SecretAccess.actorName(caller.principal), tenant, path, data, options, {
          metadata,
        }),
      resultTarget: (result) => ({ path, version: result.version }),
    });
  }

  readMetadata(caller: Caller, rawPath: string): Promise<SecretMetadata> {
    const path = parseSecretPath(rawPath);
    return this.guard(caller, path, {
      action: 'secret.metadata.read',
      operation: 'readMetadata',
      target: { path },
      run: () => this.secrets.readMetadata(caller.principal.tenant, path),
    });
  }

  writeMetadata(caller: Caller, rawPath: string, update: MetadataUpdate): Promise<SecretMetadata> {
    const path = parseSecretPath(rawPath);
    return this.guard(caller, path, {
      action: 'secret.metadata.write',
      operation: 'writeMetadata',
      target: { path },
      run: () => this.secrets.writeMetadata(caller.principal.tenant, path, update),
    });
  }

  list(caller: Caller, rawPrefix: string, options: ListOptions = {}): Promise<SecretList> {
    const prefix = parseSecretPrefix(rawPrefix);
    return this.guard(caller, prefix, {
      action: 'secret.list',
      operation: 'list',
      target: prefix === '' ? {} : { path: prefix },
      run: () => this.secrets.list(caller.principal.tenant, prefix, options),
    });
  }

  softDelete(caller: Caller, rawPath: string, versions?: readonly number[]): Promise<void> {
    const path = parseSecretPath(rawPath);
    return this.guard(caller, path, {
      action: 'secret.delete',
      operation: 'softDelete',
      target: { path, ...(versions === undefined ? {} : { versions: [...versions] }) },
      run: () => this.secrets.softDelete(caller.principal.tenant, path, versions),
    });
  }

  undelete(caller: Caller, rawPath: string, versions: readonly number[]): Promise<void> {
    const path = parseSecretPath(rawPath);
    return this.guard(caller, path, {
      action: 'secret.undelete',
      operation: 'undelete',
      target: { path, versions: [...versions] },
      run: () => this.secrets.undelete(caller.principal.tenant, path, versions),
    });
  }

  destroy(caller: Caller, rawPath: string, versions: readonly number[]): Promise<void> {
    const path = parseSecretPath(rawPath);
    return this.guard(caller, path, {
      action: 'secret.destroy',
      operation: 'destroy',
      target: { path, versions: [...versions] },
      run: () => this.secrets.destroy(caller.principal.tenant, path, versions),
    });
  }

  deleteAll(caller: Caller, rawPath: string): Promise<void> {
    const path = parseSecretPath(rawPath);
    return this.guard(caller, path, {
      action: 'secret.deleteAll',
      operation: 'deleteAll',
      target: { path },
      run: () => this.secrets.deleteAll(caller.principal.tenant, path),
    });
  }

  private async guard<T>(caller: Caller, target: SecretPath | SecretPrefix, attempt: Attempt<T>): Promise<T> {
    const { principal } = caller;
    const attached = await this.policies.attachments(principal.tenant);
    const decision =
      attempt.operation === 'list'
        ? authorizeSecretOperation(principal, attached, target as SecretPrefix, 'list')
        : authorizeSecretOperation(principal, attached, target as SecretPath, attempt.operation);
    return audited<T>({
      denial: decision.allowed ? undefined : decision.reason,
      run: attempt.run,
      record: (outcome, reason, done) =>
        this.record(
          caller,
          attempt.action,
          done === undefined ? attempt.target : (attempt.resultTarget?.(done) ?? attempt.target),
          outcome,
          reason,
        ),
    });
  }

  private record(
    caller: Caller,
    action: AuditAction,
    target: AuditTarget,
    outcome: AuditOutcome,
    reason?: string,
  ): Promise<void> {
    return this.audit.record(callerAuditEvent(caller, this.clock, { action, target, outcome, reason }));
  }
}
