/**
 * The page routes of the roster's dashboard contract, code-based and typed. Every page is its own
 * chunk (lazyRouteComponent), so the first load carries only the shell.
 */
import {
  Outlet,
  createRootRoute,
  createRoute,
  createRouter,
  lazyRouteComponent,
  redirect,
} from '@tanstack/react-router';

import { CallbackPage, SignedOutPage } from '../pages/SignInPages.js';
import { AppLayout } from './Layout.js';
import { validateAuditSearch, validateCredentialsSearch, validateSecretsSearch } from './search.js';

const rootRoute = createRootRoute({ component: Outlet });

const callbackRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/callback',
  component: CallbackPage,
});
const signedOutRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/signed-out',
  component: SignedOutPage,
});

const appRoute = createRoute({ getParentRoute: () => rootRoute, id: 'app', component: AppLayout });

const overviewRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/',
  component: lazyRouteComponent(() => import('../pages/OverviewPage.js'), 'OverviewPage'),
});

export const credentialsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/credentials',
  validateSearch: validateCredentialsSearch,
  component: lazyRouteComponent(() => import('../pages/CredentialsPage.js'), 'CredentialsPage'),
});

export const credentialRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/credentials/$id',
  component: lazyRouteComponent(() => import('../pages/CredentialPage.js'), 'CredentialPage'),
});

export const secretsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/secrets',
  validateSearch: validateSecretsSearch,
  component: lazyRouteComponent(() => import('../pages/SecretsPage.js'), 'SecretsPage'),
});

export const secretRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/secrets/view',
  validateSearch: validateSecretsSearch,
  component: lazyRouteComponent(() => import('../pages/SecretPage.js'), 'SecretPage'),
});

const discoveryRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/discovery',
  component: lazyRouteComponent(() => import('../pages/DiscoveryPage.js'), 'DiscoveryPage'),
});

export const auditRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/audit',
  validateSearch: validateAuditSearch,
  component: lazyRouteComponent(() => import('../pages/AuditPage.js'), 'AuditPage'),
});

const settingsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/settings',
  component: lazyRouteComponent(() => import('../pages/settings/SettingsLayout.js'), 'SettingsLayout'),
});

const settingsIndexRoute = createRoute({
  getParentRoute: () => settingsRoute,
  path: '/',
  beforeLoad: () => {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- TanStack Router's redirect is thrown by design
    throw redirect({ to: '/settings/policies' });
  },
});

const policiesRoute = createRoute({
  getParentRoute: () => settingsRoute,
  path: '/policies',
  component: lazyRouteComponent(() => import('../pages/settings/PoliciesPage.js'), 'PoliciesPage'),
});

const rotationPoliciesRoute = createRoute({
  getParentRoute: () => settingsRoute,
  path: '/rotation-policies',
  component: lazyRouteComponent(
    () => import('../pages/settings/RotationPoliciesPage.js'),
    'RotationPoliciesPage',
  ),
});

const discoverySettingsRoute = createRoute({
  getParentRoute: () => settingsRoute,
  path: '/discovery',
  component: lazyRouteComponent(
    () => import('../pages/settings/DiscoverySettingsPage.js'),
    'DiscoverySettingsPage',
  ),
});

const auditSettingsRoute = createRoute({
  getParentRoute: () => settingsRoute,
  path: '/audit',
  component: lazyRouteComponent(() => import('../pages/settings/AuditSettingsPage.js'), 'AuditSettingsPage'),
});

const notificationsRoute = createRoute({
  getParentRoute: () => settingsRoute,
  path: '/notifications',
  component: lazyRouteComponent(() => import('../pages/settings/NotificationsPage.js'), 'NotificationsPage'),
});

const notFoundRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '$',
  component: lazyRouteComponent(() => import('../pages/NotFoundPage.js'), 'NotFoundPage'),
});

export const routeTree = rootRoute.addChildren([
  callbackRoute,
  signedOutRoute,
  appRoute.addChildren([
    overviewRoute,
    credentialsRoute,
    credentialRoute,
    secretsRoute,
    secretRoute,
    discoveryRoute,
    auditRoute,
    settingsRoute.addChildren([
      settingsIndexRoute,
      policiesRoute,
      rotationPoliciesRoute,
      discoverySettingsRoute,
      auditSettingsRoute,
      notificationsRoute,
    ]),
    notFoundRoute,
  ]),
]);

export function createAppRouter() {
  return createRouter({ routeTree, defaultPreload: 'intent', scrollRestoration: true });
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof createAppRouter>;
  }
}
