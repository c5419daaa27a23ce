/**
 * `github-app-token`: an installation access token of a GitHub App. The App's private key lives
 * in VaultPilot's secret store (`github.privateKeySecretPath`, field `privateKey`, PEM); the
 * token's value has the fields `token` and `expiresAt` (GitHub's `expires_at`, one hour after
 * minting).
 *
 * - `create` signs a JWT (RS256, `iss` = the App id, issued 60 s in the past against clock skew,
 *   valid 9 minutes) and calls `POST /app/installations/{installationId}/access_tokens`.
 * - `test` calls `GET /installation/repositories` with the new token.
 * - nothing is retired: the old token expires by itself within the hour.
 * - refresh: the token's expiry becomes the credential's `expiresAt`, and the rotation scheduler's
 *   due index makes the next rotation due `REFRESH_BEFORE_EXPIRY_MS` before it (no separate
 *   refresher: one schedule, one queue, one engine).
 * - rollback before `finish` revokes the new token (`DELETE /installation/token`); after
 *   `finish` it is possible only while the previous token has not expired.
 *
 * GitHub answers 401 for a JWT it cannot verify (a wrong private key), 403 for a suspended
 * installation or missing permission and 404 for an unknown installation: the rotation is
 * refused and rolls back. 429, 5xx and 403 with an exhausted rate limit are transient. The API's
 * base URL is configurable for GitHub Enterprise Server (`https://<host>/api/v3`).
 */
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import * as z from 'zod';
import { NotFoundError } from '../core/errors.js';
import {
  type RetireOutcome,
  RotationRefusedError,
  RotationTestFailedError,
  type Rotator,
  type RotatorContext,
} from '../core/rotation/rotator.js';
import type { SecretData } from '../core/secrets/kv-service.js';
import { githubBaseUrlIssue, githubCall } from './github-api.js';
import { invalidSettings, parseRotatorSection, SecretPathSetting } from './settings-section.js';

const TYPE = 'github-app-token';
/**
 * Tokens live one hour: the next one is due 30 minutes before the current one expires. The
 * rotation scheduler runs every 15 minutes, so a token is replaced with 15 to 30 minutes left.
 */
export const REFRESH_BEFORE_EXPIRY_MS = 30 * 60_000;
const JWT_BACKDATE_SECONDS = 60;
const JWT_LIFETIME_SECONDS = 540;

const NumericId = z.union([z.number().int().positive(), z.string().regex(/^\d{1,20}$/)]).transform(String);

export const GithubAppSettingsSchema = z.strictObject({
  appId: NumericId,
  installationId: NumericId,
  privateKeySecretPath: SecretPathSetting,
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .max(512)
    .default('https://api.github.com')
    .transform((url) => url.replace(/\/+$/, '')),
});
export type GithubAppSettings = z.output<typeof GithubAppSettingsSchema>;

export interface GithubAppRotatorOptions {
  /** Allow `http://` base URLs on loopback hosts (the local runtime; never in AWS). */
  readonly allowHttpLoopback?: boolean | undefined;
  readonly fetch?: typeof fetch | undefined;
  readonly timeoutMs?: number | undefined;
}

const AccessToken = z.object({
  token: z
    .string()
    .min(8)
    .max(1024)
    .regex(/^[\x21-\x7e]+$/),
  expires_at: z.iso.datetime({ offset: true }),
});

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** The App's JWT: RS256, `iss` the App id (GitHub's "Generating a JSON Web Token for a GitHub App"). */
export function githubAppJwt(appId: string, key: KeyObject, now: Date): string {
  const seconds = Math.floor(now.getTime() / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const payload = base64url(
    JSON.stringify({ iat: seconds - JWT_BACKDATE_SECONDS, exp: seconds + JWT_LIFETIME_SECONDS, iss: appId }),
  );
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key);
  return `${header}.${payload}.${base64url(signature)}`;
}

