/**
 * The one place that picks AWS or local adapters, by the function's VAULTPILOT_RUNTIME: AWS
 * services in Lambda, in-process and file-backed stand-ins under `npm start` (DESIGN.md, One code
 * path, two runtimes). The Lambda bundles are built with `process.env.VAULTPILOT_PLATFORM`
 * defined as "aws" (lib/lambda-bundle.ts): esbuild folds the condition below, so the local
 * module is never imported and no local adapter is in an AWS bundle. Each capability is its own
 * function, so a bundle holds the AWS clients of the capabilities its function uses, no others.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DigestSigner } from '../core/audit/audit-digest.js';
import type { AuditSequencer } from '../core/audit/audit-sequencer.js';
import type { AuditSink } from '../core/audit/audit-sink.js';
import type { ExpiringAuditSink } from '../core/audit/chaining-sink.js';
import type { EventPublisher } from '../core/events.js';
import type { ChannelSender } from '../core/notify/ports.js';
import type { TokenVerifier } from '../core/ports.js';
import type { RollbackRunner } from '../core/rotation/rollback-runner.js';
import type { RotationQueue } from '../core/rotation/rotation-queue.js';
import type { Keyring } from '../core/secrets/keyring.js';
import { type AuthConfig, ConfigError, type FunctionConfig } from '../shared/config.js';
import * as aws from './aws.js';
import type * as LocalModule from './local.js';

type LocalPlatform = typeof LocalModule;

// Written out in full (not through a variable), so esbuild's define can fold it.
const local = process.env.VAULTPILOT_PLATFORM === 'aws' ? undefined : await import('./local.js');

function localPlatform(): LocalPlatform {
  if (local === undefined) {
    throw new ConfigError('Invalid configuration:\n  VAULTPILOT_RUNTIME: this bundle was built for AWS', [
      { variable: 'VAULTPILOT_RUNTIME', expected: 'aws' },
    ]);
  }
  return local;
}

type Runtime = Pick<FunctionConfig, 'runtime'>;

/** Wraps and unwraps data keys: KMS, or the local key file (one per process, shared by functions). */
export function keyring(config: FunctionConfig): Keyring {
  return config.runtime === 'local' ? localPlatform().keyring(config) : aws.keyring(config);
}

/** Alert senders by channel kind: SES and SNS in AWS; SMTP or the outbox, and the log, locally. */
export function channelSenders(config: FunctionConfig): ChannelSender[] {
  return config.runtime === 'local' ? localPlatform().channelSenders(config) : aws.channelSenders(config);
}

/** Signs audit digests: a KMS asymmetric key, or the local Ed25519 key file. */
export function digestSigner(config: FunctionConfig): DigestSigner {
  return config.runtime === 'local' ? localPlatform().digestSigner(config) : aws.digestSigner(config);
}

/** Lifecycle events, checked against their schemas: EventBridge, or the in-process bus. */
export function eventPublisher(config: FunctionConfig): EventPublisher {
  return config.runtime === 'local' ? localPlatform().eventPublisher() : aws.eventPublisher(config);
}

export function rotationQueue(config: FunctionConfig): RotationQueue {
  return config.runtime === 'local' ? localPlatform().rotationQueue() : aws.rotationQueue(config);
}

export function rollbackRunner(config: FunctionConfig): RollbackRunner {
  return config.runtime === 'local' ? localPlatform().rollbackRunner() : aws.rollbackRunner(config);
}

export function tokenVerifier(config: Runtime, auth: AuthConfig): TokenVerifier {
  return config.runtime === 'local' ? localPlatform().tokenVerifier(auth) : aws.tokenVerifier(auth);
}

/**
 * The sink a function records audit events with. In AWS the durable write is all (the table's
 * stream drives the sequencer); locally one sink per process also chains each event in-process.
 */
export function auditSink(
  config: Runtime,
  durable: ExpiringAuditSink,
  sequencer: () => AuditSequencer,
): AuditSink {
  return config.runtime === 'local' ? localPlatform().auditSink(durable, sequencer) : aws.auditSink(durable);
}

/**
 * Locally, the one document client of the process (every function shares the one dynalite);
 * `build` makes it on first use. Only the local runtime calls this.
 */
export function localDocumentClient(
  config: FunctionConfig,
  build: (config: FunctionConfig) => DynamoDBDocumentClient,
): DynamoDBDocumentClient {
  return localPlatform().documentClient(config, build);
}

/**
 * What every function must share within the local process, because one function changes what
 * another's cached copy would hide (a tenant's audit retention): one instance per `key` locally;
 * in AWS each function is its own process, so `build` runs for each.
 */
export function perProcess<T>(config: Runtime, key: string, build: () => T): T {
  return config.runtime === 'local' ? localPlatform().perProcess(key, build) : build();
}

/** Locally, waits until the audit events recorded so far are chained; in AWS the stream does it. */
export function auditAppendsSettled(tenant?: string): Promise<void> {
  return local?.auditAppendsSettled(tenant) ?? Promise.resolve();
}

/** Forgets the platforms' per-process state. */
export function resetPlatforms(): void {
  local?.reset();
}
