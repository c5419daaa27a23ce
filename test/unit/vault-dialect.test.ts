/**
 * Vault's edge (docs/vault-api.md): how the one mapper's errors are rendered in Vault's shape,
 * where a Vault client's token is taken from, and the merge patch of `PATCH /v1/.../data`.
 */
import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../../lambdas/core/errors.js';
import { casConflict } from '../../lambdas/core/secrets/kv-rules.js';
import { mergeSecretData } from '../../lambdas/core/secrets/merge-patch.js';
import { toHttpError } from '../../lambdas/shared/http-errors.js';
import { vaultAccessToken, vaultError } from '../../lambdas/shared/vault-dialect.js';

const JWT = 'aaa.bbb.ccc';

function rendered(error: unknown) {
  return vaultError(toHttpError(error, 'req-1'), error);
}

describe('vaultError', () => {
  it('answers 403 permission denied for a missing or bad token and for a refusal', () => {
    // Act
    const answers = [new UnauthorizedError('Token expired'), new ForbiddenError('needs scope x')].map(
      rendered,
    );

    // Assess
    for (const answer of answers)
      expect(answer).toEqual({ statusCode: 403, body: { errors: ['permission denied'] } });
  });

  it('answers 404 with an empty list, whatever the message', () => {
    // Act
    const answer = rendered(
      new NotFoundError('Secret prod/x does not exist', { details: { path: 'prod/x' } }),
    );

    // Assess
    expect(answer).toEqual({ statusCode: 404, body: { errors: [] } });
  });

  it("answers a check-and-set mismatch with Vault's 400 and message, other conflicts as mapped", () => {
    // Act
    const cas = rendered(casConflict(1, 2));
    const contention = rendered(
      new ConflictError('Too many concurrent writers', { details: { reason: 'contention' } }),
    );

    // Assess
    expect(cas).toEqual({
      statusCode: 400,
      body: { errors: ['check-and-set parameter did not match the current version'] },
    });
    expect(contention).toEqual({ statusCode: 409, body: { errors: ['Too many concurrent writers'] } });
  });

  it('lists validation issues as field: message lines, and keeps 503 and its message', () => {
    // Act
    const invalid = rendered(
      new ValidationError('Invalid request body', {
        details: { issues: [{ code: 'invalid_type', path: ['data', 'port'], message: 'expected string' }] },
      }),
    );
    const unavailable = rendered(
      new DependencyUnavailableError('The audit log is unavailable; retry shortly', 5),
    );

    // Assess
    expect(invalid).toEqual({
      statusCode: 400,
      body: { errors: ['Invalid request body', 'data.port: expected string'] },
    });
    expect(unavailable).toEqual({
      statusCode: 503,
      body: { errors: ['The audit log is unavailable; retry shortly'] },
    });
  });

  it('says nothing but the request id for an unexpected error', () => {
    // Act
    const answer = rendered(new Error('DynamoDB exploded at table vaultpilot-secrets'));

    // Assess
    expect(answer).toEqual({ statusCode: 500, body: { errors: ['Internal error (request req-1)'] } });
  });
});

describe('vaultAccessToken', () => {
  it('takes X-Vault-Token first, then Authorization: Bearer, in any header case', () => {
    // Act and assess
    expect(vaultAccessToken({ 'X-Vault-Token': JWT })).toBe(JWT);
    expect(vaultAccessToken({ Authorization: `Bearer ${JWT}` })).toBe(JWT);
    expect(vaultAccessToken({ 'x-vault-token': ` ${JWT} `, authorization: 'Bearer x.y.z' })).toBe(JWT);
  });

  it('refuses a missing or malformed token as unauthenticated', () => {
    // Act and assess
    expect(() => vaultAccessToken({})).toThrow(UnauthorizedError);
    expect(() => vaultAccessToken(null)).toThrow(UnauthorizedError);
    expect(() => vaultAccessToken({ 'x-vault-token': 'hvs.CAESI' })).toThrow(UnauthorizedError);
  });
});

describe('mergeSecretData', () => {
  it('sets named fields, removes those set to null, keeps the rest, and changes nothing it was given', () => {
    // Prepare
    const current = { keep: 'k', change: 'old', drop: 'd' };

    // Act
    const merged = mergeSecretData(current, { change: 'new', drop: null, add: 'a', absent: null });

    // Assess
    expect(merged).toEqual({ keep: 'k', change: 'new', add: 'a' });
    expect(current).toEqual({ keep: 'k', change: 'old', drop: 'd' });
  });

  it('treats __proto__ as a plain field name', () => {
    // Act
    const merged = mergeSecretData({}, JSON.parse('{"__proto__":"x"}') as Record<string, string>);

    // Assess
    expect(Object.keys(merged)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
  });
});
