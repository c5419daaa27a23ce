/**
 * SNS in the local runtime: the notification is written to the log (subject and JSON body). The
 * body goes under `body`: Powertools' logger reserves `message` and dropped it, with a warning.
 */
import type { ChannelSender, DeliveryTarget, SendResult } from '../../core/notify/ports.js';
import type { NotificationMessage } from '../../core/notify/message.js';
import type { NotifiableEvent } from '../../core/notify/notify-event.js';
import { PermanentDeliveryError } from '../../core/notify/delivery-failure.js';
import { renderSns } from '../../core/notify/render.js';

export class LoggedSnsSender implements ChannelSender {
  readonly kind = 'sns' as const;

  constructor(private readonly log: (line: Record<string, unknown>) => void) {}

  send(target: DeliveryTarget, message: NotificationMessage, event: NotifiableEvent): Promise<SendResult> {
    if (target.channel.settings.kind !== 'sns')
      return Promise.reject(new PermanentDeliveryError('wrong_channel_kind'));
    const rendered = renderSns(message, event);
    this.log({ sns: target.channel.settings.topicArn, subject: rendered.subject, body: rendered.message });
    return Promise.resolve({ providerId: undefined });
  }
}
