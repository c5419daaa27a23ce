/**
 * `GET /config.json`: the dashboard's runtime settings. CDK writes it next to the dashboard at
 * deploy (Cognito's Hosted UI endpoints); `npm start` computes it from its own origin (the local
 * issuer). The dashboard validates it with this schema before it signs anyone in.
 */
import * as z from 'zod';

/** An absolute http(s) URL; the dashboard joins paths to it, so no trailing slash. */
const AbsoluteUrl = z
  .url({ protocol: /^https?$/ })
  .refine((value) => !value.endsWith('/'), { message: 'must not end with a slash' });

export const DashboardAuthConfig = z
  .object({
    issuer: AbsoluteUrl,
    clientId: z.string().min(1).max(128),
    authorizationEndpoint: AbsoluteUrl,
    tokenEndpoint: AbsoluteUrl,
    /** Cognito's `/logout`; null when signing out only drops the tokens. */
    logoutEndpoint: AbsoluteUrl.nullable(),
    scopes: z.array(z.string().min(1).max(256)).min(1),
  })
  .strict()
  .meta({ id: 'DashboardAuthConfig' });
export type DashboardAuthConfig = z.infer<typeof DashboardAuthConfig>;

/**
 * The `vaultpilot` CLI's browser sign-in, when the identity provider needs its own app client:
 * Cognito accepts a plain-http redirect only to `localhost`, listed with its port, so the CLI
 * listens on that port (RFC 8252 loopback redirect). Absent locally: the CLI then uses the
 * dashboard client with a free port on 127.0.0.1, which the local issuer allows.
 */
export const CliAuthConfig = z
  .object({
    clientId: z.string().min(1).max(128),
    redirectUri: z.url({ protocol: /^http$/, hostname: /^localhost$/ }),
  })
  .strict()
  .meta({ id: 'CliAuthConfig' });
export type CliAuthConfig = z.infer<typeof CliAuthConfig>;

/** The fixed loopback redirect of the CLI's Cognito app client. */
export const CLI_REDIRECT_URI = 'http://localhost:8976/callback';

export const DashboardConfig = z
  .object({
    /** The API's base URL, absolute, without a trailing slash. */
    apiUrl: AbsoluteUrl,
    stage: z.string().min(1).max(64),
    auth: DashboardAuthConfig,
    cli: CliAuthConfig.optional(),
  })
  .strict()
  .meta({ id: 'DashboardConfig' });
export type DashboardConfig = z.infer<typeof DashboardConfig>;

/**
 * The dashboard's content security policy, the same in CloudFront and in `npm start`: code,
 * styles, fonts and images only from its own origin, no inline script, nothing framed, and
 * requests only to `connectSources` (the API origin and the identity provider's).
 */
export function dashboardContentSecurityPolicy(connectSources: readonly string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${["'self'", ...connectSources].join(' ')}`,
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}
