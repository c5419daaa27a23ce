/**
 * The local runtime's abuse limits and browser origins, read from the environment (and the config
 * file) once at start-up and validated with zod; a bad value stops start-up naming the variable.
 * Kept beside the runtime because only `npm start` reads them (the AWS deployment has Cognito,
 * API Gateway throttling and WAF instead).
 */
import * as z from 'zod';
import { ConfigError } from '../shared/config.js';
import { defaultHashingLimits, type HashingLimits } from './hashing-gate.js';
import type { RateLimitPolicy } from './request-rate-limiter.js';
import { DEFAULT_SIGN_IN_POLICY, type SignInPolicy } from './sign-in-guard.js';

/** The dashboard's Vite dev server, when VAULTPILOT_CORS_ORIGINS does not say otherwise. */
export const DEFAULT_LOCAL_CORS_ORIGINS: readonly string[] = [
  'http://localhost:5173',
  'http://127.0.0.1:5173',
];

export interface LocalLimits {
  /** Exact origins allowed to call the API from a browser (preflight and response headers). */
  readonly corsOrigins: readonly string[];
  readonly signIn: SignInPolicy;
  readonly hashing: HashingLimits;
  readonly rateLimits: RateLimitPolicy;
}

const count = (min: number, max: number) =>
  z.coerce
    .number({ error: `expected a whole number from ${min} to ${max}` })
    .int(`expected a whole number from ${min} to ${max}`)
    .min(min, `expected a whole number from ${min} to ${max}`)
    .max(max, `expected a whole number from ${min} to ${max}`);

/** Requests per second; fractions allowed (0.5 = one every two seconds), 0 turns the limit off. */
const rate = z.coerce
  .number({ error: 'expected requests per second from 0 to 100000 (0 turns the limit off)' })
  .min(0, 'expected requests per second from 0 to 100000 (0 turns the limit off)')
  .max(100_000, 'expected requests per second from 0 to 100000 (0 turns the limit off)');

const origin = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}, 'expected origins like https://vault.example.com (scheme, host and port only), comma-separated');

const origins = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0),
  )
  .pipe(z.array(origin));

const hashingDefaults = defaultHashingLimits();

const schema = z.object({
  VAULTPILOT_CORS_ORIGINS: origins.default([...DEFAULT_LOCAL_CORS_ORIGINS]),
  VAULTPILOT_SIGN_IN_SOURCE_MAX_FAILURES: count(1, 100_000).default(DEFAULT_SIGN_IN_POLICY.sourceMaxFailures),
  VAULTPILOT_SIGN_IN_ACCOUNT_MAX_FAILURES: count(1, 1_000).default(DEFAULT_SIGN_IN_POLICY.accountMaxFailures),
  VAULTPILOT_PASSWORD_HASH_CONCURRENCY: count(1, 64).default(hashingDefaults.concurrency),
  VAULTPILOT_PASSWORD_HASH_QUEUE: count(0, 10_000).default(hashingDefaults.maxQueue),
  VAULTPILOT_PASSWORD_HASH_MAX_WAIT_MS: count(1, 60_000).default(hashingDefaults.maxWaitMs),
  VAULTPILOT_RATE_LIMIT_CLIENT_RPS: rate.default(50),
  VAULTPILOT_RATE_LIMIT_CLIENT_BURST: count(1, 100_000).default(100),
  VAULTPILOT_RATE_LIMIT_TENANT_RPS: rate.default(200),
  VAULTPILOT_RATE_LIMIT_TENANT_BURST: count(1, 100_000).default(400),
});

/** The variables read here, for documentation. */
export const LOCAL_LIMIT_VARIABLES: readonly string[] = Object.keys(schema.shape);

export function parseLocalLimits(env: Readonly<Record<string, string | undefined>>): LocalLimits {
  const present = Object.fromEntries(
    Object.entries(env).filter(
      ([name, value]) => name in schema.shape && value !== undefined && value !== '',
    ),
  );
  const result = schema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? 'environment'),
      expected: issue.message,
    }));
    throw new ConfigError(
      `Invalid configuration:\n${problems.map(({ variable, expected }) => `  ${variable}: ${expected}`).join('\n')}`,
      problems,
    );
  }
  const v = result.data;
  return {
    corsOrigins: v.VAULTPILOT_CORS_ORIGINS,
    signIn: {
      ...DEFAULT_SIGN_IN_POLICY,
      sourceMaxFailures: v.VAULTPILOT_SIGN_IN_SOURCE_MAX_FAILURES,
      accountMaxFailures: v.VAULTPILOT_SIGN_IN_ACCOUNT_MAX_FAILURES,
    },
    hashing: {
      ...hashingDefaults,
      concurrency: v.VAULTPILOT_PASSWORD_HASH_CONCURRENCY,
      maxQueue: v.VAULTPILOT_PASSWORD_HASH_QUEUE,
      maxWaitMs: v.VAULTPILOT_PASSWORD_HASH_MAX_WAIT_MS,
    },
    rateLimits: {
      client: {
        ratePerSecond: v.VAULTPILOT_RATE_LIMIT_CLIENT_RPS,
        burst: v.VAULTPILOT_RATE_LIMIT_CLIENT_BURST,
      },
      tenant: {
        ratePerSecond: v.VAULTPILOT_RATE_LIMIT_TENANT_RPS,
        burst: v.VAULTPILOT_RATE_LIMIT_TENANT_BURST,
      },
    },
  };
}
