/**
 * One rotation of one credential: a resumable state machine with Secrets Manager's steps
 * (`create`, `set`, `test`, `finish`), then the retirement of the old credential after the
 * policy's grace periods. The record is checkpointed in the `rotations` table before and after
 * every step, so a crash at any point resumes at the right step, and a retry with the same
 * rotation id (the rotation token) changes nothing twice.
 *
 * A rotation record holds facts (which step ran when, with what outcome; provider identifiers
 * such as an access key id or a role name), never a credential's value: pending values live,
 * encrypted, in the secret store.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RotatorType } from './policy.js';

/**
 * `awaiting-input`: an assisted rotation (a credential no API can rotate) waits for a person to
 * submit the new value; it is not terminal and keeps the credential's in-flight lock.
 */
export const ROTATION_STATES = [
  'pending',
  'in-progress',
  'awaiting-input',
  'succeeded',
  'failed',
  'rolled-back',
] as const;
export type RotationState = (typeof ROTATION_STATES)[number];

export const ROTATION_STEPS = [
  'create',
  'set',
  'test',
  'finish',
  'rollback',
  'deactivate',
  'delete',
  'preflight',
] as const;
export type RotationStepName = (typeof ROTATION_STEPS)[number];

/** The four steps every rotation goes through, in order. */
export const MAIN_STEPS = ['create', 'set', 'test', 'finish'] as const satisfies readonly RotationStepName[];
export type MainStep = (typeof MAIN_STEPS)[number];

export const STEP_STATUSES = ['running', 'succeeded', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const ROTATION_TRIGGERS = ['manual', 'schedule'] as const;
export type RotationTrigger = (typeof ROTATION_TRIGGERS)[number];

/** A value the rotator keeps between steps: identifiers and flags, never a secret. */
export type ProviderValue = string | number | boolean;
export type ProviderState = Readonly<Record<string, ProviderValue>>;

export interface StepRecord {
  readonly step: RotationStepName;
  readonly status: StepStatus;
  /** ISO-8601. */
  readonly startedAt: string;
  readonly endedAt: string | undefined;
  /** How many times the step was started (a resumed step runs again). */
  readonly attempts: number;
  /** Why it failed or was skipped: an error code and a message without secret values. */
  readonly outcome: string | undefined;
}

export const RETIREMENT_STATUSES = ['scheduled', 'deactivated', 'retired', 'blocked', 'cancelled'] as const;
export type RetirementStatus = (typeof RETIREMENT_STATUSES)[number];

/** What is left to do to the old credential after `finish` (or to the new one after a rollback). */
export interface Retirement {
  readonly status: RetirementStatus;
  /** The provider identifier to retire (an access key id), as the rotator named it. */
  readonly ref: ProviderState;
  /** The next phase and when it is due (ISO-8601); undefined once retired or cancelled. */
  readonly nextPhase: 'deactivate' | 'delete' | undefined;
  readonly dueAt: string | undefined;
  readonly deactivatedAt: string | undefined;
  readonly retiredAt: string | undefined;
  /** Why retirement waits (e.g. the key was used recently). */
  readonly note: string | undefined;
}

export interface RotationRecord {
  readonly tenant: string;
  readonly credentialId: string;
  /** The rotation token: deterministic for scheduled runs and idempotency keys. */
  readonly rotationId: string;
  readonly credentialType: RotatorType;
  readonly trigger: RotationTrigger;
  /** Who asked: `user:<name>`, `client:<id>` or `system:scheduler`. */
  readonly requestedBy: string;
  readonly policyName: string | undefined;
  readonly dryRun: boolean;
  readonly state: RotationState;
  readonly steps: readonly StepRecord[];
  /** Identifiers the rotator keeps between steps (never values). */
  readonly provider: ProviderState;
  /** The secret-store version that was current when `create` ran, and the one `finish` wrote. */
  readonly baseVersion: number | undefined;
  readonly promotedVersion: number | undefined;
  readonly retirement: Retirement | undefined;
  /** Why the rotation failed (error code and message, no values). */
  readonly failure: string | undefined;
  /** Who may work on it: one executor at a time, until `until` (then another may take over). */
  readonly lease: { readonly owner: string; readonly until: string } | undefined;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | undefined;
  /** Increases with every stored change; every write is conditional on it. */
  readonly revision: number;
}

export const TERMINAL_STATES: readonly RotationState[] = ['succeeded', 'failed', 'rolled-back'];

export function isTerminal(state: RotationState): boolean {
  return TERMINAL_STATES.includes(state);
}

const ROTATION_ID = /^rot_[0-9a-f]{24}_[0-9a-z]{9}[0-9a-f]{8}$/;

/**
 * A rotation id names its credential (`cr_<hex>` → `rot_<hex>_…`) so a rotation is read with one
 * consistent GetItem, and sorts by time within its credential (a fixed-width base-36 time).
 * `seed` makes it deterministic (idempotency keys, scheduled runs); without it the suffix is random.
 */
export function newRotationId(credentialId: string, at: Date, seed?: string): string {
  const hex = credentialId.replace(/^cr_/, '');
  if (!/^[0-9a-f]{24}$/.test(hex)) throw new RangeError('Not a credential id');
  const time = Math.max(0, at.getTime()).toString(36).padStart(9, '0');
  const suffix =
    seed === undefined
      ? randomBytes(4).toString('hex')
      : createHash('sha256').update(`${credentialId}\n${seed}`).digest('hex').slice(0, 8);
  return `rot_${hex}_${time}${suffix}`;
}

export function isRotationId(value: string): boolean {
  return ROTATION_ID.test(value);
}

/** The credential a rotation id belongs to; undefined for a malformed id. */
export function credentialIdOfRotation(rotationId: string): string | undefined {
  return isRotationId(rotationId) ? `cr_${rotationId.slice(4, 28)}` : undefined;
}

/** The last record of `step`, if it ran. */
export function lastStep(
  record: Pick<RotationRecord, 'steps'>,
  step: RotationStepName,
): StepRecord | undefined {
  return [...record.steps].reverse().find((entry) => entry.step === step);
}

export function stepSucceeded(record: Pick<RotationRecord, 'steps'>, step: RotationStepName): boolean {
  const entry = lastStep(record, step);
  return entry?.status === 'succeeded' || entry?.status === 'skipped';
}
