import type { DashboardConfig } from '../config/dashboard-config.js';

/**
 * A fake `fetch` for component tests: routes by method and path, answers JSON with the API's
 * shapes, and records every request so a test can assert what the page asked the server.
 */
export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly body: string | undefined;
}

export type Answer = { status?: number; body?: unknown; headers?: Record<string, string> } | 'network-error';
type Handler = (request: RecordedRequest) => Answer;

export class FakeApi {
  readonly requests: RecordedRequest[] = [];
  private readonly routes: { method: string; path: string | RegExp; handler: Handler }[] = [];

  on(method: string, path: string | RegExp, handler: Handler | Answer): this {
    this.routes.push({ method, path, handler: typeof handler === 'function' ? handler : () => handler });
    return this;
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((request) => request.url.pathname === path);
  }

  fetch: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const request: RecordedRequest = {
      method: init?.method ?? 'GET',
      url,
      headers: new Headers(init?.headers),
      body: typeof init?.body === 'string' ? init.body : undefined,
    };
    this.requests.push(request);
    // The route registered last wins, so a test can override a default answer.
    const route = this.routes.findLast(
      (candidate) =>
        candidate.method === request.method &&
        (typeof candidate.path === 'string'
          ? candidate.path === url.pathname
          : candidate.path.test(url.pathname)),
    );
    if (route === undefined) {
      return json(404, {
        error: { code: 'NotFound', message: 'No route in the fake', requestId: 'req-fake-404' },
      });
    }
    const answer = route.handler(request);
    if (answer === 'network-error') throw new TypeError('Failed to fetch');
    return json(answer.status ?? 200, answer.body, answer.headers);
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 || body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'x-request-id': 'req-header', ...headers },
  });
}

export const TEST_CONFIG: DashboardConfig = {
  apiUrl: 'https://api.example.test',
  stage: 'test',
  auth: {
    issuer: 'https://auth.example.test',
    clientId: 'vaultpilot-dashboard',
    authorizationEndpoint: 'https://auth.example.test/oauth2/authorize',
    tokenEndpoint: 'https://auth.example.test/oauth2/token',
    logoutEndpoint: 'https://auth.example.test/logout',
    scopes: ['openid', 'email'],
  },
};

/** A credential as the API answers it, with only the fields a test cares about changed. */
export function credential(overrides: Record<string, unknown> = {}) {
  return {
    id: 'cred-1',
    type: 'api-token',
    source: 'managed',
    name: 'stripe key',
    reference: {},
    tags: {},
    sourceTags: {},
    usageTracked: false,
    status: 'healthy',
    findings: [],
    facts: {},
    registeredAt: '2026-11-01T00:00:00.000Z',
    updatedAt: '2026-11-01T00:00:00.000Z',
    revision: 1,
    ...overrides,
  };
}
