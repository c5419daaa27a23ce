/**
 * Starting a rotation: the gates (a rotator and a policy, exemption, due time and window for
 * scheduled runs, pair spacing), the rotation id (idempotency key, due time, or new), and the
 * credential's in-flight lock, taken over only from a holder that finished or never started.
 */
import { createHash } from 'node:crypto';
import { ConflictError, NotFoundError } from '../errors.js';
import type { EngineCore } from './engine-core.js';
import { MINUTE_MS, type StartRequest, type StartResult } from './engine-model.js';
import { dueTimeOf, isExempt, openWindowStart, pairOf, type RotationPolicy } from './policy.js';
import { isTerminal, newRotationId, type RotationRecord } from './rotation.js';
import type { RotationTarget } from './rotator.js';

export class RotationStarter {
  constructor(private readonly core: EngineCore) {}

  /**
   * Records a new rotation (state `pending`) and takes the credential's in-flight lock for it.
   * `ConflictError` when another rotation is in flight, the credential is exempt, or its pair
   * rotated too recently; `ValidationError` when it cannot be rotated (no rotator, no policy,
   * invalid settings); `NotFoundError` when it does not exist.
   */
  async start(request: StartRequest): Promise<StartResult> {
    const now = this.core.clock.now();
    const target = await this.core.targets.load(request.tenant, request.credentialId);
    if (target === undefined) throw new NotFoundError(`No credential ${request.credentialId.slice(0, 64)}`);
    const { rotator, policy } = this.core.rotatable(target);
    rotator.parseSettings(target.settings);
    const scheduled = request.trigger === 'schedule';

    if (isExempt(policy, target.tags)) {
      if (scheduled) return { status: 'skipped', reason: 'exempt' };
      throw new ConflictError(`The credential carries the exemption tag ${policy.exemptionTag}`);
    }
    if (scheduled) {
      const due = this.dueTime(target, policy);
      if (due === undefined || due.getTime() > now.getTime()) return { status: 'skipped', reason: 'not due' };
      if (openWindowStart(policy.window, now) === undefined)
        return { status: 'skipped', reason: 'outside window' };
    }

    const rotationId = await this.rotationIdFor(request, target, policy, now);
    const existing = await this.core.store.get(request.tenant, request.credentialId, rotationId);
    if (existing !== undefined) return { status: 'existing', record: existing };

    if (scheduled) {
      // An assisted rotation waits for weeks under the lock: each scheduled run resumes it (its
      // reminders), whichever id it was started with; and once a submission moved it on, each
      // resumes it until it ends (a step the storage refused after the submission was taken).
      const holder = await this.core.store.lockHolder(request.tenant, request.credentialId);
      const held =
        holder === undefined || holder.rotationId === rotationId
          ? undefined
          : await this.core.store.get(request.tenant, request.credentialId, holder.rotationId);
      if (
        held?.state === 'awaiting-input' ||
        (held?.state === 'in-progress' && rotator.assisted !== undefined)
      )
        return { status: 'existing', record: held };
    }
    await this.lock(request.tenant, request.credentialId, rotationId, now);
    try {
      const pair = policy.dryRun ? undefined : pairOf(policy, target.tags);
      if (pair !== undefined) {
        const since = new Date(now.getTime() - policy.pairSpacingMinutes * MINUTE_MS).toISOString();
        const slot = await this.core.store.claimPairSlot(
          request.tenant,
          pair,
          rotationId,
          now.toISOString(),
          since,
        );
        if (!slot.claimed) {
          await this.core.store.releaseLock(request.tenant, request.credentialId, rotationId);
          if (scheduled) return { status: 'skipped', reason: 'pair spacing' };
          throw new ConflictError(
            `A credential paired with this one started rotating at ${slot.lastStartedAt}; pairs rotate at least ${policy.pairSpacingMinutes} minutes apart`,
            { details: { pair, rotationId: slot.holder, lastStartedAt: slot.lastStartedAt } },
          );
        }
      }

      const record: RotationRecord = {
        tenant: request.tenant,
        credentialId: request.credentialId,
        rotationId,
        credentialType: rotator.type,
        trigger: request.trigger,
        requestedBy: request.requestedBy.name,
        policyName: policy.name,
        dryRun: policy.dryRun,
        state: 'pending',
        steps: [],
        provider: {},
        baseVersion: undefined,
        promotedVersion: undefined,
        retirement: undefined,
        failure: undefined,
        lease: undefined,
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
        finishedAt: undefined,
        revision: 1,
      };
      await this.core.recordAudit(
        record,
        'rotation.request',
        'allowed',
        `${request.trigger} rotation requested`,
        {
          actor: request.requestedBy.actor,
          requestId: request.requestedBy.requestId,
          correlationId: request.requestedBy.correlationId,
        },
      );
      if (!(await this.core.store.create(record))) {
        const stored = await this.core.store.get(request.tenant, request.credentialId, rotationId);
        if (stored !== undefined) return { status: 'existing', record: stored };
      }
      return { status: 'started', record };
    } catch (error: unknown) {
      // Nothing half done: the lock goes again unless the record was stored after all.
      await this.releaseUnstarted(request.tenant, request.credentialId, rotationId);
      throw error;
    }
  }