export function createGithubAppTokenRotator(
  options: GithubAppRotatorOptions = {},
): Rotator<GithubAppSettings> {
  async function privateKey(context: RotatorContext<GithubAppSettings>): Promise<KeyObject> {
    let data: SecretData;
    try {
      data = await context.secrets.read(context.settings.privateKeySecretPath);
    } catch (error: unknown) {
      if (error instanceof NotFoundError) {
        throw new RotationRefusedError('The GitHub App private key is missing from the secret store', {
          cause: error,
        });
      }
      throw error;
    }
    try {
      const key = createPrivateKey(data.privateKey ?? '');
      if (key.asymmetricKeyType !== 'rsa') throw new TypeError('not an RSA key');
      return key;
    } catch (error: unknown) {
      throw new RotationRefusedError('The GitHub App private key is not an RSA private key in PEM', {
        cause: error,
      });
    }
  }

  const call = (
    context: RotatorContext<GithubAppSettings>,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    authorization: string,
    what: string,
  ) => githubCall(options, context.settings.baseUrl, method, path, authorization, what);

  /** Revokes `token`; a token GitHub no longer knows (expired, revoked) counts as revoked. */
  async function revoke(
    context: RotatorContext<GithubAppSettings>,
    token: string | undefined,
  ): Promise<void> {
    if (token === undefined) return;
    const { status } = await call(context, 'DELETE', '/installation/token', `token ${token}`, 'revoke');
    if (status !== 204 && status !== 401) {
      throw new RotationRefusedError(`GitHub refused to revoke an installation token (${status})`);
    }
  }

  const expired = (context: RotatorContext<GithubAppSettings>, value: SecretData | undefined) => {
    const at = Date.parse(value?.expiresAt ?? '');
    return !Number.isFinite(at) || at <= context.clock.now().getTime();
  };

  return {
    type: 'github-app-token',
    // The App's key mints a token from nothing: a path without a version gets version 1.
    generatesFirstValue: true,

    dueBeforeExpiryMs: () => REFRESH_BEFORE_EXPIRY_MS,

    parseSettings(raw) {
      const settings = parseRotatorSection(TYPE, raw, 'github', GithubAppSettingsSchema);
      const issue = githubBaseUrlIssue(settings.baseUrl, options.allowHttpLoopback, 'github.baseUrl');
      if (issue !== undefined) throw invalidSettings(TYPE, [issue]);
      return settings;
    },

    async preflight(context) {
      await privateKey(context);
      const { appId, installationId, baseUrl } = context.settings;
      return [
        `would mint an installation token of App ${appId} for installation ${installationId} at ${baseUrl}`,
      ];
    },

    async create(context) {
      const { appId, installationId } = context.settings;
      const jwt = githubAppJwt(appId, await privateKey(context), context.clock.now());
      const { status, body } = await call(
        context,
        'POST',
        `/app/installations/${installationId}/access_tokens`,
        `Bearer ${jwt}`,
        'create',
      );
      if (status !== 201 && status !== 200) {
        const why =
          status === 401
            ? 'GitHub did not accept the App JWT (wrong private key or App id)'
            : status === 404
              ? `GitHub knows no installation ${installationId} of App ${appId}`
              : status === 403
                ? `GitHub refused a token for installation ${installationId} (suspended, or not permitted)`
                : `GitHub refused a token for installation ${installationId}`;
        throw new RotationRefusedError(`${why} (${status})`);
      }
      const parsed = AccessToken.safeParse(body);
      if (!parsed.success) throw new RotationRefusedError('GitHub answered without an installation token');
      return {
        pending: { ...context.current, token: parsed.data.token, expiresAt: parsed.data.expires_at },
        // Becomes the credential's expiry, which makes the next refresh due (`dueBeforeExpiryMs`).
        provider: { expiresAt: new Date(parsed.data.expires_at).toISOString() },
      };
    },

    async set() {
      return {};
    },

    async test(context) {
      const { status } = await call(
        context,
        'GET',
        '/installation/repositories?per_page=1',
        `token ${context.pending.token ?? ''}`,
        'test',
      );
      if (status !== 200) {
        throw new RotationTestFailedError(`GitHub refused the new installation token (${status})`);
      }
      return {};
    },

    async finish() {
      // Nothing to retire: the old token expires by itself within the hour, and revoking it
      // sooner would break readers that fetched it moments ago.
      return {};
    },

    async retire(): Promise<RetireOutcome> {
      return { status: 'done' };
    },

    async discard(context) {
      await revoke(context, context.pending?.token);
      return {};
    },

    async restore(context) {
      if (expired(context, context.previous)) {
        throw new RotationRefusedError('The previous installation token has expired; rotate again instead');
      }
      return {};
    },
  };
}
