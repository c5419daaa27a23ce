import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
} from '../../lambdas/core/errors.js';
import { EnvelopeIntegrityError } from '../../lambdas/core/secrets/keyring.js';
import { toHttpError } from '../../lambdas/shared/http-errors.js';

describe('toHttpError', () => {
  it.each([
    [new ValidationError('bad'), 400, 'ValidationError'],
    [new UnauthorizedError('who'), 401, 'Unauthorized'],
    [new ForbiddenError('no'), 403, 'Forbidden'],
    [new NotFoundError('gone'), 404, 'NotFound'],
    [new MethodNotAllowedError('nope', ['GET']), 405, 'MethodNotAllowed'],
    [new ConflictError('cas'), 409, 'Conflict'],
    [new PayloadTooLargeError('big'), 413, 'PayloadTooLarge'],
    [new TooManyRequestsError('slow down', 7), 429, 'TooManyRequests'],
    [new DependencyUnavailableError('kms down', 3), 503, 'ServiceUnavailable'],
  ])('maps %s to %i with its message', (error, status, code) => {
    // Act
    const mapped = toHttpError(error, 'req-1');

    // Assess
    expect(mapped.statusCode).toBe(status);
    expect(mapped.body).toEqual({ error: { code, message: error.message, requestId: 'req-1' } });
    expect(mapped.unexpected).toBe(false);
  });

  it('adds the headers that go with the status', () => {
    expect(toHttpError(new UnauthorizedError('x'), 'r').headers).toEqual({ 'WWW-Authenticate': 'Bearer' });
    expect(toHttpError(new MethodNotAllowedError('x', ['GET', 'OPTIONS']), 'r').headers).toEqual({
      Allow: 'GET, OPTIONS',
    });
    expect(toHttpError(new TooManyRequestsError('x', 7), 'r').headers).toEqual({ 'Retry-After': '7' });
    expect(toHttpError(new DependencyUnavailableError('x', 3), 'r').headers).toEqual({ 'Retry-After': '3' });
  });

  it('turns zod issues into a 400 with details', () => {
    // Prepare
    const result = z.object({ name: z.string() }).safeParse({ name: 1 });
    if (result.success) throw new Error('expected failure');

    // Act
    const mapped = toHttpError(result.error, 'req-2');

    // Assess
    expect(mapped.statusCode).toBe(400);
    expect(mapped.body.error.details).toEqual({
      issues: [{ code: 'invalid_type', path: ['name'], message: expect.any(String) as string }],
    });
  });

  it('hides everything about an unexpected error but the request id', () => {
    // Act
    const mapped = toHttpError(new Error('connection string postgres://admin:hunter2@db'), 'req-3');

    // Assess
    expect(mapped.statusCode).toBe(500);
    expect(mapped.unexpected).toBe(true);
    expect(JSON.stringify(mapped.body)).not.toContain('hunter2');
    expect(mapped.body).toEqual({
      error: { code: 'InternalError', message: 'Internal error (request req-3)', requestId: 'req-3' },
    });
  });

  it('answers an integrity failure with its own 500 code and nothing of what failed', () => {
    // Act
    const mapped = toHttpError(
      new EnvelopeIntegrityError('KMS Decrypt refused a wrapped data key (InvalidCiphertext)'),
      'req-4',
    );

    // Assess
    expect(mapped.statusCode).toBe(500);
    expect(mapped.body).toEqual({
      error: {
        code: 'IntegrityFailure',
        message: 'Stored data failed an integrity check (request req-4)',
        requestId: 'req-4',
      },
    });
  });

  it("keeps a dependency failure's diagnostic out of the body", () => {
    const mapped = toHttpError(
      new DependencyUnavailableError('The audit log is unavailable; retry shortly', 1, {
        diagnostic: 'DynamoDB PutItem: ProvisionedThroughputExceededException',
      }),
      'req-5',
    );
    expect(mapped.statusCode).toBe(503);
    expect(mapped.headers['Retry-After']).toBe('1');
    expect(JSON.stringify(mapped.body)).not.toMatch(/DynamoDB|PutItem|Exception/);
  });

  it('answers a request that ran out of time waiting on an upstream with 503 and Retry-After', () => {
    // Prepare: the error middy's early timeout response throws (name TimeoutError, from @middy/core).
    const timeout = new Error('[AbortError]: The operation was aborted.', {
      cause: { package: '@middy/core' },
    });
    timeout.name = 'TimeoutError';

    // Act
    const mapped = toHttpError(timeout, 'req-6');

    // Assess
    expect(mapped.statusCode).toBe(503);
    expect(mapped.headers['Retry-After']).toBe('5');
    expect(mapped.unexpected).toBe(false);
    expect(JSON.stringify(mapped.body)).not.toMatch(/Abort|middy/);
  });
});
