import { ValidationError } from '../errors.js';

/**
 * Secret paths name secrets in the store, e.g. `prod/db/password`: segments of `[A-Za-z0-9._-]`
 * joined by single slashes. Paths are case-sensitive and are never normalized: a path that is
 * not already canonical is rejected rather than repaired, so one secret has exactly one name.
 */
declare const secretPathBrand: unique symbol;
declare const secretPrefixBrand: unique symbol;

/** A validated secret path: no leading or trailing slash, never empty. */
export type SecretPath = string & { readonly [secretPathBrand]: true };

/**
 * A validated listing prefix in canonical form: `''` (the root) or segments followed by one `/`
 * (`prod/db/`). The trailing slash keeps prefixes and paths apart, and is what makes the policy
 * glob `prod/*` cover listing `prod/`, as in Vault.
 */
export type SecretPrefix = string & { readonly [secretPrefixBrand]: true };

export const SECRET_PATH_LIMITS = {
  maxLength: 512,
  maxSegments: 32,
  maxSegmentLength: 128,
} as const;

export type SecretPathProblemReason =
  | 'empty'
  | 'too-long'
  | 'too-many-segments'
  | 'leading-slash'
  | 'trailing-slash'
  | 'empty-segment'
  | 'dot-segment'
  | 'segment-too-long'
  | 'invalid-character';

export interface SecretPathProblem {
  readonly reason: SecretPathProblemReason;
  readonly message: string;
}

/** How much of the raw input goes back in error details: enough to recognize it, never unbounded. */
const MAX_ECHOED_LENGTH = 600;
const SEGMENT_CHARACTER = /[A-Za-z0-9._-]/;

export function parseSecretPath(raw: string): SecretPath {
  const problem = secretPathProblem(raw, 'Secret path');
  if (problem !== undefined) throw invalid(raw, problem);
  return raw as SecretPath;
}

/** Accepts `''` (the root), `prod` and `prod/`; returns the canonical form (`''` or `prod/`). */
export function parseSecretPrefix(raw: string): SecretPrefix {
  if (raw === '') return '' as SecretPrefix;
  // Exactly one trailing slash is optional.
  const body = raw.endsWith('/') ? raw.slice(0, -1) : raw;
  const problem = raw.startsWith('/')
    ? secretPathProblem(raw, 'Secret prefix')
    : body.endsWith('/')
      ? ({ reason: 'trailing-slash', message: "Secret prefix may end with only one '/'" } as const)
      : secretPathProblem(body, 'Secret prefix');
  if (problem !== undefined) throw invalid(raw, problem);
  return `${body}/` as SecretPrefix;
}

/** What is wrong with one segment, or undefined. Shared with policy globs, whose segments follow the same rule. */
export function secretPathSegmentProblem(segment: string, position: number): SecretPathProblem | undefined {
  const where = `segment ${position}`;
  if (segment === '') return { reason: 'empty-segment', message: `${where} is empty (two slashes in a row)` };
  if (segment === '.' || segment === '..') {
    return { reason: 'dot-segment', message: `${where} is '${segment}', which is not allowed` };
  }
  if (segment.length > SECRET_PATH_LIMITS.maxSegmentLength) {
    return {
      reason: 'segment-too-long',
      message: `${where} has ${segment.length} characters, more than the ${SECRET_PATH_LIMITS.maxSegmentLength} allowed`,
    };
  }
  const bad = [...segment].find((character) => !SEGMENT_CHARACTER.test(character));
  if (bad !== undefined) {
    return {
      reason: 'invalid-character',
      message: `${where} contains ${JSON.stringify(bad)}; only letters, digits, '.', '_' and '-' are allowed`,
    };
  }
  return undefined;
}

/** What is wrong with a whole path, or undefined. `noun` starts the message ("Secret path", "Policy path"). */
export function secretPathProblem(raw: string, noun: string): SecretPathProblem | undefined {
  const problem = wholePathProblem(raw);
  return problem === undefined
    ? undefined
    : { reason: problem.reason, message: `${noun} ${problem.message}` };
}

function wholePathProblem(raw: string): SecretPathProblem | undefined {
  if (raw === '') return { reason: 'empty', message: 'is empty' };
  if (raw.length > SECRET_PATH_LIMITS.maxLength) {
    return {
      reason: 'too-long',
      message: `has ${raw.length} characters, more than the ${SECRET_PATH_LIMITS.maxLength} allowed`,
    };
  }
  if (raw.startsWith('/')) return { reason: 'leading-slash', message: "must not start with '/'" };
  if (raw.endsWith('/')) return { reason: 'trailing-slash', message: "must not end with '/'" };
  const segments = raw.split('/');
  if (segments.length > SECRET_PATH_LIMITS.maxSegments) {
    return {
      reason: 'too-many-segments',
      message: `has ${segments.length} segments, more than the ${SECRET_PATH_LIMITS.maxSegments} allowed`,
    };
  }
  for (const [index, segment] of segments.entries()) {
    const problem = secretPathSegmentProblem(segment, index + 1);
    if (problem !== undefined) return { reason: problem.reason, message: `is invalid: ${problem.message}` };
  }
  return undefined;
}

function invalid(raw: string, problem: SecretPathProblem): ValidationError {
  return new ValidationError(problem.message, {
    details: { path: raw.slice(0, MAX_ECHOED_LENGTH), reason: problem.reason },
  });
}
