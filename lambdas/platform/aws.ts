/**
 * The AWS platform: KMS, EventBridge, SQS, Lambda and Cognito. Each client is created on first
 * use with the function's region, so a function holds only the clients of what it uses (and
 * its bundle only their code: esbuild keeps what is reached from the function's compose.ts).
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SESClient } from '@aws-sdk/client-ses';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SesEmailSender } from '../adapters/aws/ses-email-sender.js';
import { SnsNotificationSender } from '../adapters/aws/sns-notification-sender.js';
import type { ChannelSender } from '../core/notify/ports.js';
import { CognitoTokenVerifier } from '../adapters/aws/cognito-token-verifier.js';
import { EventBridgePublisher } from '../adapters/aws/eventbridge-publisher.js';
import { KmsDigestSigner } from '../adapters/aws/kms-digest-signer.js';
import { KmsKeyring } from '../adapters/aws/kms-keyring.js';
import { LambdaRollbackRunner } from '../adapters/aws/lambda-rollback-runner.js';
import { SqsRotationQueue } from '../adapters/aws/sqs-rotation-queue.js';
import { SlackSender } from '../adapters/http/slack-sender.js';
import { UnconfiguredEmailSender } from '../core/notify/unconfigured-email-sender.js';
import { WebhookSender } from '../adapters/http/webhook-sender.js';
import { ConfigError } from '../shared/config.js';
import { EVENT_SOURCE, eventBridgeDetail, validatingPublisher } from '../shared/events.js';
import type { DigestSigner } from '../core/audit/audit-digest.js';
import type { AuditSink } from '../core/audit/audit-sink.js';
import type { ExpiringAuditSink } from '../core/audit/chaining-sink.js';
import type { EventPublisher } from '../core/events.js';
import type { TokenVerifier } from '../core/ports.js';
import type { RollbackRunner } from '../core/rotation/rollback-runner.js';
import type { RotationQueue } from '../core/rotation/rotation-queue.js';
import type { Keyring } from '../core/secrets/keyring.js';
import type { AuthConfig, FunctionConfig } from '../shared/config.js';

function required(value: string | undefined, variable: string, expected: string): string {
  // The manifest's required variables are checked at cold start; this guards direct callers.
  if (value === undefined) {
    throw new ConfigError(`Invalid configuration:\n  ${variable}: required by this function`, [
      { variable, expected },
    ]);
  }
  return value;
}

export function keyring(config: FunctionConfig): Keyring {
  return new KmsKeyring(new KMSClient({ region: config.region }), {
    keyId: required(
      config.keyring.kmsKeyId,
      'VAULTPILOT_KMS_KEY_ID',
      'the ARN of the key that wraps data keys',
    ),
  });
}

export function digestSigner(config: FunctionConfig): DigestSigner {
  return new KmsDigestSigner(new KMSClient({ region: config.region }), {
    keyId: required(
      config.auditSigner.kmsKeyId,
      'VAULTPILOT_AUDIT_SIGNING_KEY_ID',
      'the ARN of the asymmetric key that signs digests',
    ),
  });
}

export function eventPublisher(config: FunctionConfig): EventPublisher {
  return validatingPublisher(
    new EventBridgePublisher(new EventBridgeClient({ region: config.region }), {
      busName: required(
        config.eventBusName,
        'VAULTPILOT_EVENT_BUS_NAME',
        'the name or ARN of the EventBridge bus',
      ),
      source: EVENT_SOURCE,
      detail: eventBridgeDetail,
    }),
  );
}

export function rotationQueue(config: FunctionConfig): RotationQueue {
  return new SqsRotationQueue(
    new SQSClient({ region: config.region }),
    required(config.rotation.queueUrl, 'VAULTPILOT_ROTATION_QUEUE_URL', 'the URL of the rotation SQS queue'),
  );
}

export function rollbackRunner(config: FunctionConfig): RollbackRunner {
  return new LambdaRollbackRunner(
    new LambdaClient({ region: config.region }),
    required(
      config.rotation.workerFunction,
      'VAULTPILOT_ROTATION_WORKER_FUNCTION',
      'the rotation worker function name or ARN',
    ),
  );
}

export function tokenVerifier(auth: AuthConfig): TokenVerifier {
  if (auth.mode !== 'cognito') {
    throw new ConfigError(
      'Invalid configuration:\n  VAULTPILOT_AUTH_MODE: the local issuer serves the local runtime only',
      [{ variable: 'VAULTPILOT_AUTH_MODE', expected: 'cognito (in AWS)' }],
    );
  }
  return new CognitoTokenVerifier(auth.userPoolId);
}

/** In AWS the durable write is all: the audit table's stream drives the sequencer. */
export function auditSink(durable: ExpiringAuditSink): AuditSink {
  return durable;
}

/** Alert senders in AWS: SES email, SNS, and Slack and webhooks over HTTPS. */
export function channelSenders(config: FunctionConfig): ChannelSender[] {
  const from = config.notify.from;
  return [
    from === undefined
      ? new UnconfiguredEmailSender()
      : new SesEmailSender(new SESClient({ region: config.region }), from),
    new SnsNotificationSender(new SNSClient({ region: config.region })),
    new SlackSender(),
    new WebhookSender(),
  ];
}
