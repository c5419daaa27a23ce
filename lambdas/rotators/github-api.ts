/**
 * The GitHub REST calls the GitHub rotators share: one request with the API version and a
 * timeout, transient answers (unreachable, 5xx, 429, 403 with an exhausted rate limit) turned into
 * `DependencyUnavailableError`, and the base-URL rule (HTTPS; plain HTTP only on loopback where
 * the deployment allows it, i.e. locally). The token or JWT is sent, never logged or echoed.
 */
import { DependencyUnavailableError } from '../core/errors.js';
import type { SettingsIssue } from './settings-section.js';

const API_VERSION = '2022-11-28';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface GithubAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

export interface GithubClientOptions {
  readonly fetch?: typeof fetch | undefined;
  readonly timeoutMs?: number | undefined;
}

/** One API call; transient trouble is a `DependencyUnavailableError`, the rest is the caller's. */
export async function githubCall(
  options: GithubClientOptions,
  baseUrl: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  authorization: string,
  what: string,
): Promise<GithubAnswer> {
  const send = options.fetch ?? fetch;
  let response: Response;
  let text: string;
  try {
    response = await send(`${baseUrl}${path}`, {
      method,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      headers: {
        accept: 'application/vnd.github+json',
        authorization,
        'x-github-api-version': API_VERSION,
        'user-agent': 'VaultPilot',
      },
    });
    text = await response.text();
  } catch (error: unknown) {
    throw new DependencyUnavailableError(`GitHub could not be reached (${what})`, 60, { cause: error });
  }
  const status = response.status;
  const rateLimited =
    status === 429 || (status === 403 && response.headers.get('x-ratelimit-remaining') === '0');
  if (rateLimited || status >= 500) {
    const retryAfter = Number(response.headers.get('retry-after') ?? '60');
    throw new DependencyUnavailableError(
      `GitHub answered ${status} (${what})`,
      Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 3600) : 60,
    );
  }
  let body: unknown;
  try {
    body = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    body = undefined;
  }
  return { status, body, headers: response.headers };
}

/** The problem with a base URL, if any: HTTPS (or loopback HTTP when allowed), no credentials or query. */
export function githubBaseUrlIssue(
  baseUrl: string,
  allowHttpLoopback: boolean | undefined,
  path: string,
): SettingsIssue | undefined {
  const url = new URL(baseUrl);
  const insecure = url.protocol === 'http:' && !(allowHttpLoopback === true && LOOPBACK.has(url.hostname));
  if (insecure || url.username !== '' || url.password !== '' || url.search !== '') {
    return { path, code: 'custom', message: 'expected an https:// URL without credentials or query' };
  }
  return undefined;
}
