import './styles.css';

import { QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { ApiClient } from './api/client.js';
import { Connectivity } from './api/connectivity.js';
import { Session, browserPort } from './auth/session.js';
import { ServicesContext } from './app/context.js';
import { createQueryClient } from './app/query-client.js';
import { createAppRouter } from './app/router.js';
import { loadDashboardConfig } from './config/dashboard-config.js';

async function start(root: HTMLElement): Promise<void> {
  const config = await loadDashboardConfig(fetch, import.meta.env.DEV ? window.location.origin : undefined);
  const session = new Session(config, browserPort());
  const connectivity = new Connectivity();
  const api = new ApiClient({
    baseUrl: config.apiUrl,
    session,
    connectivity,
    fetch: (...args) => fetch(...args),
  });
  const queryClient = createQueryClient();
  const router = createAppRouter();
  createRoot(root).render(
    <StrictMode>
      <ServicesContext.Provider value={{ config, session, api, connectivity }}>
        <QueryClientProvider client={queryClient}>
          <RouterProvider router={router} />
        </QueryClientProvider>
      </ServicesContext.Provider>
    </StrictMode>,
  );
}

const root = document.getElementById('root');
if (root !== null) {
  start(root).catch((error: unknown) => {
    // Without settings there is no app to render: say so plainly, in the page itself.
    const main = document.createElement('main');
    const heading = document.createElement('h1');
    heading.textContent = 'VaultPilot cannot start';
    const detail = document.createElement('p');
    detail.setAttribute('role', 'alert');
    detail.textContent = error instanceof Error ? error.message : 'The dashboard could not start.';
    main.append(heading, detail);
    main.style.padding = '2rem';
    root.replaceChildren(main);
  });
}
