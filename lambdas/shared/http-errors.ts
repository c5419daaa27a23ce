/**
 * The one error mapper: typed domain errors to HTTP status and the JSON error body of
 * DESIGN.md. Only errors below 500 show their message; anything else is a generic 500 that
 * names the request id, so nothing internal (let alone secret) leaks to the caller.
 */
import { ZodError } from 'zod';
import {
  ConflictError,
  DependencyUnavailableError,
  DomainError,
  ForbiddenError,
  IntegrityError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
} from '../core/errors.js';
import type { ErrorBody } from './contracts/common.js';

export interface HttpError {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ErrorBody;
  /** True when the error was unexpected and must be logged with its stack. */
  readonly unexpected: boolean;
}

const STATUS: ReadonlyArray<readonly [new (...args: never[]) => DomainError, number]> = [
  [ValidationError, 400],
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [MethodNotAllowedError, 405],
  [ConflictError, 409],
  [PayloadTooLargeError, 413],
  [TooManyRequestsError, 429],
  [DependencyUnavailableError, 503],
];

export function validationErrorFrom(error: ZodError, where: string): ValidationError {
  return new ValidationError(`Invalid ${where}`, {
    cause: error,
    details: { issues: error.issues.map(({ code, path, message }) => ({ code, path, message })) },
  });
}

/**
 * A request that ran out of time (middy's early timeout response, or an SDK call's own timeout)
 * was waiting on an upstream that is slow or throttling: the caller may retry, so it is a 503.
 */
function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.name === 'TimeoutError';
}

export function toHttpError(error: unknown, requestId: string): HttpError {
  const domain =
    error instanceof ZodError
      ? validationErrorFrom(error, 'request')
      : isTimeout(error)
        ? new DependencyUnavailableError('The request took too long; retry shortly', 5, {
            cause: error,
            diagnostic: 'timeout',
          })
        : error;
  if (domain instanceof IntegrityError) {
    // A 500 of its own code, so tampering can be told from a bug; what failed stays in the logs.
    return {
      statusCode: 500,
      headers: {},
      body: {
        error: {
          code: domain.code,
          message: `Stored data failed an integrity check (request ${requestId})`,
          requestId,
        },
      },
      unexpected: false,
    };
  }
  if (domain instanceof DomainError) {
    const match = STATUS.find(([type]) => domain instanceof type);
    if (match !== undefined) {
      const [, statusCode] = match;
      const headers: Record<string, string> = {};
      if (domain instanceof UnauthorizedError) headers['WWW-Authenticate'] = 'Bearer';
      if (domain instanceof MethodNotAllowedError) headers.Allow = domain.allowed.join(', ');
      if (domain instanceof TooManyRequestsError || domain instanceof DependencyUnavailableError) {
        headers['Retry-After'] = String(domain.retryAfterSeconds);
      }
      const body: ErrorBody = {
        error: {
          code: domain.code,
          message: domain.message,
          requestId,
          ...(domain.details === undefined ? {} : { details: domain.details }),
        },
      };
      return { statusCode, headers, body, unexpected: false };
    }
  }
  return {
    statusCode: 500,
    headers: {},
    body: { error: { code: 'InternalError', message: `Internal error (request ${requestId})`, requestId } },
    unexpected: true,
  };
}
