/**
 * SNS: the notification body as JSON with a human subject, to a topic in this or another account
 * (KMS-encrypted topics work when the function may use the topic's key).
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { ChannelSender, DeliveryTarget, SendResult } from '../../core/notify/ports.js';
import type { NotificationMessage } from '../../core/notify/message.js';
import type { NotifiableEvent } from '../../core/notify/notify-event.js';
import { PermanentDeliveryError, RetryableDeliveryError } from '../../core/notify/delivery-failure.js';
import { renderSns } from '../../core/notify/render.js';

/** Errors no retry fixes: the topic or its key is gone, disabled, or not ours to use. */
const PERMANENT = new Set([
  'NotFoundException',
  'AuthorizationErrorException',
  'InvalidParameterException',
  'InvalidParameterValueException',
  'KMSDisabledException',
  'KMSNotFoundException',
  'KMSInvalidStateException',
  'KMSAccessDeniedException',
  'EndpointDisabledException',
]);

export class SnsNotificationSender implements ChannelSender {
  readonly kind = 'sns' as const;

  constructor(private readonly client: SNSClient) {}

  async send(
    target: DeliveryTarget,
    message: NotificationMessage,
    event: NotifiableEvent,
  ): Promise<SendResult> {
    if (target.channel.settings.kind !== 'sns') throw new PermanentDeliveryError('wrong_channel_kind');
    const rendered = renderSns(message, event);
    try {
      const result = await this.client.send(
        new PublishCommand({
          TopicArn: target.channel.settings.topicArn,
          Subject: rendered.subject,
          Message: rendered.message,
          MessageAttributes: {
            eventType: { DataType: 'String', StringValue: message.eventType },
            severity: { DataType: 'String', StringValue: message.severity },
          },
        }),
      );
      return { providerId: result.MessageId };
    } catch (error: unknown) {
      const name = error instanceof Error ? error.name : 'unknown';
      if (PERMANENT.has(name)) throw new PermanentDeliveryError(`sns_${name}`, { cause: error });
      throw new RetryableDeliveryError(`sns_${name}`, undefined, { cause: error });
    }
  }
}
