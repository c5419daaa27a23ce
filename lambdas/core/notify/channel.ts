/**
 * Notification channels of a tenant: email (SES), Slack (incoming webhook or bot token and channel
 * id), SNS (a topic ARN) and signed webhooks. What a channel needs to send but must never be shown
 * (webhook URLs, bot tokens, signing keys) is split off into `ChannelSecret`, which lives in the
 * secret store; the channel item keeps only a masked hint of it.
 */
import * as z from 'zod';
import { ValidationError } from '../errors.js';

export const CHANNEL_KINDS = ['email', 'slack', 'sns', 'webhook'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

export const CHANNEL_STATES = ['active', 'failing'] as const;
export type ChannelState = (typeof CHANNEL_STATES)[number];

export interface ChannelValidationOptions {
  /** The local runtime's flag: http:// on loopback hosts is accepted (Slack and webhook stand-ins). */
  readonly allowLoopbackHttp: boolean;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An HTTPS URL, or http:// to a loopback host when the local flag allows it. */
function endpointUrl(options: ChannelValidationOptions) {
  return z
    .string()
    .max(2048)
    .refine(
      (value) => {
        let url: URL;
        try {
          url = new URL(value);
        } catch {
          return false;
        }
        if (url.username !== '' || url.password !== '') return false;
        if (url.protocol === 'https:') return true;
        return options.allowLoopbackHttp && url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
      },
      {
        message: options.allowLoopbackHttp
          ? 'must be an https:// URL (http:// only to a loopback host)'
          : 'must be an https:// URL',
      },
    );
}

const name = z.string().trim().min(1).max(128);
const email = z.email().max(254);

/** An SNS topic ARN in any partition, region and account. */
const topicArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/, 'must be an SNS topic ARN');

function channelInputSchema(options: ChannelValidationOptions) {
  const url = endpointUrl(options);
  return z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('email'),
      name,
      recipients: z.array(email).min(1).max(50),
      digest: z.boolean().default(false),
    }),
    z.strictObject({
      kind: z.literal('slack'),
      name,
      webhookUrl: url.optional(),
      botToken: z
        .string()
        .regex(/^xox[bp]-[A-Za-z0-9-]{10,250}$/, 'must be a Slack bot token (xoxb-…)')
        .optional(),
      channelId: z
        .string()
        .regex(/^[CGD][A-Z0-9]{6,20}$/, 'must be a Slack channel id (C…)')
        .optional(),
      /** Where chat.postMessage is sent; only for a local stand-in of Slack's API. */
      apiUrl: url.optional(),
      digest: z.boolean().default(false),
    }),
    z.strictObject({ kind: z.literal('sns'), name, topicArn, digest: z.boolean().default(false) }),
    z.strictObject({
      kind: z.literal('webhook'),
      name,
      url,
      signingKey: z.string().min(32, 'must be at least 32 characters').max(512),
      digest: z.boolean().default(false),
    }),
  ]);
}

export type ChannelInput = z.output<ReturnType<typeof channelInputSchema>>;

/** The part of a channel kept in the secret store; never in a settings item, log or response. */
export type ChannelSecret =
  | { readonly kind: 'slack-webhook'; readonly webhookUrl: string }
  | { readonly kind: 'slack-bot'; readonly botToken: string }
  | { readonly kind: 'webhook'; readonly url: string; readonly signingKey: string };

export type ChannelSettings =
  | { readonly kind: 'email'; readonly recipients: readonly string[] }
  | {
      readonly kind: 'slack';
      readonly mode: 'webhook' | 'bot';
      readonly channelId?: string;
      readonly apiUrl?: string;
    }
  | { readonly kind: 'sns'; readonly topicArn: string }
  | { readonly kind: 'webhook' };

export interface Channel {
  readonly id: string;
  readonly tenant: string;
  readonly name: string;
  readonly settings: ChannelSettings;
  /** Masked hint of the secret part (`https://hooks.slack.com/…`), safe to show. */
  readonly secretHint: string | undefined;
  readonly hasSecret: boolean;
  /** Whether the channel takes the daily digest. */
  readonly digest: boolean;
  readonly state: ChannelState;
  /** Why it is failing (an error code, never a secret), and since when. */
  readonly failure: { readonly reason: string; readonly since: string } | undefined;
  readonly revision: number;
}

