/**
 * The runtime settings the dashboard reads from `GET /config.json` (written by CDK at deploy,
 * served by `npm start`), validated with the API's own contract before anyone signs in.
 */
import { DashboardConfig } from '../../../lambdas/shared/contracts/dashboard-config.js';

export { DashboardConfig };

export class ConfigLoadError extends Error {
  override readonly name = 'ConfigLoadError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Fetches and validates `/config.json` once at start-up. In the Vite dev server the API is
 * reached through the dev server's proxy, so same-origin URLs replace the local API origin.
 */
export async function loadDashboardConfig(
  fetchFn: typeof fetch = fetch,
  devOrigin?: string,
): Promise<DashboardConfig> {
  let response: Response;
  try {
    response = await fetchFn('/config.json', { headers: { accept: 'application/json' }, cache: 'no-store' });
  } catch (error: unknown) {
    throw new ConfigLoadError('The dashboard settings (/config.json) could not be fetched.', {
      cause: error,
    });
  }
  if (!response.ok) {
    throw new ConfigLoadError(`The dashboard settings (/config.json) answered ${response.status}.`);
  }
  const parsed = DashboardConfig.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new ConfigLoadError(`The dashboard settings (/config.json) are invalid: ${fields}.`, {
      cause: parsed.error,
    });
  }
  return devOrigin === undefined ? parsed.data : throughDevProxy(parsed.data, devOrigin);
}

/** Rewrites URLs on the API's origin to the dev server's origin, which proxies them. */
function throughDevProxy(config: DashboardConfig, devOrigin: string): DashboardConfig {
  const apiOrigin = new URL(config.apiUrl).origin;
  const local = (url: string) =>
    new URL(url).origin === apiOrigin ? `${devOrigin}${new URL(url).pathname}` : url;
  return {
    ...config,
    apiUrl: `${devOrigin}${new URL(config.apiUrl).pathname}`.replace(/\/$/, ''),
    auth: { ...config.auth, tokenEndpoint: local(config.auth.tokenEndpoint) },
  };
}
