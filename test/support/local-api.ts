/**
 * Calling the local runtime's API as a client does: one request with a bearer token (and a JSON
 * body when given), and signing in a local user. Also starting that runtime in memory and reading
 * its embedded DynamoDB directly. Shared by the API integration suites and the API benchmark.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type TranslateConfig } from '@aws-sdk/lib-dynamodb';
import { type LocalRuntime, type RuntimeLog, startLocalRuntime } from '../../lambdas/local/runtime.js';
import { parseLocalLimits } from '../../lambdas/local/local-limits.js';
import { parseLocalRuntimeConfig } from '../../lambdas/shared/config.js';

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body; undefined when it is empty or not JSON (a CSV export, a PEM key). */
  readonly json: any;
}

export async function apiCall(
  baseUrl: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token ?? ''}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** A request to the local API as one signed-in caller. */
export type ApiCaller = (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;

/** Signs a local user in at `POST /auth/token` and returns the access token. */
export async function signInLocal(baseUrl: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 200) throw new Error(`Sign-in of ${username} answered ${response.status}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

/** Where a runtime's own lines go when a suite does not read them. */
const SILENT_LOG: RuntimeLog = { info: () => undefined, error: () => undefined };

export interface InMemoryRuntimeOptions {
  /** The password of the `admin` user the runtime creates. */
  readonly adminPassword: string;
  /** Variables of the local runtime over the defaults below (e.g. `VAULTPILOT_SCHEDULER: 'true'`). */
  readonly env?: Record<string, string>;
  /**
   * The handlers' `POWERTOOLS_LOG_LEVEL`, set before the runtime loads them (their logger reads
   * it once); the process's own value when not given.
   */
  readonly logLevel?: string;
  /** Where the runtime's own lines go; nowhere when not given. */
  readonly log?: RuntimeLog;
}

/**
 * Starts the local runtime in memory on a free port, without the scheduler and with JSON logs,
 * as the API suites use it.
 */
export function startInMemoryRuntime(options: InMemoryRuntimeOptions): Promise<LocalRuntime> {
  if (options.logLevel !== undefined) process.env.POWERTOOLS_LOG_LEVEL = options.logLevel;
  const env = {
    PORT: '0',
    VAULTPILOT_IN_MEMORY: 'true',
    VAULTPILOT_SCHEDULER: 'false',
    VAULTPILOT_ADMIN_PASSWORD: options.adminPassword,
    VAULTPILOT_LOG_FORMAT: 'json',
    // Suites and benchmarks drive one client hard on purpose; the rate-limit suite turns them on.
    VAULTPILOT_RATE_LIMIT_CLIENT_RPS: '0',
    VAULTPILOT_RATE_LIMIT_TENANT_RPS: '0',
    ...options.env,
  };
  return startLocalRuntime(parseLocalRuntimeConfig(env), options.log ?? SILENT_LOG, parseLocalLimits(env));
}

/** A document client on the runtime's embedded DynamoDB, for reading and tampering with its tables. */
export function localDocumentClient(
  runtime: Pick<LocalRuntime, 'dynamodbEndpoint'>,
  translateConfig?: TranslateConfig,
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: runtime.dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    translateConfig,
  );
}
