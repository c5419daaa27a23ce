/**
 * The secret store as callers reach it: every operation is authorized against the tenant's
 * path policies, performed, and recorded in the audit log before its result is returned.
 *
 * Audit is fail-closed (DESIGN.md, ADR 0004): a read whose audit record cannot be written returns
 * nothing (503); a change runs only after its `attempted` event is durable, so an audit store that
 * is down refuses it (503) before anything is touched. A denied or failed attempt is audited too,
 * and values never reach the audit log: only paths, version numbers, outcomes and error codes.
 */
import { audited, LateDenialError } from '../audit/audited.js';
import { authorizeSecretOperation } from '../access/authorize.js';
import type { KvOperation } from '../access/policy.js';
import type { PolicyStore } from '../access/policy-store.js';
import type { AuditAction, AuditOutcome, AuditTarget } from '../audit/audit-event.js';
import { type Caller, callerAuditEvent } from '../audit/caller.js';
import type { AuditSink } from '../audit/audit-sink.js';
import type { Clock } from '../ports.js';
import { principalName } from '../principal.js';
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

/** The operations that only read; every other one changes the store and is audited as attempted first. */
const READ_OPERATIONS: ReadonlySet<KvOperation> = new Set(['readValue', 'readMetadata', 'list']);

export class SecretAccess {
  constructor(
    private readonly secrets: SecretsService,
    private readonly policies: PolicyStore,
    private readonly audit: AuditSink,
    private readonly clock: Clock,
  ) {}

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
    const { principal } = caller;
    const tenant = principal.tenant;
    // Creating and updating are separate capabilities, as in Vault, and which one applies depends
    // on whether the secret exists. That read happens only after the call is authorized as far as
    // it can be without it and its `attempted` event is durable, so a failing read leaves a trace.
    const attached = await this.policies.attachments(tenant);
    const create = authorizeSecretOperation(principal, attached, path, 'create');
    const update = authorizeSecretOperation(principal, attached, path, 'update');
    const target: AuditTarget = { path };
    return audited({
      denial: create.allowed || update.allowed ? undefined : create.reason,
      changes: true,
      run: async () => {
        // The same read serves the write's casRequired check.
        const metadata = await this.secrets.metadataIfAny(tenant, path);
        const decision = metadata === undefined ? create : update;
        if (!decision.allowed) throw new LateDenialError(decision.reason);
        return this.secrets.write(principalName(principal), tenant, path, data, options, {
          metadata,
        });
      },
      record: (outcome, reason, done) =>
        this.record(
          caller,
          'secret.write',
          done === undefined ? target : { path, version: done.version },
          outcome,
          reason,
        ),
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
      changes: !READ_OPERATIONS.has(attempt.operation),
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
