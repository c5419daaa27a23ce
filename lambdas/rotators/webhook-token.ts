/**
 * `webhook-token`: a generic API token rotated by its owner's own HTTPS endpoint. VaultPilot
 * POSTs each step as signed JSON (contract: docs/webhook-rotation.md; signatures:
 * ./webhook-signature.ts) and the endpoint does the provider's work: it mints the new token at
 * `create` (the only answer that carries a value), activates it at `set`, proves it at `test`,
 * and later retires the old one (`retire`) or undoes a rotation (`rollback`). The value in the
 * secret store has the fields `token` and `tokenId` (an identifier, never secret), and
 * `expiresAt` when the endpoint names one, which then also becomes the credential's expiry in the
 * inventory (an endpoint that names none leaves the credential without one: the old token's expiry
 * no longer applies). With `rotateDaysBeforeExpiry`, a token with an expiry is due that many days
 * before it; without, or for a token without one, the policy's interval applies.
 *
 * Every request carries an idempotency key that is the same for every attempt of one step, so a
 * step the engine runs again after a crash reaches the endpoint as a repeat, which it answers as
 * before (the same token at `create`). An endpoint that is down, times out or answers 408, 429
 * or 5xx is a transient failure the engine retries within its bounds; any other refusal, an
 * answer with a bad signature and a malformed token roll the rotation back.
 */
import * as z from 'zod';
import { DependencyUnavailableError, NotFoundError } from '../core/errors.js';
import type { ProviderState } from '../core/rotation/rotation.js';
import {
  type RetireOutcome,
  RotationRefusedError,
  RotationTestFailedError,
  type Rotator,
  type RotatorContext,
} from '../core/rotation/rotator.js';
import type { SecretData } from '../core/secrets/kv-service.js';
import { forbiddenAddressCause, forbiddenHost, guardedFetch } from './egress-guard.js';
import { invalidSettings, parseRotatorSection, SecretPathSetting } from './settings-section.js';
import {
  IDEMPOTENCY_HEADER,
  sameSignature,
  SIGNATURE_HEADER,
  signAnswer,
  signRequest,
  TIMESTAMP_HEADER,
} from './webhook-signature.js';

const TYPE = 'webhook-token';
export const WEBHOOK_CONTRACT_VERSION = 1;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const MAX_ANSWER_BYTES = 64 * 1024;
const DAY_MS = 86_400_000;

export const WebhookSettingsSchema = z.strictObject({
  /** The owner's receiver; HTTPS (plain HTTP only to loopback where the deployment allows it). */
  url: z.url({ protocol: /^https?$/ }).max(2048),
  /** Secret-store path of the HMAC key both sides sign with (field `signingKey`). */
  signingSecretPath: SecretPathSetting,
  timeoutSeconds: z.number().int().min(1).max(30).default(10),
  /** Rotate a token this many days before the expiry the endpoint named for it (none: the interval). */
  rotateDaysBeforeExpiry: z.number().int().min(1).max(365).optional(),
});
export type WebhookSettings = z.output<typeof WebhookSettingsSchema>;

export interface WebhookRotatorOptions {
  /** Allow `http://` URLs on loopback hosts (the local runtime; never in AWS). */
  readonly allowHttpLoopback?: boolean | undefined;
  readonly fetch?: typeof fetch | undefined;
}

export type WebhookStep = 'create' | 'set' | 'test' | 'finish' | 'retire' | 'rollback';

const TokenId = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\w.:@/+=-]+$/, 'expected an identifier');
/** A token: printable ASCII without spaces, as HTTP headers carry it. */
const Token = z
  .string()
  .min(8)
  .max(8192)
  .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces');

