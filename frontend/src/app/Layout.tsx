/** The signed-in shell: skip link, banner with the main navigation, network banner, main. */
import { useQuery } from '@tanstack/react-query';
import { Link, Outlet, useLocation } from '@tanstack/react-router';
import { useEffect, useRef, useSyncExternalStore } from 'react';

import { MeResponse } from '../../../lambdas/shared/contracts/identity.js';
import { ErrorAlert, Loading } from '../components/ui.js';
import { IdentityContext, useServices } from './context.js';
import { permissionsOf } from './permissions.js';

const NAVIGATION = [
  { label: 'Overview', to: '/', match: (path: string) => path === '/' },
  { label: 'Credentials', to: '/credentials', match: (path: string) => path.startsWith('/credentials') },
  { label: 'Secrets', to: '/secrets', match: (path: string) => path.startsWith('/secrets') },
  { label: 'Discovery', to: '/discovery', match: (path: string) => path.startsWith('/discovery') },
  { label: 'Audit', to: '/audit', match: (path: string) => path.startsWith('/audit') },
  { label: 'Settings', to: '/settings/policies', match: (path: string) => path.startsWith('/settings') },
] as const;

export function AppLayout() {
  const { session } = useServices();
  const signedIn = useSyncExternalStore(session.subscribe, () => session.isSignedIn());

  useEffect(() => {
    // Tokens live in memory only, so a fresh page load signs in through the issuer and comes back here.
    if (!signedIn) void session.signIn();
  }, [signedIn, session]);

  if (!signedIn) {
    return (
      <main id="main" className="p-6">
        <h1>Signing in</h1>
        <p role="status" className="muted">
          Taking you to the sign-in page…
        </p>
      </main>
    );
  }
  return <SignedInLayout />;
}

function SignedInLayout() {
  const { api, session, config } = useServices();
  const me = useQuery({
    queryKey: ['me'],
    queryFn: ({ signal }) =>
      api.request({ path: '/me', schema: MeResponse, action: 'load your profile', signal }),
    staleTime: 5 * 60_000,
  });
  const location = useLocation();
  const mainRef = useRef<HTMLElement>(null);
  const firstRender = useRef(true);

  useEffect(() => {
    // After a client-side navigation, move focus to the new page's content (as a page load would).
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    mainRef.current?.focus();
  }, [location.pathname]);

  return (
    <div className="min-h-screen">
      <a
        href="#main"
        className="sr-only rounded bg-blue-700 px-3 py-2 text-white focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50"
      >
        Skip to main content
      </a>
      <header className="border-b border-slate-200 bg-slate-50 dark:border-slate-800 dark:bg-slate-900">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-2">
          <p className="font-semibold">
            VaultPilot <span className="muted text-xs font-normal">{config.stage}</span>
          </p>
          <nav aria-label="Main">
            <ul className="flex flex-wrap gap-1">
              {NAVIGATION.map((item) => {
                const current = item.match(location.pathname);
                return (
                  <li key={item.label}>
                    <Link
                      to={item.to}
                      aria-current={current ? 'page' : undefined}
                      className={`block rounded px-2 py-1 text-sm no-underline hover:no-underline ${
                        current
                          ? 'bg-blue-700 text-white dark:bg-blue-600 dark:text-white'
                          : 'text-slate-800 hover:bg-slate-200 dark:text-slate-200 dark:hover:bg-slate-800'
                      }`}
                    >
                      {item.label}
                    </Link>
                  </li>
                );
              })}
            </ul>
          </nav>
          <div className="ml-auto flex items-center gap-3 text-sm">
            {me.data !== undefined && (
              <span>
                {me.data.username ?? me.data.subject}{' '}
                <span className="muted">({me.data.roles.join(', ') || 'no role'})</span>
              </span>
            )}
            <button type="button" className="btn" onClick={() => session.signOut()}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <NetworkBanner />
      <main id="main" ref={mainRef} tabIndex={-1} className="mx-auto max-w-7xl px-4 py-5 outline-none">
        {me.isPending ? (
          <Loading what="your profile" />
        ) : me.isError ? (
          <>
            <h1>VaultPilot</h1>
            <ErrorAlert error={me.error} />
          </>
        ) : (
          <IdentityContext.Provider value={{ me: me.data, can: permissionsOf(me.data) }}>
            <Outlet />
          </IdentityContext.Provider>
        )}
      </main>
    </div>
  );
}

/** Shown while the API cannot be reached; queries retry with backoff meanwhile. */
export function NetworkBanner() {
  const { connectivity } = useServices();
  const lost = useSyncExternalStore(connectivity.subscribe, connectivity.isLost);
  return (
    <div role="status" aria-live="polite">
      {lost && (
        <p className="border-b border-amber-300 bg-amber-50 px-4 py-2 text-center text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
          Connection to the VaultPilot API lost. Retrying with backoff; your work on this page is kept.
        </p>
      )}
    </div>
  );
}
