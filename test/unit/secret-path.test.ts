import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../lambdas/core/errors.js';
import { parseSecretPath, parseSecretPrefix } from '../../lambdas/core/secrets/secret-path.js';

/** The ValidationError that `parse` throws for `raw`, or a failure if it throws nothing. */
function rejection(parse: (raw: string) => string, raw: string): ValidationError {
  try {
    parse(raw);
  } catch (error: unknown) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(raw.slice(0, 40))} to be rejected`);
}

const segments = (count: number): string =>
  Array.from({ length: count }, (_, index) => `s${index}`).join('/');

describe('parseSecretPath', () => {
  it.each([
    'db',
    'prod/db/password',
    'Prod/DB/Password',
    'a.b_c-d/0.9',
    '...',
    '.env',
    'x..y',
    'a'.repeat(128),
    `${'a'.repeat(128)}/${'b'.repeat(128)}/${'c'.repeat(128)}/${'d'.repeat(125)}`,
    segments(32),
  ])('accepts %s unchanged', (raw) => {
    // Act
    const path = parseSecretPath(raw);

    // Assess
    expect(path).toBe(raw);
  });

  it.each([
    ['', 'empty', 'Secret path is empty'],
    ['/prod/db', 'leading-slash', "Secret path must not start with '/'"],
    ['/', 'leading-slash', "Secret path must not start with '/'"],
    ['prod/db/', 'trailing-slash', "Secret path must not end with '/'"],
    ['prod//db', 'empty-segment', 'Secret path is invalid: segment 2 is empty (two slashes in a row)'],
    ['prod/./db', 'dot-segment', "Secret path is invalid: segment 2 is '.', which is not allowed"],
    ['prod/../db', 'dot-segment', "Secret path is invalid: segment 2 is '..', which is not allowed"],
    ['..', 'dot-segment', "Secret path is invalid: segment 1 is '..', which is not allowed"],
    [
      'prod/db password',
      'invalid-character',
      `Secret path is invalid: segment 2 contains " "; only letters, digits, '.', '_' and '-' are allowed`,
    ],
    [
      'prod\\db',
      'invalid-character',
      `Secret path is invalid: segment 1 contains "\\\\"; only letters, digits, '.', '_' and '-' are allowed`,
    ],
    [
      'prod/*',
      'invalid-character',
      `Secret path is invalid: segment 2 contains "*"; only letters, digits, '.', '_' and '-' are allowed`,
    ],
    [
      'prod/+/x',
      'invalid-character',
      `Secret path is invalid: segment 2 contains "+"; only letters, digits, '.', '_' and '-' are allowed`,
    ],
    [
      'prod/pässword',
      'invalid-character',
      `Secret path is invalid: segment 2 contains "ä"; only letters, digits, '.', '_' and '-' are allowed`,
    ],
    [
      `a/${'b'.repeat(129)}`,
      'segment-too-long',
      'Secret path is invalid: segment 2 has 129 characters, more than the 128 allowed',
    ],
    [segments(33), 'too-many-segments', 'Secret path has 33 segments, more than the 32 allowed'],
    ['a/'.repeat(256) + 'b', 'too-long', 'Secret path has 513 characters, more than the 512 allowed'],
  ])('rejects %j (%s)', (raw, reason, message) => {
    // Act
    const error = rejection(parseSecretPath, raw);

    // Assess
    expect(error.message).toBe(message);
    expect(error.details).toEqual({ path: raw, reason });
  });

  it('echoes at most 600 characters of the raw path in the details', () => {
    // Prepare
    const raw = 'x'.repeat(5000);

    // Act
    const error = rejection(parseSecretPath, raw);

    // Assess
    expect(error.details).toEqual({ path: 'x'.repeat(600), reason: 'too-long' });
    expect(error.message).toBe('Secret path has 5000 characters, more than the 512 allowed');
  });

  it('is case-sensitive: different case is a different path', () => {
    expect(parseSecretPath('Prod/DB')).not.toBe(parseSecretPath('prod/db'));
  });
});

describe('parseSecretPrefix', () => {
  it.each([
    ['', ''],
    ['prod', 'prod/'],
    ['prod/', 'prod/'],
    ['prod/db', 'prod/db/'],
    ['prod/db/', 'prod/db/'],
    [`${segments(32)}/`, `${segments(32)}/`],
  ])('accepts %j as %j', (raw, canonical) => {
    // Act
    const prefix = parseSecretPrefix(raw);

    // Assess
    expect(prefix).toBe(canonical);
  });

  it.each([
    ['/', 'leading-slash', "Secret prefix must not start with '/'"],
    ['/prod/', 'leading-slash', "Secret prefix must not start with '/'"],
    ['prod//', 'trailing-slash', "Secret prefix may end with only one '/'"],
    ['//', 'leading-slash', "Secret prefix must not start with '/'"],
    ['prod//db/', 'empty-segment', 'Secret prefix is invalid: segment 2 is empty (two slashes in a row)'],
    ['prod/../', 'dot-segment', "Secret prefix is invalid: segment 2 is '..', which is not allowed"],
    [
      'prod/*',
      'invalid-character',
      `Secret prefix is invalid: segment 2 contains "*"; only letters, digits, '.', '_' and '-' are allowed`,
    ],
    [`${segments(33)}/`, 'too-many-segments', 'Secret prefix has 33 segments, more than the 32 allowed'],
  ])('rejects %j (%s)', (raw, reason, message) => {
    // Act
    const error = rejection(parseSecretPrefix, raw);

    // Assess
    expect(error.message).toBe(message);
    expect(error.details).toEqual({ path: raw, reason });
  });
});
