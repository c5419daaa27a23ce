/**
 * Slack: an incoming webhook (POST the Block Kit payload to the webhook URL) or a bot token
 * (`chat.postMessage` to a channel id). 429 is retried after its Retry-After; `no_service`, 404
 * or 410, and token/channel errors of chat.postMessage mark the channel failing.
 */
import type { ChannelSender, DeliveryTarget, SendResult } from '../../core/notify/ports.js';
import type { NotificationMessage } from '../../core/notify/message.js';
import {
  parseRetryAfter,
  PermanentDeliveryError,
  RetryableDeliveryError,
} from '../../core/notify/delivery-failure.js';
import { renderSlack } from '../../core/notify/render.js';
import { type PostAnswer, postJson } from './http-post.js';

const SLACK_API = 'https://slack.com/api/chat.postMessage';

/** chat.postMessage errors that no retry fixes (Slack API reference). */
const PERMANENT_API_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'restricted_action',
]);

/** Incoming-webhook answers that mean the webhook is gone or disabled. */
const PERMANENT_WEBHOOK_BODIES = new Set([
  'no_service',
  'no_team',
  'team_disabled',
  'channel_not_found',
  'channel_is_archived',
  'invalid_token',
  'action_prohibited',
  'posting_to_general_channel_denied',
]);

export class SlackSender implements ChannelSender {
  readonly kind = 'slack' as const;

  constructor(private readonly options: { readonly timeoutMs?: number; readonly now?: () => Date } = {}) {}

  async send(target: DeliveryTarget, message: NotificationMessage): Promise<SendResult> {
    const settings = target.channel.settings;
    if (settings.kind !== 'slack') throw new PermanentDeliveryError('wrong_channel_kind');
    const payload = renderSlack(message);
    const secret = target.secret;
    if (settings.mode === 'webhook') {
      if (secret?.kind !== 'slack-webhook') throw new PermanentDeliveryError('slack_secret_missing');
      const answer = await this.post(secret.webhookUrl, JSON.stringify(payload), {});
      this.checkWebhook(answer);
      return { providerId: undefined };
    }
    if (secret?.kind !== 'slack-bot') throw new PermanentDeliveryError('slack_secret_missing');
    const answer = await this.post(
      settings.apiUrl ?? SLACK_API,
      JSON.stringify({ channel: settings.channelId, ...payload }),
      { authorization: `Bearer ${secret.botToken}` },
    );
    return this.checkApi(answer);
  }

  private async post(url: string, body: string, headers: Record<string, string>): Promise<PostAnswer> {
    try {
      return await postJson(url, body, headers, this.options.timeoutMs ?? 10_000);
    } catch (error: unknown) {
      // A timeout or a refused connection; the URL (a credential) stays out of the reason.
      throw new RetryableDeliveryError(
        `slack_${error instanceof Error ? error.name : 'network'}`,
        undefined,
        { cause: error },
      );
    }
  }

  private retryAfter(answer: PostAnswer): number | undefined {
    return parseRetryAfter(answer.headers.get('retry-after'), (this.options.now ?? (() => new Date()))());
  }

  private checkWebhook(answer: PostAnswer): void {
    if (answer.status >= 200 && answer.status < 300) return;
    const body = answer.body.trim();
    if (answer.status === 429)
      throw new RetryableDeliveryError('slack_429', this.retryAfter(answer) ?? 1_000);
    if (PERMANENT_WEBHOOK_BODIES.has(body)) throw new PermanentDeliveryError(`slack_${body}`);
    if (answer.status === 404 || answer.status === 410 || answer.status === 403) {
      throw new PermanentDeliveryError(`slack_${answer.status}`);
    }
    if (answer.status === 400)
      throw new PermanentDeliveryError(`slack_400_${/^[a-z_]{1,64}$/.test(body) ? body : 'bad_request'}`);
    throw new RetryableDeliveryError(`slack_${answer.status}`, this.retryAfter(answer));
  }

  private checkApi(answer: PostAnswer): SendResult {
    if (answer.status === 429)
      throw new RetryableDeliveryError('slack_429', this.retryAfter(answer) ?? 1_000);
    if (answer.status === 404 || answer.status === 410)
      throw new PermanentDeliveryError(`slack_${answer.status}`);
    if (answer.status >= 500)
      throw new RetryableDeliveryError(`slack_${answer.status}`, this.retryAfter(answer));
    let parsed: { ok?: unknown; error?: unknown; ts?: unknown };
    try {
      parsed = JSON.parse(answer.body) as typeof parsed;
    } catch (error: unknown) {
      throw new RetryableDeliveryError('slack_bad_answer', undefined, { cause: error });
    }
    if (parsed.ok === true) return { providerId: typeof parsed.ts === 'string' ? parsed.ts : undefined };
    const code =
      typeof parsed.error === 'string' && /^[a-z_]{1,64}$/.test(parsed.error) ? parsed.error : 'unknown';
    if (code === 'ratelimited')
      throw new RetryableDeliveryError('slack_429', this.retryAfter(answer) ?? 1_000);
    if (PERMANENT_API_ERRORS.has(code)) throw new PermanentDeliveryError(`slack_${code}`);
    throw new RetryableDeliveryError(`slack_${code}`);
  }
}
