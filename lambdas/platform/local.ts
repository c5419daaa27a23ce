/**
 * The local platform (`npm start`): the key-encryption key and the digest signing key in files
 * of the data directory (or in memory), the in-process bus, queue and rollback runner, and the
 * local issuer's tokens. Every function runs in the one local process, so what must be one per
 * process (a key held in memory, the in-process sequencer's sink) is built once here and shared.
 * The AWS bundles never contain this module (lambdas/platform/index.ts).
 */
import { FileDigestSigner } from '../adapters/local/file-digest-signer.js';
import { FileKeyring } from '../adapters/local/file-keyring.js';
import { localEventBus } from '../adapters/local/in-process-event-bus.js';
import { localRollbackRunner } from '../adapters/local/in-process-rollback-runner.js';
import { localRotationQueue } from '../adapters/local/in-process-rotation-queue.js';
import { LocalTokenVerifier } from '../adapters/local/local-token-verifier.js';
import type { DigestSigner } from '../core/audit/audit-digest.js';
import type { AuditSink } from '../core/audit/audit-sink.js';
import { ChainingAuditSink } from '../core/audit/chaining-sink.js';
import type { Keyring } from '../core/secrets/keyring.js';
import { ConfigError } from '../shared/config.js';
import { validatingPublisher } from '../shared/events.js';
import { logger } from '../shared/observability.js';
import type { Platform } from './platform.js';

/** Per process: keyed by the keyring directory ('' in memory). */
const keyrings = new Map<string, Keyring>();
const signers = new Map<string, DigestSigner>();
let sink: AuditSink | undefined;

const publisher = validatingPublisher(localEventBus);

export const localPlatform: Platform = {
  runtime: 'local',
  keyring: (config) => {
    const key = config.keyring.directory ?? '';
    let keyring = keyrings.get(key);
    if (keyring === undefined) {
      keyring = new FileKeyring({ dataDir: config.keyring.directory });
      keyrings.set(key, keyring);
    }
    return keyring;
  },
  digestSigner: (config) => {
    const key = config.keyring.directory ?? '';
    let signer = signers.get(key);
    if (signer === undefined) {
      signer = new FileDigestSigner({ dataDir: config.keyring.directory });
      signers.set(key, signer);
    }
    return signer;
  },
  eventPublisher: () => publisher,
  rotationQueue: () => localRotationQueue,
  rollbackRunner: () => localRollbackRunner,
  tokenVerifier: (auth) => {
    if (auth.mode !== 'local') {
      throw new ConfigError(
        'Invalid configuration:\n  VAULTPILOT_AUTH_MODE: the local runtime verifies tokens of its own issuer',
        [{ variable: 'VAULTPILOT_AUTH_MODE', expected: 'local (in the local runtime)' }],
      );
    }
    return new LocalTokenVerifier(auth.issuer, auth.jwksUri);
  },
  auditSink: (durable, sequencer) =>
    (sink ??= new ChainingAuditSink(durable, sequencer(), (error, tenant) =>
      logger.warn('Audit chaining failed; the digest engine will catch up', {
        tenant,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }),
    )),
  reset: () => {
    keyrings.clear();
    signers.clear();
    sink = undefined;
  },
};
