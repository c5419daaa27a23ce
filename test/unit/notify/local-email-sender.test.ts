/**
 * The local email sender over SMTP gives up on a server that stops answering, as the Slack and
 * webhook senders do, instead of nodemailer's defaults (30 s for the greeting, 10 min on a
 * socket), which would hold a notifier run or a channel test past its function's timeout.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalEmailSender } from '../../../lambdas/adapters/local/local-email-sender.js';
import { RetryableDeliveryError } from '../../../lambdas/core/notify/delivery-failure.js';
import { buildMessage } from '../../../lambdas/core/notify/message.js';
import { channelOf, expiringEvent } from '../../support/notify-fixtures.js';

const channel = channelOf({ kind: 'email', recipients: ['ops@example.com'] });
let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

/** A TCP server that accepts connections and never says a word (no SMTP greeting). */
async function silentServer(): Promise<string> {
  server = createServer((socket) => {
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return `smtp://127.0.0.1:${port}`;
}

describe('LocalEmailSender over SMTP', () => {
  it('fails the send as retryable when the server never greets, within its timeout', async () => {
    // Prepare
    const sender = new LocalEmailSender({ kind: 'smtp', url: await silentServer() }, 'vp@example.com', {
      timeoutMs: 200,
    });
    const message = buildMessage(expiringEvent, undefined, 'https://vp.example.com');

    // Act
    const sent = sender.send({ channel, secret: undefined }, message);

    // Assess: nodemailer's own greeting timeout (30 s) would outlast this test's 5 s.
    await expect(sent).rejects.toBeInstanceOf(RetryableDeliveryError);
    expect(sockets.length).toBeGreaterThan(0);
  }, 5_000);
});
