/**
 * The email sender of a deployment with no From address (`VAULTPILOT_NOTIFY_FROM`): every send
 * fails for good with a reason that says what to configure, instead of the function failing to
 * start for channels that may never be used.
 */
import { PermanentDeliveryError } from './delivery-failure.js';
import type { ChannelSender, SendResult } from './ports.js';

export class UnconfiguredEmailSender implements ChannelSender {
  readonly kind = 'email' as const;

  send(): Promise<SendResult> {
    return Promise.reject(new PermanentDeliveryError('email_from_not_configured'));
  }
}
