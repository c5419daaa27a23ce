/**
 * `github-pat`: a GitHub fine-grained personal access token. GitHub offers no API to create one,
 * so it rotates with assisted rotation (`lambdas/core/rotation/assisted.ts`): the rotation opens
 * ahead of the token's expiry (any date), reminders escalate, and the owner submits the new token
 * (`POST /rotations/{id}/submit` with `{"value": {"token": "github_pat_…"}}`).
 *
 * - the type's test is `GET /user` with the token (`Authorization: Bearer`): 200 accepts it and
 *   its expiry is read from the `github-authentication-token-expiration` response header
 *   (`2026-03-15 08:00:00 UTC`), which becomes the credential's expiry (no header: the token does
 *   not expire, and the credential's expiry is cleared);
 * - 401 (bad credentials: wrong, expired or revoked) and 403 (forbidden) refuse the value: the
 *   rotation stays open and the current token stays current; 429, 5xx and 403 with an exhausted
 *   rate limit are transient (503);
 * - nothing is retired at GitHub: only its owner can revoke the old token (the audit trail and the
 *   success event say when to).
 */
import * as z from 'zod';
import { ValidationError } from '../core/errors.js';
import { AssistedSettingsSchema, assistedLeadMs } from '../core/rotation/assisted.js';
import {
  type RetireOutcome,
  RotationRefusedError,
  RotationTestFailedError,
  type Rotator,
  type RotatorContext,
} from '../core/rotation/rotator.js';
import { type GithubClientOptions, githubBaseUrlIssue, githubCall } from './github-api.js';
import { invalidSettings, parseRotatorSection } from './settings-section.js';

const TYPE = 'github-pat';

export const GithubPatSettingsSchema = z
  .strictObject({
    baseUrl: z
      .url({ protocol: /^https?$/ })
      .max(512)
      .default('https://api.github.com')
      .transform((url) => url.replace(/\/+$/, '')),
  })
  .default({ baseUrl: 'https://api.github.com' });

export interface GithubPatSettings {
  readonly baseUrl: string;
  readonly assisted: z.output<typeof AssistedSettingsSchema>;
}

export interface GithubPatRotatorOptions extends GithubClientOptions {
  /** Allow `http://` base URLs on loopback hosts (the local runtime; never in AWS). */
  readonly allowHttpLoopback?: boolean | undefined;
}

/** What a person submits: the new token, nothing else. */
const Submission = z.strictObject({
  token: z
    .string()
    .min(20, 'expected a GitHub token')
    .max(1024)
    .regex(/^[\x21-\x7e]+$/, 'expected a GitHub token (visible ASCII)'),
});

const User = z.looseObject({ login: z.string().min(1).max(100) });

/**
 * GitHub's `github-authentication-token-expiration` header (`2026-03-15 08:00:00 UTC`, or with a
 * numeric offset) as ISO-8601; undefined when absent or unreadable.
 */
export function tokenExpiration(header: string | null): string | undefined {
  if (header === null) return undefined;
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}) ?(UTC|Z|[+-]\d{2}:?\d{2})$/.exec(header.trim());
  if (match === null) return undefined;
  const [, date, time, zone] = match as unknown as [string, string, string, string];
  const offset =
    zone === 'UTC' || zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`.replace('::', ':');
  const at = Date.parse(`${date}T${time}${offset}`);
  return Number.isNaN(at) ? undefined : new Date(at).toISOString();
}

export function createGithubPatRotator(options: GithubPatRotatorOptions = {}): Rotator<GithubPatSettings> {
  /** `GET /user` with `token`: its login and expiry, or why GitHub refused it. */
  async function check(
    context: RotatorContext<GithubPatSettings>,
    token: string,
    what: string,
  ): Promise<{ login: string; expiresAt: string | undefined }> {
    const { status, body, headers } = await githubCall(
      options,
      context.settings.baseUrl,
      'GET',
      '/user',
      `Bearer ${token}`,
      what,
    );
    if (status === 401) {
      throw new RotationTestFailedError(
        'GitHub refused the token (401 Bad credentials): it is wrong, expired or revoked',
      );
    }
    if (status === 403) {
      throw new RotationTestFailedError(
        'GitHub refused the token (403 Forbidden): it may not read the user, or the organization blocks it',
      );
    }
    const user = User.safeParse(body);
    if (status !== 200 || !user.success) {
      throw new RotationTestFailedError(`GitHub did not accept the token (${status})`);
    }
    return {
      login: user.data.login,
      expiresAt: tokenExpiration(headers.get('github-authentication-token-expiration')),
    };
  }

  return {
    type: TYPE,
    // The first value may be submitted too: a path without a version gets version 1.
    generatesFirstValue: true,

    parseSettings(raw) {
      const github = parseRotatorSection(TYPE, raw, 'github', GithubPatSettingsSchema);
      const issue = githubBaseUrlIssue(github.baseUrl, options.allowHttpLoopback, 'github.baseUrl');
      if (issue !== undefined) throw invalidSettings(TYPE, [issue]);
      return {
        baseUrl: github.baseUrl,
        assisted: parseRotatorSection(TYPE, raw, 'assisted', AssistedSettingsSchema),
      };
    },

    dueBeforeExpiryMs: (settings) => assistedLeadMs(settings.assisted),

    assisted: {
      settings: (settings) => settings.assisted,
      async accept(context, submitted) {
        const parsed = Submission.safeParse(submitted);
        if (!parsed.success) {
          throw new ValidationError('The submitted value is not a GitHub token', {
            details: {
              issues: parsed.error.issues.map((issue) => ({
                path: ['value', ...issue.path.map(String)].join('.'),
                code: issue.code,
                message: issue.message,
              })),
            },
          });
        }
        const { token } = parsed.data;
        const { login, expiresAt } = await check(context, token, 'submit');
        return {
          pending: { token, ...(expiresAt === undefined ? {} : { expiresAt }) },
          provider: { login, ...(expiresAt === undefined ? {} : { expiresAt }) },
        };
      },
    },

    async preflight(context) {
      const { reminderDays, secondContact } = context.settings.assisted;
      return [
        `would wait for a person to submit a new token, checked with GET ${context.settings.baseUrl}/user`,
        `reminders ${reminderDays.join(', ')} days before the expiry${secondContact === undefined ? '' : `, then overdue to ${secondContact}`}`,
      ];
    },

    async create() {
      // The engine takes the submitted value as the pending one and never calls create.
      throw new RotationRefusedError('A github-pat token is submitted by a person; GitHub cannot create one');
    },

    async set() {
      return {};
    },

    async test(context) {
      await check(context, context.pending.token ?? '', 'test');
      return {};
    },

    async finish() {
      // The old token is the owner's to revoke at GitHub: no API can.
      return {};
    },

    async retire(): Promise<RetireOutcome> {
      return { status: 'done' };
    },

    async discard() {
      return {};
    },

    async restore(context) {
      try {
        await check(context, context.previous.token ?? '', 'restore');
      } catch (error: unknown) {
        if (error instanceof RotationTestFailedError) {
          throw new RotationRefusedError(`The previous token no longer works: ${error.message}`, {
            cause: error,
          });
        }
        throw error;
      }
      return {};
    },
  };
}
