/**
 * The local platform (`npm start`): the key-encryption key and the digest signing key in files
 * of the data directory (or in memory), the in-process bus, queue and rollback runner, and the
 * local issuer's tokens. Every function runs in the one local process, so what must be one per
 * process (a key held in memory, the in-process sequencer's sink) is built once here and shared.
 * The AWS bundles never contain this module (lambdas/platform/index.ts).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FileDigestSigner } from '../adapters/local/file-digest-signer.js';
import { FileKeyring } from '../adapters/local/file-keyring.js';
import { localEventBus } from '../adapters/local/in-process-event-bus.js';
import { localRollbackRunner } from '../adapters/local/in-process-rollback-runner.js';
import { localRotationQueue } from '../adapters/local/in-process-rotation-queue.js';
import { LocalTokenVerifier } from '../adapters/local/local-token-verifier.js';
import { LocalEmailSender } from '../adapters/local/local-email-sender.js';
import { LoggedSnsSender } from '../adapters/local/logged-sns-sender.js';
import { SlackSender } from '../adapters/http/slack-sender.js';
import { WebhookSender } from '../adapters/http/webhook-sender.js';
import type { ChannelSender } from '../core/notify/ports.js';
import type { DigestSigner } from '../core/audit/audit-digest.js';
import type { AuditSink } from '../core/audit/audit-sink.js';
import { ChainingAuditSink } from '../core/audit/chaining-sink.js';
import type { Keyring } from '../core/secrets/keyring.js';
import { ConfigError } from '../shared/config.js';
import { validatingPublisher } from '../shared/events.js';
import { logger } from '../shared/observability.js';
import type { AuditSequencer } from '../core/audit/audit-sequencer.js';
import type { ExpiringAuditSink } from '../core/audit/chaining-sink.js';
import type { EventPublisher } from '../core/events.js';
import type { TokenVerifier } from '../core/ports.js';
import type { RollbackRunner } from '../core/rotation/rollback-runner.js';
import type { RotationQueue } from '../core/rotation/rotation-queue.js';
import type { AuthConfig, FunctionConfig } from '../shared/config.js';

/** Per process: keyed by the keyring directory ('' in memory). */
const keyrings = new Map<string, Keyring>();
const signers = new Map<string, DigestSigner>();
let sink: ChainingAuditSink | undefined;
const documentClients = new Map<string, DynamoDBDocumentClient>();
const shared = new Map<string, unknown>();
const emailSenders = new Map<string, LocalEmailSender>();

/** The From of local alert emails when none is configured. */
const LOCAL_FROM = 'VaultPilot <vaultpilot@localhost>';

const publisher = validatingPublisher(localEventBus);

/** One keyring per process (per directory), so functions open each other's envelopes. */
export function keyring(config: FunctionConfig): Keyring {
  const key = config.keyring.directory ?? '';
  let found = keyrings.get(key);
  if (found === undefined) {
    found = new FileKeyring({ dataDir: config.keyring.directory });
    keyrings.set(key, found);
  }
  return found;
}

/** One signer per process: an in-memory key must sign and verify with the same key. */
export function digestSigner(config: FunctionConfig): DigestSigner {
  const key = config.keyring.directory ?? '';
  let found = signers.get(key);
  if (found === undefined) {
    found = new FileDigestSigner({ dataDir: config.keyring.directory });
    signers.set(key, found);
  }
  return found;
}

export function eventPublisher(): EventPublisher {
  return publisher;
}

export function rotationQueue(): RotationQueue {
  return localRotationQueue;
}

export function rollbackRunner(): RollbackRunner {
  return localRollbackRunner;
}

export function tokenVerifier(auth: AuthConfig): TokenVerifier {
  if (auth.mode !== 'local') {
    throw new ConfigError(
      'Invalid configuration:\n  VAULTPILOT_AUTH_MODE: the local runtime verifies tokens of its own issuer',
      [{ variable: 'VAULTPILOT_AUTH_MODE', expected: 'local (in the local runtime)' }],
    );
  }
  return new LocalTokenVerifier(auth.issuer, auth.jwksUri);
}

/**
 * One sink per process that also chains each event right after its durable write, so the
 * in-process sequencer sees every function's events.
 */
export function auditSink(durable: ExpiringAuditSink, sequencer: () => AuditSequencer): AuditSink {
  sink ??= new ChainingAuditSink(
    durable,
    sequencer(),
    (error, tenant) =>
      logger.warn('Audit chaining failed; the digest engine will catch up', {
        tenant,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }),
    {
      onLeftToCatchUp: (tenant, queued) =>
        logger.warn('Audit chaining is behind; new events are left to the digest engine to chain', {
          tenant,
          queued,
        }),
    },
  );
  return sink;
}

/**
 * Resolves once every audit event recorded so far in this process is chained. Requests answer
 * after the durable write (the chain append follows off the request path), so local readers of
 * the chain (the audit API, the digest engine) and shutdown wait on this first.
 */
export function auditAppendsSettled(tenant?: string): Promise<void> {
  return sink?.settled(tenant) ?? Promise.resolve();
}

/** One document client per endpoint and process: every function shares the one dynalite. */
export function documentClient(
  config: FunctionConfig,
  build: (config: FunctionConfig) => DynamoDBDocumentClient,
): DynamoDBDocumentClient {
  const key = config.dynamodbEndpoint ?? '';
  let found = documentClients.get(key);
  if (found === undefined) {
    found = build(config);
    documentClients.set(key, found);
  }
  return found;
}

/** One instance per key and process (see `perProcess` in lambdas/platform/index.ts). */
export function perProcess<T>(key: string, build: () => T): T {
  if (!shared.has(key)) shared.set(key, build());
  return shared.get(key) as T;
}

/**
 * Alert senders locally: email through SMTP when `VAULTPILOT_SMTP_URL` is set, else `.eml` files
 * in the data directory's `outbox/` (a temporary folder when the runtime keeps no data
 * directory); SNS to the log; Slack and webhooks over HTTP as in AWS. One email sender (one SMTP
 * pool) per process and destination.
 */
export function channelSenders(config: FunctionConfig): ChannelSender[] {
  const smtp = config.notify.smtpUrl;
  const outbox =
    config.notify.outboxDir ??
    join(config.keyring.directory ?? join(tmpdir(), `vaultpilot-${process.pid}`), 'outbox');
  const key = smtp ?? outbox;
  let email = emailSenders.get(key);
  if (email === undefined) {
    email = new LocalEmailSender(
      smtp === undefined ? { kind: 'outbox', directory: outbox } : { kind: 'smtp', url: smtp },
      config.notify.from ?? LOCAL_FROM,
    );
    emailSenders.set(key, email);
  }
  return [
    email,
    new LoggedSnsSender((line) => logger.info('SNS notification (logged locally)', line)),
    new SlackSender(),
    new WebhookSender(),
  ];
}

/** Forgets the per-process keys, clients and sink (the local runtime restarts in one process). */
export function reset(): void {
  for (const sender of emailSenders.values()) sender.close();
  emailSenders.clear();
  shared.clear();
  for (const client of documentClients.values()) client.destroy();
  documentClients.clear();
  keyrings.clear();
  signers.clear();
  sink = undefined;
}
