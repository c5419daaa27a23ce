/**
 * Serves the built dashboard (`frontend/dist`) on the local API's port, by the rule of the
 * dashboard contract: a request is the dashboard's when it is a GET or HEAD without an
 * Authorization header whose Accept includes `text/html` (a browser navigation, the rule Vite's
 * history-API fallback uses), or when it asks for `/config.json`, `/assets/*` or `/favicon.*`.
 * Everything else goes on to the identity endpoints and the API, as before.
 *
 * `/config.json` is computed from the runtime: the API and the issuer are this server itself.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import {
  type DashboardConfig,
  dashboardContentSecurityPolicy,
} from '../shared/contracts/dashboard-config.js';
import { SECURITY_HEADERS } from '../shared/http-headers.js';
import { TOKEN_PATH } from './identity-routes.js';
import { AUTHORIZE_PATH, DASHBOARD_SCOPES, LOGOUT_PATH } from './oauth-authorize-endpoints.js';
import type { LocalHttpResponse, LocalRequestInfo } from './server.js';

export const CONFIG_PATH = '/config.json';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The contract's routing rule, on lower-cased header names. */
export function isDashboardRequest(request: Pick<LocalRequestInfo, 'method' | 'path' | 'headers'>): boolean {
  const method = request.method.toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') return false;
  const { path } = request;
  if (path === CONFIG_PATH || path.startsWith('/assets/') || /^\/favicon\.[A-Za-z0-9]+$/.test(path))
    return true;
  const accept = request.headers.accept ?? '';
  return request.headers.authorization === undefined && accept.toLowerCase().includes('text/html');
}

export interface DashboardSiteOptions {
  /** The built dashboard; it may not exist (then only /config.json is served). */
  readonly distDir: string;
  readonly stage: string;
  /** This server's URL, e.g. http://127.0.0.1:3000: the API and the token issuer. */
  readonly url: string;
  /** The dashboard's public client at the local issuer. */
  readonly clientId: string;
}

export class DashboardSite {
  private readonly root: string;
  private readonly port: string;

  constructor(private readonly options: DashboardSiteOptions) {
    this.root = resolve(options.distDir);
    this.port = new URL(options.url).port;
  }

  /** The side route of the local server; undefined passes the request on to the API. */
  readonly handle = async (request: LocalRequestInfo): Promise<LocalHttpResponse | undefined> => {
    if (!isDashboardRequest(request)) return undefined;
    if (request.path === CONFIG_PATH) return this.config(request);
    const index = join(this.root, 'index.html');
    if (request.path.startsWith('/assets/') || request.path.startsWith('/favicon.')) {
      const file = this.fileFor(request.path);
      const found = file === undefined ? undefined : await readIfFile(file);
      if (file === undefined || found === undefined) return notFound(request);
      const immutable = request.path.startsWith('/assets/');
      return {
        statusCode: 200,
        headers: {
          ...SECURITY_HEADERS,
          'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
          // Vite names every asset by its content hash, so a cached copy is never stale.
          'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
          'X-Request-Id': request.requestId,
        },
        body: found,
      };
    }
    // A navigation: the app routes it. Without a build, the API answers as it did before.
    const html = await readIfFile(index);
    if (html === undefined) return undefined;
    return {
      statusCode: 200,
      headers: {
        ...SECURITY_HEADERS,
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': dashboardContentSecurityPolicy([]),
        'Cache-Control': 'no-cache',
        'X-Request-Id': request.requestId,
      },
      body: html,
    };
  };

  /**
   * The runtime settings. Addressed as `localhost` instead of 127.0.0.1 (or the reverse), the
   * server answers with the origin the browser used, so the dashboard's calls stay same-origin.
   */
  dashboardConfig(host: string | undefined): DashboardConfig {
    const origin = this.originFor(host);
    const issuer = this.options.url;
    return {
      apiUrl: origin,
      stage: this.options.stage,
      auth: {
        issuer,
        clientId: this.options.clientId,
        authorizationEndpoint: `${origin}${AUTHORIZE_PATH}`,
        tokenEndpoint: `${origin}${TOKEN_PATH}`,
        logoutEndpoint: `${origin}${LOGOUT_PATH}`,
        scopes: [...DASHBOARD_SCOPES],
      },
    };
  }

  private config(request: LocalRequestInfo): LocalHttpResponse {
    return {
      statusCode: 200,
      headers: {
        ...SECURITY_HEADERS,
        'Content-Type': 'application/json',
        'Cache-Control': 'no-cache',
        'X-Request-Id': request.requestId,
      },
      body: JSON.stringify(this.dashboardConfig(request.headers.host)),
    };
  }

  private originFor(host: string | undefined): string {
    if (host === undefined) return this.options.url;
    const match = /^(\[::1\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(host);
    if (match?.[1] === undefined || !LOOPBACK_HOSTS.has(match[1].toLowerCase()) || match[2] !== this.port) {
      return this.options.url;
    }
    return `http://${match[1].toLowerCase()}:${match[2]}`;
  }

  /** The file under the build for a URL path; undefined for anything that would leave it. */
  private fileFor(urlPath: string): string | undefined {
    let decoded: string;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return undefined;
    }
    if (decoded.includes('\0') || decoded.split('/').some((segment) => segment === '..')) return undefined;
    const file = resolve(this.root, `.${decoded}`);
    return file.startsWith(`${this.root}${sep}`) ? file : undefined;
  }
}

async function readIfFile(file: string): Promise<Buffer | undefined> {
  try {
    if (!(await stat(file)).isFile()) return undefined;
    return await readFile(file);
  } catch {
    return undefined;
  }
}

function notFound(request: LocalRequestInfo): LocalHttpResponse {
  return {
    statusCode: 404,
    headers: {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Request-Id': request.requestId,
    },
    body: 'Not found',
  };
}