  /**
   * After a start that failed while holding the credential's lock: frees the lock, unless the
   * rotation record was stored after all (a write whose answer was lost), in which case the
   * rotation stands and keeps it. Best effort: a lock the storage would not free is taken over
   * once its holder is found never to have started (`orphanLockMs`).
   */
  private async releaseUnstarted(tenant: string, credentialId: string, rotationId: string): Promise<void> {
    try {
      if ((await this.core.store.get(tenant, credentialId, rotationId)) !== undefined) return;
      await this.core.store.releaseLock(tenant, credentialId, rotationId);
    } catch {
      // Left to the takeover described above.
    }
  }

  dueTime(target: RotationTarget, policy: RotationPolicy): Date | undefined {
    return dueTimeOf(policy, target.lastRotatedAt ?? target.createdAt, this.core.expiryLead(target));
  }

  async rotationIdFor(
    request: StartRequest,
    target: RotationTarget,
    policy: RotationPolicy,
    now: Date,
  ): Promise<string> {
    if (request.idempotencyKey !== undefined) {
      const keyHash = createHash('sha256').update(request.idempotencyKey).digest('hex');
      const candidate = newRotationId(target.credentialId, now);
      const seconds = Math.floor(now.getTime() / 1000);
      return this.core.store.rememberIdempotencyKey(request.tenant, target.credentialId, keyHash, candidate, {
        now: seconds,
        expiresAt: seconds + 24 * 3600,
      });
    }
    if (request.trigger === 'schedule') {
      // One rotation per due time, however many scheduler runs or queue deliveries see it. The
      // index's due time moves after a failure (retry a day later), so a retry gets a new id.
      const given = request.dueAt === undefined ? Number.NaN : Date.parse(request.dueAt);
      const due = Number.isNaN(given) ? (this.dueTime(target, policy) ?? now) : new Date(given);
      return newRotationId(target.credentialId, due, `schedule\n${due.toISOString()}`);
    }
    return newRotationId(target.credentialId, now);
  }

  /** Takes the in-flight lock, taking over from a holder that finished or never started. */
  async lock(tenant: string, credentialId: string, rotationId: string, now: Date): Promise<void> {
    const first = await this.core.store.acquireLock(tenant, credentialId, rotationId, now.toISOString());
    if (first.acquired) return;
    const holder = await this.core.store.get(tenant, credentialId, first.holder);
    // A lock outlives its rotation only after a crash; a holder that never recorded its
    // rotation may still be about to, so it gets `orphanLockMs` first.
    const leaked =
      holder === undefined
        ? now.getTime() - Date.parse(first.since) > this.core.orphanLockMs
        : isTerminal(holder.state);
    if (leaked) {
      const second = await this.core.store.acquireLock(
        tenant,
        credentialId,
        rotationId,
        now.toISOString(),
        first.holder,
      );
      if (second.acquired) return;
    }
    throw new ConflictError(`Rotation ${first.holder} of this credential is in flight`, {
      details: { rotationId: first.holder },
    });
  }
}
