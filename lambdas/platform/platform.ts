/**
 * What differs between the two runtimes, behind one interface: AWS services in Lambda, in-process
 * and file-backed stand-ins under `npm start` (DESIGN.md, One code path, two runtimes). Everything
 * else a function composes is the same code in both.
 */
import type { DigestSigner } from '../core/audit/audit-digest.js';
import type { AuditSequencer } from '../core/audit/audit-sequencer.js';
import type { AuditSink } from '../core/audit/audit-sink.js';
import type { EventPublisher } from '../core/events.js';
import type { TokenVerifier } from '../core/ports.js';
import type { RollbackRunner } from '../core/rotation/rollback-runner.js';
import type { RotationQueue } from '../core/rotation/rotation-queue.js';
import type { Keyring } from '../core/secrets/keyring.js';
import type { ExpiringAuditSink } from '../core/audit/chaining-sink.js';
import type { AuthConfig, FunctionConfig } from '../shared/config.js';

export interface Platform {
  readonly runtime: 'aws' | 'local';
  /** Wraps and unwraps data keys: KMS, or the local key file (one per process, so functions share it). */
  keyring(config: FunctionConfig): Keyring;
  /** Signs audit digests: a KMS asymmetric key, or the local Ed25519 key file. */
  digestSigner(config: FunctionConfig): DigestSigner;
  /** Lifecycle events: EventBridge, or the in-process bus. */
  eventPublisher(config: FunctionConfig): EventPublisher;
  rotationQueue(config: FunctionConfig): RotationQueue;
  rollbackRunner(config: FunctionConfig): RollbackRunner;
  tokenVerifier(auth: AuthConfig): TokenVerifier;
  /**
   * The sink a function records audit events with. In AWS the durable write is all (the table's
   * stream drives the sequencer); locally one sink per process also chains each event right
   * after its write, so the in-process sequencer sees every function's events.
   */
  auditSink(durable: ExpiringAuditSink, sequencer: () => AuditSequencer): AuditSink;
  /** Forgets per-process state (the local runtime restarts in one process). */
  reset(): void;
}
