/**
 * What the rotation engine's parts share: the engine's public types and options, its errors,
 * and the state of one execution. The parts are `engine-start.ts` (start and lock),
 * `engine-steps.ts` (step driver), `engine-rollback.ts` (rollback), `engine-retirement.ts`
 * (retirement) and `engine-core.ts` (checkpoints, leases, audit and events); `engine.ts` is the
 * entry point that puts them together.
 */
import type { AuditActor } from '../audit/audit-event.js';
import { ConflictError } from '../errors.js';
import type { DomainEvent } from '../events.js';
import type { RotationPolicy } from './policy.js';
import type { RotationRecord, RotationStepName, RotationTrigger, StepRecord } from './rotation.js';
import type { CurrentValue, RotationSecrets } from './rotation-secrets.js';
import type { RotationTarget, Rotator } from './rotator.js';
export const MINUTE_MS = 60_000;
/** The base of a rotation whose secret held no version: promotion writes version 1 (cas 0). */
export const FIRST_VALUE: CurrentValue = Object.freeze({ version: 0, data: Object.freeze({}) });
export const DAY_MS = 24 * 60 * MINUTE_MS;

/** Where the engine learns about credentials and reports their rotation state (the inventory). */
export interface RotationTargets {
  load(tenant: string, credentialId: string): Promise<RotationTarget | undefined>;
  recordOutcome(tenant: string, credentialId: string, outcome: RotationOutcome): Promise<void>;
}

export type RotationOutcome =
  | { readonly kind: 'rotating'; readonly rotationId: string; readonly at: string }
  | {
      readonly kind: 'succeeded';
      readonly rotationId: string;
      readonly at: string;
      readonly dryRun: boolean;
      /** The new value's expiry (`provider.expiresAt`); `null`: an expiring type learned none. */
      readonly expiresAt?: string | null | undefined;
    }
  | { readonly kind: 'failed'; readonly rotationId: string; readonly at: string; readonly reason: string }
  | { readonly kind: 'rolled-back'; readonly rotationId: string; readonly at: string };

export type RotatorRegistry = Readonly<Record<string, Rotator<unknown> | undefined>>;

export interface RotationRequester {
  readonly actor: AuditActor;
  /** `user:<name>`, `client:<id>` or `system:scheduler`, kept on the record. */
  readonly name: string;
  readonly requestId?: string | undefined;
  readonly correlationId?: string | undefined;
}

export interface StartRequest {
  readonly tenant: string;
  readonly credentialId: string;
  readonly trigger: RotationTrigger;
  readonly requestedBy: RotationRequester;
  /** A caller's key: the same key starts one rotation, however often it is sent (24 hours). */
  readonly idempotencyKey?: string | undefined;
  /** Scheduled runs: the due time the scheduler saw, which makes the rotation id deterministic. */
  readonly dueAt?: string | undefined;
}

export type StartResult =
  | { readonly status: 'started' | 'existing'; readonly record: RotationRecord }
  /** Scheduled runs only: nothing to do (no longer due, outside the window, exempt). */
  | { readonly status: 'skipped'; readonly reason: string };

/** What a caller of `submit` may ask for. */
export interface SubmitOptions {
  /**
   * When the caller stops waiting for the answer (the rotations API's own time-out, less the time
   * the answer needs to reach it). Absent: the caller waits as long as the submission takes.
   */
  readonly deadline?: Date | undefined;
}

export type RunOutcome = 'succeeded' | 'failed' | 'rolled-back' | 'busy' | 'awaiting-input';

export interface RotationEngineOptions {
  /** How long an executor may hold a rotation before another may take over (default 15 minutes). */
  readonly leaseMs?: number;
  /** A lock whose holder never recorded a rotation is taken over after this (default 5 minutes). */
  readonly orphanLockMs?: number;
  /** Attempts per step before a rotation that has not been promoted yet rolls back (default 5). */
  readonly maxStepAttempts?: number;
  /**
   * Attempts at an automatic rollback before the rotation fails with its rollback unfinished
   * (default twice `maxStepAttempts`): a provider that stays unreachable is not retried for ever.
   */
  readonly maxRollbackAttempts?: number;
  /**
   * How long before a submission's deadline its commit must begin (default 10 s): the commit
   * write, and when that is refused, learning its outcome. One DynamoDB call the SDK retries on
   * throttling may take about 7 s (4 attempts, full-jitter backoff from 1 s).
   */
  readonly submitReserveMs?: number;
  readonly onEventsFailed?: (error: unknown, events: readonly DomainEvent[]) => void;
}

/** Another executor holds the rotation (or the store moved under us): try again later. */
export class RotationBusyError extends ConflictError {}

/** Internal: a step failed in a way no retry can fix, before promotion: roll back. */
export class RollBack extends Error {
  constructor(
    readonly step: RotationStepName,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
    this.name = 'RollBack';
  }
}

/** One executor's hold on one rotation: the record as last saved and what the run needs. */
export interface Execution {
  record: RotationRecord;
  readonly owner: string;
  readonly target: RotationTarget;
  readonly policy: RotationPolicy;
  readonly rotator: Rotator<unknown>;
  readonly settings: unknown;
  readonly secrets: RotationSecrets;
}

/** The steps with `entry` in place of the last record of its step (or appended). */
export function withStep(steps: readonly StepRecord[], entry: StepRecord): StepRecord[] {
  const index = steps.map((item) => item.step).lastIndexOf(entry.step);
  return index === -1
    ? [...steps, entry]
    : steps.map((item, position) => (position === index ? entry : item));
}
