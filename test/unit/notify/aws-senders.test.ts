/**
 * SES and SNS senders against aws-sdk-client-mock, with response and error shapes from the AWS API
 * references (SendEmail: MessageId; errors MessageRejected, Throttling; Publish: MessageId;
 * errors NotFound, Throttled).
 */
import { SESClient, SendEmailCommand, MessageRejected } from '@aws-sdk/client-ses';
import { NotFoundException, PublishCommand, SNSClient, ThrottledException } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SesEmailSender } from '../../../lambdas/adapters/aws/ses-email-sender.js';
import { SnsNotificationSender } from '../../../lambdas/adapters/aws/sns-notification-sender.js';
import { PermanentDeliveryError } from '../../../lambdas/core/notify/delivery-failure.js';
import { buildMessage } from '../../../lambdas/core/notify/message.js';
import { channelOf, expiringEvent } from '../../support/notify-fixtures.js';

const ses = mockClient(SESClient);
const sns = mockClient(SNSClient);
const event = expiringEvent;
const message = buildMessage(event, undefined, 'https://vp.example.com');
const channel = channelOf;
const awsError = <T extends Error>(error: T): T => error;

beforeEach(() => {
  ses.reset();
  sns.reset();
});

describe('SesEmailSender', () => {
  const sender = new SesEmailSender(new SESClient({ region: 'us-east-1' }), 'alerts@vp.example.com');
  const target = { channel: channel({ kind: 'email', recipients: ['ops@example.com'] }), secret: undefined };

  it('sends a text and an HTML part from the configured identity', async () => {
    // Prepare
    ses
      .on(SendEmailCommand)
      .resolves({ MessageId: '0100018c-aaaa-bbbb-cccc-000000000000-000000', $metadata: {} });
    // Act
    const result = await sender.send(target, message);
    // Assess
    expect(result.providerId).toBe('0100018c-aaaa-bbbb-cccc-000000000000-000000');
    const input = ses.commandCalls(SendEmailCommand)[0]?.args[0].input;
    expect(input?.Source).toBe('alerts@vp.example.com');
    expect(input?.Destination?.ToAddresses).toEqual(['ops@example.com']);
    expect(input?.Message?.Subject?.Data).toBe('[VaultPilot] stripe live key expires in 7 days');
    expect(input?.Message?.Body?.Text?.Data).toContain('What to do next:');
    expect(input?.Message?.Body?.Html?.Data).toContain('<h1');
  });

  it('treats MessageRejected as permanent and throttling as retryable', async () => {
    ses
      .on(SendEmailCommand)
      .rejects(awsError(new MessageRejected({ message: 'Email address is not verified.', $metadata: {} })));
    await expect(sender.send(target, message)).rejects.toMatchObject({
      name: 'PermanentDeliveryError',
      reason: 'ses_MessageRejected',
    });
    ses.reset();
    const throttled = Object.assign(new Error('Maximum sending rate exceeded.'), { name: 'Throttling' });
    ses.on(SendEmailCommand).rejects(throttled);
    await expect(sender.send(target, message)).rejects.toMatchObject({
      name: 'RetryableDeliveryError',
      reason: 'ses_Throttling',
    });
  });
});

describe('SnsNotificationSender', () => {
  const sender = new SnsNotificationSender(new SNSClient({ region: 'us-east-1' }));
  const target = {
    channel: channel({ kind: 'sns', topicArn: 'arn:aws:sns:eu-west-1:210987654321:alerts' }),
    secret: undefined,
  };

  it('publishes the event as JSON with a human subject', async () => {
    sns.on(PublishCommand).resolves({ MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e', $metadata: {} });
    const result = await sender.send(target, message, event);
    expect(result.providerId).toBe('95df01b4-ee98-5cb9-9903-4c221d41eb5e');
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.TopicArn).toBe('arn:aws:sns:eu-west-1:210987654321:alerts');
    expect(input?.Subject).toBe('stripe live key expires in 7 days');
    expect(JSON.parse(input?.Message ?? '{}')).toMatchObject({
      type: 'credential.expiring',
      id: event.id,
      detail: { daysLeft: 7 },
    });
  });

  it('treats a missing topic as permanent and throttling as retryable', async () => {
    sns.on(PublishCommand).rejects(new NotFoundException({ message: 'Topic does not exist', $metadata: {} }));
    await expect(sender.send(target, message, event)).rejects.toBeInstanceOf(PermanentDeliveryError);
    sns.reset();
    sns.on(PublishCommand).rejects(new ThrottledException({ message: 'Rate exceeded', $metadata: {} }));
    await expect(sender.send(target, message, event)).rejects.toMatchObject({
      reason: 'sns_ThrottledException',
    });
  });
});
