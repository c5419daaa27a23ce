/**
 * Typed domain errors. Each one is mapped to an HTTP status exactly once, by the error
 * middleware in `lambdas/shared/middleware`. Messages of errors below 500 reach the caller, so
 * they must never contain secret material.
 */
export interface ErrorDetails {
  readonly [key: string]: unknown;
}

export abstract class DomainError extends Error {
  /** Stable, machine-readable code sent in the error body. */
  abstract readonly code: string;
  readonly details: ErrorDetails | undefined;

  constructor(message: string, options?: { cause?: unknown; details?: ErrorDetails }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options?.details;
  }
}

export class ValidationError extends DomainError {
  readonly code = 'ValidationError';
}

export class UnauthorizedError extends DomainError {
  readonly code = 'Unauthorized';
}

export class ForbiddenError extends DomainError {
  readonly code = 'Forbidden';
}

/** Also used for another tenant's objects, so existence never leaks across tenants. */
export class NotFoundError extends DomainError {
  readonly code = 'NotFound';
}

export class MethodNotAllowedError extends DomainError {
  readonly code = 'MethodNotAllowed';
  constructor(
    message: string,
    readonly allowed: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class ConflictError extends DomainError {
  readonly code = 'Conflict';
}

export class PayloadTooLargeError extends DomainError {
  readonly code = 'PayloadTooLarge';
}

export class TooManyRequestsError extends DomainError {
  readonly code = 'TooManyRequests';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What failed an integrity check: a secret envelope (or its wrapped key), or the audit chain. */
export const INTEGRITY_SUBJECTS = ['envelope', 'audit-chain'] as const;
export type IntegritySubject = (typeof INTEGRITY_SUBJECTS)[number];

/**
 * Stored data failed authentication: an envelope or wrapped key that does not open, an audit
 * chain that does not hold together. That is tampering (or corruption) to investigate, never the
 * caller's doing and never a passing outage: the API answers a 500-class error of its own code,
 * `IntegrityFailure`, saying nothing more (the message is for the logs), the failed call is
 * audited with that code, and an `integrity.failed` event is published for alerting.
 */
export abstract class IntegrityError extends DomainError {
  readonly code = 'IntegrityFailure';
  abstract readonly subject: IntegritySubject;
}

/**
 * An upstream dependency (KMS, DynamoDB, a provider) is throttling or down: fail closed. The
 * message reaches the caller, so it says what is unavailable in the domain's words; the service,
 * operation and exception names go in `diagnostic`, which is logged, never sent.
 */
export class DependencyUnavailableError extends DomainError {
  readonly code = 'ServiceUnavailable';
  readonly diagnostic: string | undefined;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown; diagnostic?: string },
  ) {
    super(message, options);
    this.diagnostic = options?.diagnostic;
  }
}
