/**
 * The local SNS sender writes the notification to the log through the project's Powertools
 * logger: subject and body must both reach the line (Powertools reserves `message`, and dropped a
 * body logged under that key with only a warning).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LoggedSnsSender } from '../../../lambdas/adapters/local/logged-sns-sender.js';
import { buildMessage } from '../../../lambdas/core/notify/message.js';
import { renderSns } from '../../../lambdas/core/notify/render.js';
import { channelOf, expiringEvent } from '../../support/notify-fixtures.js';

const event = expiringEvent;
const channel = channelOf({ kind: 'sns', topicArn: 'arn:aws:sns:us-east-1:123456789012:alerts' });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('LoggedSnsSender', () => {
  it('logs the subject and the whole body through the Powertools logger', async () => {
    // Prepare: a real logger, its output captured.
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const logger = new Logger({ serviceName: 'vaultpilot-test' });
    const sender = new LoggedSnsSender((line) => logger.info('SNS notification (logged locally)', line));
    const message = buildMessage(event, undefined, 'https://vp.example.com');

    // Act
    await sender.send({ channel, secret: undefined }, message, event);

    // Assess
    const line = written.map((text) => text.trim()).find((text) => text.includes('SNS notification'));
    expect(line).toBeDefined();
    const logged = JSON.parse(line ?? '{}') as Record<string, unknown>;
    const rendered = renderSns(message, event);
    expect(logged).toMatchObject({
      sns: 'arn:aws:sns:us-east-1:123456789012:alerts',
      subject: rendered.subject,
      body: rendered.message,
    });
    expect(written.join('')).not.toContain('reserved key');
    expect(warnings.mock.calls.flat().join(' ')).not.toContain('reserved key');
  });
});