/** The first field zod names, as `recipients.0`; the 400 says which field is wrong. */
function firstField(issues: readonly z.core.$ZodIssue[]): string {
  const issue = issues[0];
  if (issue === undefined) return '(body)';
  if (issue.code === 'invalid_union' && issue.path.length === 0) return 'kind';
  return issue.path.length === 0 ? '(body)' : issue.path.map(String).join('.');
}

/** Validates a channel as an admin submitted it; a `ValidationError` names the field. */
export function parseChannelInput(raw: unknown, options: ChannelValidationOptions): ChannelInput {
  const result = channelInputSchema(options).safeParse(raw);
  if (!result.success) {
    const field = firstField(result.error.issues);
    // zod messages name rules, never the rejected value.
    const issues = result.error.issues.map((issue) => ({
      field: issue.path.map(String).join('.'),
      message: issue.message,
    }));
    throw new ValidationError(
      `Invalid channel: ${field} ${result.error.issues[0]?.message ?? 'is invalid'}`,
      {
        details: { field, issues },
      },
    );
  }
  const input = result.data;
  if (input.kind === 'slack') {
    const hasWebhook = input.webhookUrl !== undefined;
    const hasBot = input.botToken !== undefined;
    if (hasWebhook === hasBot) {
      throw new ValidationError(
        'Invalid channel: webhookUrl or botToken (with channelId) is required, not both',
        {
          details: { field: hasWebhook ? 'botToken' : 'webhookUrl' },
        },
      );
    }
    if (hasBot && input.channelId === undefined) {
      throw new ValidationError('Invalid channel: channelId is required with botToken', {
        details: { field: 'channelId' },
      });
    }
  }
  return input;
}

/** Splits a validated input into what the settings item keeps and what the secret store keeps. */
export function splitChannelInput(input: ChannelInput): {
  readonly settings: ChannelSettings;
  readonly secret: ChannelSecret | undefined;
  readonly secretHint: string | undefined;
} {
  switch (input.kind) {
    case 'email':
      return {
        settings: { kind: 'email', recipients: input.recipients },
        secret: undefined,
        secretHint: undefined,
      };
    case 'sns':
      return {
        settings: { kind: 'sns', topicArn: input.topicArn },
        secret: undefined,
        secretHint: undefined,
      };
    case 'webhook':
      return {
        settings: { kind: 'webhook' },
        secret: { kind: 'webhook', url: input.url, signingKey: input.signingKey },
        secretHint: maskUrl(input.url),
      };
    case 'slack':
      if (input.botToken !== undefined) {
        return {
          settings: {
            kind: 'slack',
            mode: 'bot',
            ...(input.channelId === undefined ? {} : { channelId: input.channelId }),
            ...(input.apiUrl === undefined ? {} : { apiUrl: input.apiUrl }),
          },
          secret: { kind: 'slack-bot', botToken: input.botToken },
          secretHint: `${input.botToken.slice(0, 5)}…`,
        };
      }
      return {
        settings: { kind: 'slack', mode: 'webhook' },
        secret: { kind: 'slack-webhook', webhookUrl: input.webhookUrl ?? '' },
        secretHint: maskUrl(input.webhookUrl ?? ''),
      };
  }
}

/** Scheme and host only: the path of a webhook URL is its credential. */
export function maskUrl(value: string): string {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}/…`;
  } catch {
    return '…';
  }
}

/** Where a channel's secret lives in the secret store. */
export function channelSecretPath(channelId: string): string {
  return `vaultpilot/notify/channels/${channelId}`;
}

const ChannelSecretSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('slack-webhook'), webhookUrl: z.string().min(1) }),
  z.strictObject({ kind: z.literal('slack-bot'), botToken: z.string().min(1) }),
  z.strictObject({ kind: z.literal('webhook'), url: z.string().min(1), signingKey: z.string().min(1) }),
]);

/** A secret as read back from the store; a malformed one is refused without echoing it. */
export function parseChannelSecret(raw: unknown): ChannelSecret {
  const result = ChannelSecretSchema.safeParse(raw);
  if (!result.success)
    throw new ChannelSecretInvalidError('The stored channel secret is not in the expected shape');
  return result.data;
}

export class ChannelSecretInvalidError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChannelSecretInvalidError';
  }
}