const CreateAnswer = z.object({
  ok: z.literal(true),
  token: Token,
  tokenId: TokenId,
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
const Ack = z.union([
  z.object({ ok: z.literal(true) }),
  z.object({
    ok: z.literal(false),
    reason: z.string().max(200).optional(),
    retryAfterSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400)
      .optional(),
  }),
]);
type AckAnswer = z.output<typeof Ack>;

export function createWebhookTokenRotator(options: WebhookRotatorOptions = {}): Rotator<WebhookSettings> {
  // The owner chooses the URL: connections go only to public addresses (loopback where allowed).
  const send = options.fetch ?? guardedFetch({ allowLoopback: options.allowHttpLoopback === true });

  async function signingKey(context: RotatorContext<WebhookSettings>): Promise<string> {
    let data: SecretData;
    try {
      data = await context.secrets.read(context.settings.signingSecretPath);
    } catch (error: unknown) {
      if (error instanceof NotFoundError) {
        throw new RotationRefusedError('The webhook signing key is missing from the secret store', {
          cause: error,
        });
      }
      throw error;
    }
    const key = data.signingKey;
    if (key === undefined || key.length < 32) {
      throw new RotationRefusedError(
        'The webhook signing secret needs a field signingKey of 32 characters or more',
      );
    }
    return key;
  }

  /**
   * POSTs one step and answers its verified JSON. Transient trouble is a
   * `DependencyUnavailableError`; a refusal (`refusal` decides which error) otherwise.
   */
  async function post(
    context: RotatorContext<WebhookSettings>,
    step: WebhookStep,
    idempotencyKey: string,
    fields: Record<string, unknown>,
    refusal: (message: string) => Error,
  ): Promise<unknown> {
    const key = await signingKey(context);
    const { url, timeoutSeconds } = context.settings;
    const timestamp = Math.floor(context.clock.now().getTime() / 1000);
    const body = JSON.stringify({
      version: WEBHOOK_CONTRACT_VERSION,
      step,
      tenant: context.tenant,
      credentialId: context.credentialId,
      credentialName: context.target.name,
      rotationId: context.rotationId,
      attempt: context.attempt,
      ...fields,
    });
    let response: Response;
    let text: string;
    try {
      response = await send(url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutSeconds * 1000),
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signRequest(key, timestamp, body),
          [IDEMPOTENCY_HEADER]: idempotencyKey,
        },
        body,
      });
      text = await response.text();
    } catch (error: unknown) {
      const forbidden = forbiddenAddressCause(error);
      if (forbidden !== undefined) {
        // Never retried: the URL points into a network VaultPilot must not reach.
        throw new RotationRefusedError(`The webhook URL is refused at connect time: ${forbidden.message}`);
      }
      const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'unreachable';
      throw new DependencyUnavailableError(`The webhook endpoint is ${reason} (${step})`, 60, {
        cause: error,
      });
    }
    const status = response.status;
    if (status === 408 || status === 429 || status >= 500) {
      throw new DependencyUnavailableError(`The webhook endpoint answered ${status} (${step})`, 60);
    }
    if (status < 200 || status >= 300) throw refusal(`The webhook endpoint refused ${step} with ${status}`);
    if (text.length > MAX_ANSWER_BYTES)
      throw refusal(`The webhook endpoint's answer to ${step} is too large`);
    if (
      !sameSignature(response.headers.get(SIGNATURE_HEADER), signAnswer(key, timestamp, idempotencyKey, text))
    ) {
      throw refusal(`The webhook endpoint's answer to ${step} has no valid signature`);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw refusal(`The webhook endpoint's answer to ${step} is not JSON`);
    }
  }

  /** A step that only needs an acknowledgement; `ok: false` is the endpoint's refusal. */
  async function acknowledged(
    context: RotatorContext<WebhookSettings>,
    step: WebhookStep,
    idempotencyKey: string,
    fields: Record<string, unknown>,
    refusal: (message: string) => Error,
  ): Promise<AckAnswer> {
    const answer = Ack.safeParse(await post(context, step, idempotencyKey, fields, refusal));
    if (!answer.success) throw refusal(`The webhook endpoint's answer to ${step} is malformed`);
    return answer.data;
  }

  async function must(
    context: RotatorContext<WebhookSettings>,
    step: WebhookStep,
    idempotencyKey: string,
    fields: Record<string, unknown>,
    refusal: (message: string) => Error = (message) => new RotationRefusedError(message),
  ): Promise<void> {
    const answer = await acknowledged(context, step, idempotencyKey, fields, refusal);
    if (!answer.ok) throw refusal(`The webhook endpoint declined ${step}${reasonOf(answer)}`);
  }

  const refused = (message: string) => new RotationRefusedError(message);
  const testFailed = (message: string) => new RotationTestFailedError(message);
  const tokenIdOf = (value: SecretData | undefined) => value?.tokenId;

  return {
    type: 'webhook-token',
    // The endpoint mints the first token too: no current value is needed.
    generatesFirstValue: true,

    // Each token has its own expiry (or none): see `Rotator.dueBeforeExpiryMs`.
    dueBeforeExpiryMs: (settings) =>
      settings.rotateDaysBeforeExpiry === undefined ? undefined : settings.rotateDaysBeforeExpiry * DAY_MS,

    parseSettings(raw) {
      const settings = parseRotatorSection(TYPE, raw, 'webhook', WebhookSettingsSchema);
      const url = new URL(settings.url);
      if (url.username !== '' || url.password !== '') {
        throw invalidSettings(TYPE, [
          { path: 'webhook.url', code: 'custom', message: 'a URL without credentials' },
        ]);
      }
      if (url.protocol === 'http:' && !(options.allowHttpLoopback === true && LOOPBACK.has(url.hostname))) {
        throw invalidSettings(TYPE, [
          { path: 'webhook.url', code: 'custom', message: 'expected an https:// URL' },
        ]);
      }
      const forbidden = forbiddenHost(url, options.allowHttpLoopback === true);
      if (forbidden !== undefined) {
        throw invalidSettings(TYPE, [
          {
            path: 'webhook.url',
            code: 'custom',
            message: `expected a public host, not a ${forbidden} address`,
          },
        ]);
      }
      return settings;
    },

    async preflight(context) {
      await signingKey(context);
      return [`would ask ${new URL(context.settings.url).origin} for a new token and test it there`];
    },

    async create(context) {
      const previousTokenId = tokenIdOf(context.current);
      const answer = CreateAnswer.safeParse(
        await post(
          context,
          'create',
          `${context.rotationId}:create`,
          { currentTokenId: previousTokenId ?? null },
          refused,
        ),
      );
      if (!answer.success) {
        const fields = answer.error.issues.map((issue) => issue.path.join('.')).join(', ');
        throw new RotationRefusedError(
          `The webhook endpoint answered create with a malformed token (${fields})`,
        );
      }
      const { token, tokenId, expiresAt } = answer.data;
      if (tokenId === previousTokenId) {
        throw new RotationRefusedError('The webhook endpoint answered create with the current token id');
      }
      const kept = Object.fromEntries(
        Object.entries(context.current).filter(([field]) => field !== 'expiresAt'),
      );
      return {
        pending: { ...kept, token, tokenId, ...(expiresAt === undefined ? {} : { expiresAt }) },
        provider: {
          newTokenId: tokenId,
          ...(previousTokenId === undefined ? {} : { previousTokenId }),
          // The rotator contract: a learned expiry becomes the credential's when the rotation
          // succeeds, so the expiry findings and alerts follow the token that is current.
          ...(expiresAt === undefined ? {} : { expiresAt: new Date(expiresAt).toISOString() }),
        },
      };
    },

    async set(context) {
      await must(context, 'set', `${context.rotationId}:set`, { tokenId: context.pending.tokenId });
      return {};
    },

    async test(context) {
      await must(
        context,
        'test',
        `${context.rotationId}:test`,
        { tokenId: context.pending.tokenId },
        testFailed,
      );
      return {};
    },

    async finish(context) {
      const previousTokenId = tokenIdOf(context.current);
      const tokenId = context.pending.tokenId;
      await must(context, 'finish', `${context.rotationId}:finish`, {
        tokenId,
        previousTokenId: previousTokenId ?? null,
      });
      return previousTokenId === undefined || previousTokenId === tokenId
        ? {}
        : { retire: { tokenId: previousTokenId } };
    },

    async retire(context, phase, ref): Promise<RetireOutcome> {
      const tokenId = typeof ref.tokenId === 'string' ? ref.tokenId : undefined;
      if (tokenId === undefined) return { status: 'done' };
      const answer = await acknowledged(
        context,
        'retire',
        `${context.rotationId}:retire:${phase}:${tokenId}`,
        { phase, tokenId },
        refused,
      );
      if (answer.ok) return { status: 'done' };
      const note = `the webhook endpoint postponed ${phase}${reasonOf(answer)}`;
      const seconds = answer.retryAfterSeconds ?? 86_400;
      return { status: 'postponed', until: new Date(context.clock.now().getTime() + seconds * 1000), note };
    },

    async discard(context) {
      const provider: ProviderState = context.provider;
      const tokenId =
        tokenIdOf(context.pending) ??
        (typeof provider.newTokenId === 'string' ? provider.newTokenId : undefined);
      // Sent even without a token id: a crash may have lost the create answer the endpoint gave.
      await must(context, 'rollback', `${context.rotationId}:rollback:discard`, {
        stage: 'discard',
        tokenId: tokenId ?? null,
        createIdempotencyKey: `${context.rotationId}:create`,
        currentTokenId: tokenIdOf(context.current) ?? null,
      });
      return {};
    },

    async restore(context) {
      const tokenId = context.pending.tokenId;
      const previousTokenId = tokenIdOf(context.previous);
      await must(context, 'rollback', `${context.rotationId}:rollback:restore`, {
        stage: 'restore',
        tokenId: tokenId ?? null,
        previousTokenId: previousTokenId ?? null,
      });
      return tokenId === undefined || tokenId === previousTokenId ? {} : { retire: { tokenId } };
    },
  };
}

function reasonOf(answer: AckAnswer): string {
  return !answer.ok && answer.reason !== undefined ? `: ${answer.reason.replace(/[^\x20-\x7e]/g, '?')}` : '';
}
