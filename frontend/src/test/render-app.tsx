/** Renders the real router and providers at a URL, signed in through the real PKCE flow. */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider, createMemoryHistory, createRouter } from '@tanstack/react-router';
import { render } from '@testing-library/react';

import { ApiClient } from '../api/client.js';
import { Connectivity } from '../api/connectivity.js';
import { type BrowserPort, Session } from '../auth/session.js';
import { ServicesContext } from '../app/context.js';
import { routeTree } from '../app/router.js';
import { type FakeApi, TEST_CONFIG } from './fake-api.js';

export type Role = 'admin' | 'operator' | 'auditor' | 'viewer';

export function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, value),
  };
}

export function fakeBrowser(api: FakeApi, storage: Storage = memoryStorage()) {
  const assigned: string[] = [];
  const browser: BrowserPort = {
    origin: 'https://dashboard.example.test',
    currentPath: () => '/credentials?status=overdue',
    assign: (url) => void assigned.push(url),
    storage,
    fetch: api.fetch,
    now: () => Date.parse('2026-12-01T00:00:00Z'),
    setTimeout: () => 0,
    clearTimeout: () => undefined,
  };
  return { browser, assigned, storage };
}

/** Signs a session in through signIn → callback → token endpoint, as the browser would. */
export async function signedInSession(
  api: FakeApi,
  browser: BrowserPort,
  assigned: string[],
): Promise<Session> {
  api.on('POST', '/oauth2/token', {
    body: {
      access_token: 'access-1',
      id_token: 'id-1',
      refresh_token: 'refresh-1',
      expires_in: 3600,
      token_type: 'Bearer',
    },
  });
  const session = new Session(TEST_CONFIG, browser);
  await session.signIn('/');
  const state = new URL(assigned.at(-1) ?? '').searchParams.get('state') ?? '';
  await session.completeSignIn(new URLSearchParams({ code: 'code-1', state }));
  return session;
}

export async function renderApp(path: string, api: FakeApi, roles: Role[] = ['admin']) {
  api.on('GET', '/me', {
    body: {
      subject: 'u-1',
      kind: 'user',
      username: 'alice',
      tenant: 'default',
      roles,
      scopes: [],
      clientId: 'c',
    },
  });
  // The real sessionStorage, as in the browser, so tests can check what the app leaves in it.
  const { browser, assigned } = fakeBrowser(api, window.sessionStorage);
  const session = await signedInSession(api, browser, assigned);
  const connectivity = new Connectivity();
  const client = new ApiClient({ baseUrl: TEST_CONFIG.apiUrl, session, connectivity, fetch: api.fetch });
  const queryClient = new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
  });
  const history = createMemoryHistory({ initialEntries: [path] });
  const router = createRouter({ routeTree, history });
  const view = render(
    <ServicesContext.Provider value={{ config: TEST_CONFIG, session, api: client, connectivity }}>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </ServicesContext.Provider>,
  );
  return { view, router, history, session, connectivity, assigned };
}
