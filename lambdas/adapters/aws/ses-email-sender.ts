/**
 * Email through SES (`SendEmail`, text and HTML parts) from the verified identity configured at
 * deploy. Throttling is retried; `MessageRejected` and identity problems mark the channel failing.
 */
import { SendEmailCommand, type SESClient } from '@aws-sdk/client-ses';
import type { ChannelSender, DeliveryTarget, SendResult } from '../../core/notify/ports.js';
import type { NotificationMessage } from '../../core/notify/message.js';
import { PermanentDeliveryError, RetryableDeliveryError } from '../../core/notify/delivery-failure.js';
import { renderEmail } from '../../core/notify/render.js';

/** SES error names that no retry can fix (SES API reference, SendEmail errors). */
const PERMANENT = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'ConfigurationSetDoesNotExistException',
  'ConfigurationSetSendingPausedException',
]);

export class SesEmailSender implements ChannelSender {
  readonly kind = 'email' as const;

  constructor(
    private readonly client: SESClient,
    private readonly from: string,
  ) {}

  async send(target: DeliveryTarget, message: NotificationMessage): Promise<SendResult> {
    if (target.channel.settings.kind !== 'email') throw new PermanentDeliveryError('wrong_channel_kind');
    const email = renderEmail(message);
    try {
      const result = await this.client.send(
        new SendEmailCommand({
          Source: this.from,
          Destination: { ToAddresses: [...target.channel.settings.recipients] },
          Message: {
            Subject: { Data: email.subject, Charset: 'UTF-8' },
            Body: {
              Text: { Data: email.text, Charset: 'UTF-8' },
              Html: { Data: email.html, Charset: 'UTF-8' },
            },
          },
        }),
      );
      return { providerId: result.MessageId };
    } catch (error: unknown) {
      const name = error instanceof Error ? error.name : 'unknown';
      if (PERMANENT.has(name)) throw new PermanentDeliveryError(`ses_${name}`, { cause: error });
      // Throttling ("Maximum sending rate exceeded"), AccountSendingPaused, 5xx: try again later.
      throw new RetryableDeliveryError(`ses_${name}`, undefined, { cause: error });
    }
  }
}
