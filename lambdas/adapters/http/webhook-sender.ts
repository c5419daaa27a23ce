/**
 * Signed webhooks: the notification body as JSON, signed with HMAC-SHA256 over `<timestamp>.<body>`
 * (headers in docs/notifications.md). 2xx is delivered; 408, 429 and 5xx are retried (Retry-After
 * honoured); any other 4xx (404, 410, 401) marks the channel failing.
 */
import type { ChannelSender, DeliveryTarget, SendResult } from '../../core/notify/ports.js';
import type { NotificationMessage } from '../../core/notify/message.js';
import type { NotifiableEvent } from '../../core/notify/notify-event.js';
import {
  parseRetryAfter,
  PermanentDeliveryError,
  RetryableDeliveryError,
} from '../../core/notify/delivery-failure.js';
import { renderWebhook } from '../../core/notify/render.js';
import { postJson } from './http-post.js';

export class WebhookSender implements ChannelSender {
  readonly kind = 'webhook' as const;

  constructor(private readonly options: { readonly timeoutMs?: number; readonly now?: () => Date } = {}) {}

  async send(
    target: DeliveryTarget,
    message: NotificationMessage,
    event: NotifiableEvent,
  ): Promise<SendResult> {
    if (target.secret?.kind !== 'webhook') throw new PermanentDeliveryError('webhook_secret_missing');
    const now = (this.options.now ?? (() => new Date()))();
    const signed = renderWebhook(message, event, target.secret.signingKey, now);
    let answer;
    try {
      answer = await postJson(
        target.secret.url,
        signed.body,
        signed.headers,
        this.options.timeoutMs ?? 10_000,
      );
    } catch (error: unknown) {
      throw new RetryableDeliveryError(
        `webhook_${error instanceof Error ? error.name : 'network'}`,
        undefined,
        { cause: error },
      );
    }
    if (answer.status >= 200 && answer.status < 300) return { providerId: undefined };
    const retryAfter = parseRetryAfter(answer.headers.get('retry-after'), now);
    if (answer.status === 408 || answer.status === 429 || answer.status >= 500) {
      throw new RetryableDeliveryError(`webhook_${answer.status}`, retryAfter);
    }
    throw new PermanentDeliveryError(`webhook_${answer.status}`);
  }
}
