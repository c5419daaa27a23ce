/**
 * The one way the dashboard calls the API: typed requests whose answers are parsed with the
 * API's own zod contracts, errors mapped to readable messages with the request id, a 401
 * answered by one token refresh and otherwise a new sign-in that returns to the same page.
 */
import type { z } from 'zod';

import type { Session } from '../auth/session.js';
import type { Connectivity } from './connectivity.js';
import {
  ApiError,
  NetworkError,
  SignInRequiredError,
  UnexpectedResponseError,
  errorFromResponse,
} from './errors.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions<S extends z.ZodType> {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Query;
  readonly body?: unknown;
  /** The answer's contract; `null` for answers without a body (204). */
  readonly schema: S | null;
  /** What the person is doing, in their words: "read this secret". Used in error messages. */
  readonly action: string;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

export interface ApiClientDeps {
  readonly baseUrl: string;
  readonly session: Pick<Session, 'accessToken' | 'refresh' | 'signIn'>;
  readonly connectivity: Connectivity;
  readonly fetch: typeof fetch;
}

/** Encodes each segment of a secret path or id, keeping the slashes between them. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export class ApiClient {
  constructor(private readonly deps: ApiClientDeps) {}

  url(path: string, query?: Query): string {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') search.set(key, String(value));
    }
    const text = search.toString();
    return `${this.deps.baseUrl}${path}${text === '' ? '' : `?${text}`}`;
  }

  async request<S extends z.ZodType>(options: RequestOptions<S>): Promise<z.infer<S>> {
    const response = await this.send(options, 'application/json');
    const requestId = response.headers.get('x-request-id') ?? undefined;
    if (options.schema === null || response.status === 204) return null as z.infer<S>;
    const body: unknown = await response.json().catch(() => undefined);
    const parsed = options.schema.safeParse(body);
    if (!parsed.success) throw new UnexpectedResponseError(requestId, { cause: parsed.error });
    return parsed.data;
  }

  /** A text answer (exports, PEM keys). */
  async text(options: Omit<RequestOptions<z.ZodType>, 'schema'>, accept: string): Promise<Blob> {
    const response = await this.send({ ...options, schema: null }, accept);
    return response.blob();
  }

  private async send(options: RequestOptions<z.ZodType>, accept: string, retried = false): Promise<Response> {
    const token = this.deps.session.accessToken();
    const headers: Record<string, string> = { accept, ...options.headers };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.deps.fetch(this.url(options.path, options.query), {
        method: options.method ?? 'GET',
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
        credentials: 'omit',
      });
    } catch (error: unknown) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      this.deps.connectivity.markLost();
      throw new NetworkError({ cause: error });
    }
    this.deps.connectivity.markReached();
    if (response.ok) return response;
    if (response.status === 401) {
      if (!retried && (await this.deps.session.refresh())) return this.send(options, accept, true);
      void this.deps.session.signIn();
      throw new SignInRequiredError();
    }
    const body: unknown = await response.json().catch(() => undefined);
    throw errorFromResponse(response.status, body, response.headers.get('x-request-id'), options.action);
  }
}

export { ApiError };
