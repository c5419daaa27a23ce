/**
 * What every rotator's `parseSettings` shares: one section of the credential's settings (the
 * registration field `<key>`) checked with the type's schema, and the `ValidationError` (400) that
 * names the fields (`<key>.<path>`) and rules, never the values.
 */
import * as z from 'zod';
import { ValidationError } from '../core/errors.js';
import { SECRET_PATH_LIMITS, secretPathProblem } from '../core/secrets/secret-path.js';

export interface SettingsIssue {
  readonly path: string;
  readonly code: string;
  readonly message: string;
}

/** The 400 of a type's settings: its issues name fields, never values. */
export function invalidSettings(type: string, issues: readonly SettingsIssue[]): ValidationError {
  return new ValidationError(`Invalid ${type} settings`, { details: { issues: [...issues] } });
}

/** The settings as stored: an object of sections (anything else reads as no sections). */
export function settingsFields(raw: unknown): Record<string, unknown> {
  return typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
}

/** A setting that names a secret of the store (a signing key, an App key): a valid secret path. */
export const SecretPathSetting = z
  .string()
  .min(1)
  .max(SECRET_PATH_LIMITS.maxLength)
  .refine((value) => secretPathProblem(value, 'Secret path') === undefined, 'expected a secret path');

/** `value` checked with `schema`; issues are reported under `prefix` (`<prefix>.<path>`). */
export function checkSettings<T extends z.ZodType>(
  type: string,
  value: unknown,
  schema: T,
  prefix: readonly string[] = [],
): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw invalidSettings(
      type,
      result.error.issues.map((issue) => ({
        path: [...prefix, ...issue.path.map(String)].join('.'),
        code: issue.code,
        message: issue.message,
      })),
    );
  }
  return result.data;
}

/**
 * Section `key` of `raw` checked with `schema` (an absent section is checked as undefined, so a
 * schema with a default supplies it); issues are reported as `<key>.<path>`.
 */
export function parseRotatorSection<T extends z.ZodType>(
  type: string,
  raw: unknown,
  key: string,
  schema: T,
  fallback?: unknown,
): z.output<T> {
  return checkSettings(type, settingsFields(raw)[key] ?? fallback, schema, [key]);
}
