/**
 * Rotation as callers reach it through the API: request a rotation (queued, answered at once),
 * read a credential's rotations and one rotation's steps, roll back, and manage the tenant's
 * rotation policies. Authorized like the inventory (operators and admins change, everyone reads;
 * admins manage policies, auditors may read them; machine clients by scope) and audited
 * fail-closed: a call whose audit record cannot be written fails with 503. A policy write is done
 * once the policy is stored: the due-time refresh that follows it may be deferred (its mark stays
 * on the policy item and the next scheduler run carries it out; due-time-refresh.ts).
 */
import { principalName } from '../principal.js';
import { audited, failureCode, ROLE_DENIAL } from '../audit/audited.js';
import type { AuditAction, AuditOutcome } from '../audit/audit-event.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { auditActorOf, type Caller, callerAuditEvent } from '../audit/caller.js';
import {
  changesInventory,
  type InventoryAccess,
  mayAccessInventory,
} from '../credentials/inventory-access.js';
import { isCredentialId } from '../credentials/credential.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import type { Clock } from '../ports.js';
import type { RotationEngine, RotationRequester } from './engine.js';
import { parseRotationPolicy, type StoredRotationPolicy } from './policy.js';
import { credentialIdOfRotation, isTerminal, type RotationRecord } from './rotation.js';
import { type RollbackRunner, SubmittedValueSchema } from './rollback-runner.js';
import type { RotationQueue } from './rotation-queue.js';
import type { RotationPage, RotationPolicyStore, RotationStore } from './rotation-store.js';
import { RotationRefusedError, RotationTestFailedError } from './rotator.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export class RotationAccess {
  constructor(
    private readonly engine: RotationEngine,
    private readonly store: RotationStore,
    private readonly policies: RotationPolicyStore,
    private readonly queue: RotationQueue,
    /** Runs explicit rollbacks: in this process locally, in the rotation worker in AWS. */
    private readonly rollbacks: RollbackRunner,
    private readonly audit: AuditSink,
    private readonly clock: Clock,
    /** Whether the tenant has this credential: an unknown one answers 404 on every route. */
    private readonly credentials: { load(tenant: string, credentialId: string): Promise<unknown> },
    /**
     * Recomputes due times of the tenant's credentials after a policy changed; resolves even when
     * it has to defer that to the scheduler (`DueTimeRefresh.refreshOrDefer`), since the policy is
     * stored by then and a 503 would say it was not.
     */
    private readonly onPoliciesChanged: (tenant: string) => Promise<unknown> = async () => undefined,
  ) {}

  /** Starts (or finds, for a repeated idempotency key) a rotation and queues it. */
  async request(caller: Caller, credentialId: string, idempotencyKey?: string): Promise<RotationRecord> {
    if (!mayAccessInventory(caller.principal, 'write')) {
      await this.record(caller, 'rotation.request', credentialId, 'denied', ROLE_DENIAL);
      throw new ForbiddenError('Permission denied');
    }
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new ValidationError('Idempotency-Key must be 1 to 255 visible ASCII characters');
    }
    if (!isCredentialId(credentialId)) throw new NotFoundError(`No credential ${credentialId.slice(0, 64)}`);
    // Fail closed before anything is stored or queued (ADR 0004); the engine records the outcome.
    await this.record(caller, 'rotation.request', credentialId, 'attempted');
    let record: RotationRecord;
    try {
      const started = await this.engine.start({
        tenant: caller.principal.tenant,
        credentialId,
        trigger: 'manual',
        requestedBy: requesterOf(caller),
        idempotencyKey,
      });
      if (started.status === 'skipped') throw new Error('A manual rotation is never skipped');
      record = started.record;
    } catch (error: unknown) {
      await this.record(caller, 'rotation.request', credentialId, 'failed', failureCode(error)).catch(
        () => undefined,
      );
      throw error;
    }
    if (!isTerminal(record.state)) {
      await this.queue.send([
        { kind: 'run', tenant: record.tenant, credentialId, rotationId: record.rotationId },
      ]);
    }
    return record;
  }

  async list(
    caller: Caller,
    credentialId: string,
    page: { limit?: number | undefined; cursor?: string | undefined },
  ): Promise<RotationPage> {
    return this.guard(caller, 'read', 'rotation.list', credentialId, async () => {
      if (
        !isCredentialId(credentialId) ||
        (await this.credentials.load(caller.principal.tenant, credentialId)) === undefined
      )
        throw new NotFoundError(`No credential ${credentialId.slice(0, 64)}`);
      return this.store.list(caller.principal.tenant, credentialId, {
        limit: page.limit ?? 50,
        cursor: page.cursor,
      });
    });
  }

  async get(caller: Caller, rotationId: string): Promise<RotationRecord> {
    const credentialId = credentialIdOfRotation(rotationId);
    return this.guard(caller, 'read', 'rotation.read', credentialId, async () => {
      const record =
        credentialId === undefined
          ? undefined
          : await this.store.get(caller.principal.tenant, credentialId, rotationId);
      if (record === undefined) throw new NotFoundError(`No rotation ${rotationId.slice(0, 80)}`);
      return record;
    });
  }

  async rollback(caller: Caller, rotationId: string): Promise<RotationRecord> {
    const credentialId = credentialIdOfRotation(rotationId);
    return this.guard(caller, 'write', 'rotation.rollback', credentialId, async () => {
      if (credentialId === undefined) throw new NotFoundError(`No rotation ${rotationId.slice(0, 80)}`);
      try {
        const key = { tenant: caller.principal.tenant, credentialId, rotationId };
        const requestedBy = requesterOf(caller);
        const record = await this.rollbacks.rollback(key, requestedBy);
        // Begun, not finished (the storage refused a step): the worker finishes it. Best effort:
        // the rollback is idempotent, so a retried request finishes it too.
        if (record.state !== 'rolled-back') {
          await this.queue.send([{ kind: 'rollback', ...key, requestedBy }]).catch(() => undefined);
        }
        return record;
      } catch (error: unknown) {
        // The provider cannot take the previous credential back (an old IAM key was deleted by
        // hand, …): the rollback conflicts with the provider's state, which retrying cannot fix.
        if (error instanceof RotationRefusedError || error instanceof RotationTestFailedError) {
          throw new ConflictError(`The rollback cannot be done: ${error.message}`, { cause: error });
        }
        throw error;
      }
    });
  }

  /**
   * Hands a person's new value for an assisted rotation to the worker, which checks it with the
   * type's test and finishes the rotation. A refused value answers 400 with the reason (the
   * rotation stays open); the value is never logged, audited or echoed. `deadline` is when the
   * caller stops waiting (the worker honours it); a rotation answered still in progress is
   * queued for the worker to finish.
   */
  async submit(caller: Caller, rotationId: string, value: unknown, deadline: Date): Promise<RotationRecord> {
    const credentialId = credentialIdOfRotation(rotationId);
    return this.guard(caller, 'write', 'rotation.submit', credentialId, async () => {
      if (credentialId === undefined) throw new NotFoundError(`No rotation ${rotationId.slice(0, 80)}`);
      const parsed = SubmittedValueSchema.safeParse(value);
      if (!parsed.success) {
        throw new ValidationError('The submitted value must be an object of named string fields', {
          details: {
            issues: parsed.error.issues.map((issue) => ({
              path: ['value', ...issue.path.map(String)].join('.'),
              code: issue.code,
              message: issue.message,
            })),
          },
        });
      }
      const record = await this.rollbacks.submit(
        { tenant: caller.principal.tenant, credentialId, rotationId },
        parsed.data,
        requesterOf(caller),
        deadline,
      );
      // Taken, not finished (the deadline came, or the storage refused a later step): hand it to
      // the worker now rather than wait for a scheduled run, which only comes once the credential
      // is due. Best effort: the value is taken either way, and a run may be queued twice.
      if (record.state === 'in-progress') {
        await this.queue
          .send([{ kind: 'run', tenant: caller.principal.tenant, credentialId, rotationId }])
          .catch(() => undefined);
      }
      return record;
    });
  }

  listPolicies(caller: Caller): Promise<StoredRotationPolicy[]> {
    return this.guard(caller, 'readConfiguration', 'rotation.policy.read', undefined, () =>
      this.policies.list(caller.principal.tenant),
    );
  }

  getPolicy(caller: Caller, name: string): Promise<StoredRotationPolicy> {
    return this.guard(
      caller,
      'readConfiguration',
      'rotation.policy.read',
      undefined,
      async () => {
        const stored = await this.policies.get(caller.principal.tenant, name);
        if (stored === undefined) throw new NotFoundError(`No rotation policy ${name.slice(0, 128)}`);
        return stored;
      },
      name,
    );
  }

  putPolicy(
    caller: Caller,
    name: string,
    settings: unknown,
    revision?: number,
  ): Promise<StoredRotationPolicy> {
    return this.guard(
      caller,
      'configure',
      'rotation.policy.write',
      undefined,
      async () => {
        const policy = parseRotationPolicy(name, settings);
        const stored = await this.policies.put(
          caller.principal.tenant,
          policy,
          this.clock.now().toISOString(),
          revision,
        );
        await this.onPoliciesChanged(caller.principal.tenant);
        return stored;
      },
      name,
    );
  }

  deletePolicy(caller: Caller, name: string, revision?: number): Promise<void> {
    return this.guard(
      caller,
      'configure',
      'rotation.policy.delete',
      undefined,
      async () => {
        await this.policies.delete(caller.principal.tenant, name, revision);
        await this.onPoliciesChanged(caller.principal.tenant);
      },
      name,
    );
  }

  private async guard<T>(
    caller: Caller,
    access: InventoryAccess,
    action: AuditAction,
    credentialId: string | undefined,
    run: () => Promise<T>,
    policy?: string,
  ): Promise<T> {
    return audited({
      denial: mayAccessInventory(caller.principal, access) ? undefined : ROLE_DENIAL,
      changes: changesInventory(access),
      run,
      record: (outcome, reason) => this.record(caller, action, credentialId, outcome, reason, policy),
    });
  }

  private record(
    caller: Caller,
    action: AuditAction,
    credentialId: string | undefined,
    outcome: AuditOutcome,
    reason?: string,
    policy?: string,
  ): Promise<void> {
    const validPolicy = policy !== undefined && /^[A-Za-z0-9._-]{1,128}$/.test(policy) ? policy : undefined;
    const target = {
      ...(credentialId !== undefined && isCredentialId(credentialId) ? { credentialId } : {}),
      ...(validPolicy === undefined ? {} : { policy: validPolicy }),
    };
    return this.audit.record(callerAuditEvent(caller, this.clock, { action, target, outcome, reason }));
  }
}

export function requesterOf(caller: Caller): RotationRequester {
  const { principal } = caller;
  return {
    actor: auditActorOf(caller),
    name: principalName(principal),
    requestId: caller.requestId,
    correlationId: caller.correlationId,
  };
}
