/**
 * Email in the local runtime: through SMTP (nodemailer) when `VAULTPILOT_SMTP_URL` is set, else
 * as `.eml` files in the data directory's `outbox/` that a mail client opens.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { ChannelSender, DeliveryTarget, SendResult } from '../../core/notify/ports.js';
import type { NotificationMessage } from '../../core/notify/message.js';
import { PermanentDeliveryError, RetryableDeliveryError } from '../../core/notify/delivery-failure.js';
import { renderEmail } from '../../core/notify/render.js';

type Delivery =
  { readonly kind: 'smtp'; readonly url: string } | { readonly kind: 'outbox'; readonly directory: string };

export class LocalEmailSender implements ChannelSender {
  readonly kind = 'email' as const;
  private readonly transport: Transporter;

  constructor(
    private readonly delivery: Delivery,
    private readonly from: string,
    options: { readonly timeoutMs?: number } = {},
  ) {
    // As the Slack and webhook senders: a server that stops answering fails the send in 10 s
    // (nodemailer's defaults wait 2 min to connect, 30 s for the greeting, 10 min on a socket).
    // The options go in one object with the URL: a second argument would be message defaults.
    const timeout = options.timeoutMs ?? 10_000;
    this.transport =
      delivery.kind === 'smtp'
        ? nodemailer.createTransport({
            url: delivery.url,
            connectionTimeout: timeout,
            greetingTimeout: timeout,
            socketTimeout: timeout,
          })
        : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  async send(target: DeliveryTarget, message: NotificationMessage): Promise<SendResult> {
    if (target.channel.settings.kind !== 'email') throw new PermanentDeliveryError('wrong_channel_kind');
    const email = renderEmail(message);
    const mail = {
      from: this.from,
      to: [...target.channel.settings.recipients],
      subject: email.subject,
      text: email.text,
      html: email.html,
      headers: { 'X-VaultPilot-Event-Id': message.eventId },
    };
    let info: { messageId?: string; message?: unknown };
    try {
      info = await this.transport.sendMail(mail);
    } catch (error: unknown) {
      const code =
        typeof (error as { responseCode?: unknown }).responseCode === 'number'
          ? (error as { responseCode: number }).responseCode
          : undefined;
      // 5xx SMTP replies are permanent (mailbox unknown, relaying denied); the rest is retried.
      if (code !== undefined && code >= 500)
        throw new PermanentDeliveryError(`smtp_${code}`, { cause: error });
      throw new RetryableDeliveryError(
        `smtp_${code ?? (error instanceof Error ? error.name : 'error')}`,
        undefined,
        { cause: error },
      );
    }
    if (this.delivery.kind === 'outbox') {
      await mkdir(this.delivery.directory, { recursive: true, mode: 0o700 });
      const file = `${message.time.replace(/[:.]/g, '-')}-${message.eventId.replace(/[^A-Za-z0-9_-]/g, '_')}-${target.channel.id.replace(/[^A-Za-z0-9_-]/g, '_')}.eml`;
      await writeFile(path.join(this.delivery.directory, file), info.message as Buffer, { mode: 0o600 });
    }
    return { providerId: info.messageId };
  }

  close(): void {
    this.transport.close();
  }
}
