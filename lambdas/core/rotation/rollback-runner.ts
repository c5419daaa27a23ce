/**
 * Where an explicit rollback (and an assisted rotation's submission) runs. Rolling back acts at the provider (re-activating an old IAM
 * key, restoring a database password), so in AWS it runs in the rotation worker, which holds
 * those rights, invoked synchronously by the rotations API (whose function holds none of them);
 * locally it runs in the same process. Either way the caller gets the rolled-back record, or the
 * engine's error, at once.
 *
 * The command that crosses the function boundary is validated on arrival like any other input.
 */
import * as z from 'zod';
import {
  ConflictError,
  DependencyUnavailableError,
  type DomainError,
  type ErrorDetails,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../errors.js';
import type { RotationRequester } from './engine.js';
import type { RotationRecord } from './rotation.js';
import { CredentialId, RequesterSchema as Requester, RotationId, Tenant } from './rotation-queue.js';
import type { RotationKey } from './rotation-store.js';
import { RotationRefusedError, RotationTestFailedError } from './rotator.js';

export interface RollbackRunner {
  rollback(key: RotationKey, requestedBy: RotationRequester): Promise<RotationRecord>;
  /**
   * Takes a person's value for an assisted rotation (checked by the type's test at the provider,
   * stored sealed as the pending value): the same way across the function boundary as a rollback,
   * for the same reason (the worker holds the secret store and the outbound access).
   */
  submit(
    key: RotationKey,
    value: SubmittedValue,
    requestedBy: RotationRequester,
    deadline: Date,
  ): Promise<RotationRecord>;
}

/** A submitted value: named string fields (the type's rotator checks which). */
export const SubmittedValueSchema = z
  .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/), z.string().max(16_384))
  .refine(
    (value) => Object.keys(value).length >= 1 && Object.keys(value).length <= 20,
    'expected 1 to 20 fields',
  );
export type SubmittedValue = z.infer<typeof SubmittedValueSchema>;

export const RollbackCommandSchema = z.strictObject({
  kind: z.literal('rollback'),
  tenant: Tenant,
  credentialId: CredentialId,
  rotationId: RotationId,
  requestedBy: Requester,
});
export type RollbackCommand = z.infer<typeof RollbackCommandSchema>;

export const SubmitCommandSchema = z.strictObject({
  kind: z.literal('submit'),
  tenant: Tenant,
  credentialId: CredentialId,
  rotationId: RotationId,
  requestedBy: Requester,
  value: SubmittedValueSchema,
  /**
   * When the caller stops waiting (its own time-out, less the way back): the worker does not
   * pass the commit point too close to it, and after the commit answers the rotation as it
   * stands when it comes (engine `submit`).
   */
  deadline: z.iso.datetime(),
});
export type SubmitCommand = z.infer<typeof SubmitCommandSchema>;

/** What the rotations API sends the rotation worker directly (Lambda Invoke; in process locally). */
export const WorkerCommandSchema = z.discriminatedUnion('kind', [RollbackCommandSchema, SubmitCommandSchema]);
export type WorkerCommand = z.infer<typeof WorkerCommandSchema>;

export function submitCommand(
  key: RotationKey,
  value: SubmittedValue,
  requestedBy: RotationRequester,
  deadline: Date,
): SubmitCommand {
  return { ...rollbackCommand(key, requestedBy), kind: 'submit', value, deadline: deadline.toISOString() };
}

export function rollbackCommand(key: RotationKey, requestedBy: RotationRequester): RollbackCommand {
  return {
    kind: 'rollback',
    tenant: key.tenant,
    credentialId: key.credentialId,
    rotationId: key.rotationId,
    requestedBy: {
      actor: requestedBy.actor,
      name: requestedBy.name,
      ...(requestedBy.requestId === undefined ? {} : { requestId: requestedBy.requestId }),
      ...(requestedBy.correlationId === undefined ? {} : { correlationId: requestedBy.correlationId }),
    },
  };
}

/** What the worker answers to a rollback command: the record, or the domain error it ended with. */
export const RollbackAnswerSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    rotation: z.looseObject({
      rotationId: z.string(),
      credentialId: z.string(),
      tenant: z.string(),
      state: z.string(),
      steps: z.array(z.unknown()),
    }),
  }),
  z.object({
    ok: z.literal(false),
    error: z.object({
      code: z.string().max(64),
      message: z.string().max(2048),
      details: z.record(z.string(), z.unknown()).optional(),
      retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
    }),
  }),
]);
export type RollbackAnswer = z.infer<typeof RollbackAnswerSchema>;

/** The answer for a domain error (its message is safe for callers; see `DomainError`). */
export function rollbackFailure(error: DomainError): RollbackAnswer {
  return {
    ok: false,
    error: {
      code: error.code.slice(0, 64),
      message: error.message.slice(0, 2048),
      ...(error.details === undefined ? {} : { details: { ...error.details } }),
      ...(error instanceof DependencyUnavailableError
        ? { retryAfterSeconds: Math.min(3600, Math.max(0, Math.round(error.retryAfterSeconds))) }
        : {}),
    },
  };
}

const REBUILD: Readonly<
  Record<string, (message: string, details: ErrorDetails | undefined, retryAfter: number) => DomainError>
> = {
  ValidationError: (message, details) => new ValidationError(message, { details }),
  Forbidden: (message, details) => new ForbiddenError(message, { details }),
  NotFound: (message, details) => new NotFoundError(message, { details }),
  Conflict: (message, details) => new ConflictError(message, { details }),
  RotationRefused: (message, details) => new RotationRefusedError(message, { details }),
  RotationTestFailed: (message, details) => new RotationTestFailedError(message, { details }),
  ServiceUnavailable: (message, _details, retryAfter) => new DependencyUnavailableError(message, retryAfter),
};

/**
 * The record the worker answered, or the domain error it reported, rebuilt as the same class so
 * the API answers the status it would have answered in process. An answer that does not parse,
 * or an error code this side does not know, is a `DependencyUnavailableError`.
 */
export function settleRollbackAnswer(answer: unknown): RotationRecord {
  const parsed = RollbackAnswerSchema.safeParse(answer);
  if (!parsed.success) {
    throw new DependencyUnavailableError('The rotation worker answered something that is not a rollback', 5);
  }
  if (parsed.data.ok) return parsed.data.rotation as unknown as RotationRecord;
  const { code, message, details, retryAfterSeconds } = parsed.data.error;
  const rebuild = REBUILD[code];
  if (rebuild === undefined) {
    throw new DependencyUnavailableError(`The rollback failed in the rotation worker (${code})`, 5);
  }
  throw rebuild(message, details, retryAfterSeconds ?? 5);
}
