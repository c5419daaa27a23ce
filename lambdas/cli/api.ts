/**
 * Calls to VaultPilot's own API (the routes of lambdas/functions/*\/routes.ts) with the profile's
 * token: JSON in and out, the error body mapped to an ApiError, one token refresh on a 401.
 */
import type { Session } from './auth.js';
import { apiErrorFrom, NotSignedInError } from './errors.js';
import { exchange, type HttpAnswer } from './http.js';

export interface ApiRequest {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  /** Answer the raw text (an NDJSON or CSV export, a PEM key) instead of parsed JSON. */
  readonly raw?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A token source: a signed-in profile, or a fixed token from VAULTPILOT_TOKEN. */
export interface TokenSource {
  accessToken(): Promise<string>;
  renew(): Promise<string>;
}

export class FixedToken implements TokenSource {
  constructor(private readonly token: string) {}
  async accessToken(): Promise<string> {
    return this.token;
  }
  async renew(): Promise<string> {
    throw new NotSignedInError('the server refused VAULTPILOT_TOKEN (401): it is expired or invalid');
  }
}

/** Each segment of a secret path encoded on its own; the slashes stay. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly tokens: TokenSource | Session,
  ) {}

  async call<T = unknown>(method: string, path: string, request: ApiRequest = {}): Promise<T> {
    const url = new URL(`${this.baseUrl.replace(/\/+$/, '')}${path}`);
    for (const [name, value] of Object.entries(request.query ?? {}))
      if (value !== undefined) url.searchParams.set(name, String(value));
    let answer = await this.send(method, url, request, await this.tokens.accessToken());
    if (answer.status === 401) answer = await this.send(method, url, request, await this.tokens.renew());
    if (answer.status === 401)
      throw new NotSignedInError("the server refused the token (401): run 'vaultpilot login'");
    let body: unknown;
    if (request.raw !== true && answer.text.length > 0) {
      try {
        body = JSON.parse(answer.text);
      } catch {
        body = undefined;
      }
    }
    if (answer.status < 200 || answer.status >= 300) {
      let errorBody: unknown = body;
      if (request.raw === true) {
        try {
          errorBody = JSON.parse(answer.text);
        } catch {
          errorBody = undefined;
        }
      }
      throw apiErrorFrom(
        answer.status,
        typeof errorBody === 'object' && errorBody !== null
          ? (errorBody as Record<string, unknown>)
          : undefined,
        answer.headers,
      );
    }
    return (request.raw === true ? answer.text : body) as T;
  }

  private send(method: string, url: URL, request: ApiRequest, token: string): Promise<HttpAnswer> {
    return exchange({
      method,
      url,
      headers: {
        authorization: `Bearer ${token}`,
        accept: request.raw === true ? '*/*' : 'application/json',
        'user-agent': 'vaultpilot-cli',
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...request.headers,
      },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    });
  }
}
