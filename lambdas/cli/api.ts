/**
 * Calls to VaultPilot's own API (the routes of lambdas/functions/*\/routes.ts) with the profile's
 * token: JSON in and out, each answer parsed with the schema of the route's response (answers.ts),
 * the error body mapped to an ApiError, one token refresh on a 401.
 */
import { apiErrorFrom, parseJsonReply, refusalBody, type AnswerSchema } from './answers.js';
import type { Session } from './auth.js';
import { MalformedAnswerError, mediaType, NotSignedInError } from './errors.js';
import { exchange, type HttpAnswer } from './http.js';
import type { core } from 'zod/mini';

export interface ApiRequest {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
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

  /** A JSON request whose answer must match `answer`, the schema of the route's response. */
  async call<S extends AnswerSchema>(
    method: string,
    path: string,
    answer: S,
    request: ApiRequest = {},
  ): Promise<core.output<S>> {
    const reply = await this.exchange(method, path, request, 'application/json');
    const what = `the answer to ${method} ${path} (HTTP ${reply.status})`;
    return parseJsonReply(answer, reply, what);
  }

  /**
   * A request whose answer is text of one of `mediaTypes` (an NDJSON or CSV export): an answer of
   * another type (a proxy's HTML page) is refused rather than passed on as the text.
   */
  async text(
    method: string,
    path: string,
    mediaTypes: readonly string[],
    request: ApiRequest = {},
  ): Promise<string> {
    const reply = await this.exchange(method, path, request, mediaTypes.join(', '));
    const type = mediaType(reply.headers['content-type']);
    if (!mediaTypes.includes(type))
      throw new MalformedAnswerError(
        `the answer to ${method} ${path} (HTTP ${reply.status}) is ${type}, not ${mediaTypes.join(' or ')}`,
      );
    return reply.text;
  }

  /** Sends the request (again once with a renewed token after a 401); a refusal throws ApiError. */
  private async exchange(
    method: string,
    path: string,
    request: ApiRequest,
    accept: string,
  ): Promise<HttpAnswer> {
    const url = new URL(`${this.baseUrl.replace(/\/+$/, '')}${path}`);
    for (const [name, value] of Object.entries(request.query ?? {}))
      if (value !== undefined) url.searchParams.set(name, String(value));
    let reply = await this.send(method, url, request, accept, await this.tokens.accessToken());
    if (reply.status === 401)
      reply = await this.send(method, url, request, accept, await this.tokens.renew());
    if (reply.status === 401)
      throw new NotSignedInError("the server refused the token (401): run 'vaultpilot login'");
    if (reply.status >= 200 && reply.status < 300) return reply;
    throw apiErrorFrom(reply.status, refusalBody(reply.text), reply.headers);
  }

  private send(
    method: string,
    url: URL,
    request: ApiRequest,
    accept: string,
    token: string,
  ): Promise<HttpAnswer> {
    return exchange({
      method,
      url,
      headers: {
        authorization: `Bearer ${token}`,
        accept,
        'user-agent': 'vaultpilot-cli',
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...request.headers,
      },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    });
  }
}
