/**
 * The credential inventory and the rotation use cases, shared by the functions that serve or run
 * them: the credentials and rotations APIs, the rotation worker and the scheduler.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCredentialStore } from '../../adapters/aws/dynamodb-credential-store.js';
import { DynamoDbDiscoverySettingsStore } from '../../adapters/aws/dynamodb-discovery-settings-store.js';
import {
  DynamoDbRotationPolicyStore,
  DynamoDbRotationStore,
} from '../../adapters/aws/dynamodb-rotation-store.js';
import type { AuditSink } from '../../core/audit/audit-sink.js';
import type { EventPublisher } from '../../core/events.js';
import type { LostHistoryEntry } from '../../core/credentials/credential-history.js';
import { CredentialInventory } from '../../core/credentials/inventory.js';
import { type ConflictError, DependencyUnavailableError } from '../../core/errors.js';
import { systemClock } from '../../core/ports.js';
import { DueTimeRefresh } from '../../core/rotation/due-time-refresh.js';
import { RotationEngine, type RotatorRegistry } from '../../core/rotation/engine.js';
import type { RotatorSettingsRegistry } from '../../core/rotation/rotator.js';
import { InventoryRotationTargets } from '../../core/rotation/inventory-targets.js';
import type { SecretsService } from '../../core/secrets/kv-service.js';
import type { ColdStart } from '../cold-start.js';
import { logger } from '../../shared/observability.js';
import { tableName } from './dynamodb.js';
import { logLostEvents } from './events.js';

export interface InventoryParts {
  readonly credentials: DynamoDbCredentialStore;
  readonly policies: DynamoDbRotationPolicyStore;
  readonly inventory: CredentialInventory;
  /** Checks rotation fields and computes due times (no outcomes reported through it). */
  readonly registrar: InventoryRotationTargets;
}

/** The inventory; its registrar checks the rotation fields of registrations with the rotators. */
export function credentialInventory(
  start: ColdStart,
  dynamodb: DynamoDBDocumentClient,
  dependencies: { audit: AuditSink; events: EventPublisher; rotators: RotatorSettingsRegistry },
): InventoryParts {
  const { config } = start;
  const credentials = new DynamoDbCredentialStore(dynamodb, tableName(config, 'credentials'));
  const policies = new DynamoDbRotationPolicyStore(dynamodb, tableName(config, 'settings'));
  // The registrar checks rotation fields of registrations; it never reports outcomes here.
  const registrar = new InventoryRotationTargets(
    credentials,
    async () => undefined,
    policies,
    dependencies.rotators,
  );
  const inventory = new CredentialInventory(
    credentials,
    new DynamoDbDiscoverySettingsStore(dynamodb, tableName(config, 'settings')),
    dependencies.audit,
    dependencies.events,
    systemClock,
    { onEventsFailed: logLostEvents, onHistoryLost: logLostHistory, rotation: registrar },
  );
  return { credentials, policies, inventory, registrar };
}

/**
 * A change whose history entry was lost still stands (and is in the audit log); operators hear of
 * the gap here. Field names and the store's error only: a history entry's values never reach logs.
 */
export function logLostHistory(error: DependencyUnavailableError, lost: LostHistoryEntry): void {
  logger.error('Credential history entry not recorded; the change stands', {
    tenant: lost.tenant,
    credentialId: lost.credentialId,
    action: lost.action,
    at: lost.at,
    fields: lost.fields,
    error: `${error.name}: ${error.diagnostic ?? error.message}`,
  });
}

export interface RotationParts {
  readonly store: DynamoDbRotationStore;
  readonly targets: InventoryRotationTargets;
  readonly engine: RotationEngine;
}

/**
 * The rotation engine. `secrets` is built on first use: the rotations API builds the engine only
 * to start rotations (the worker runs them), so it holds neither the secrets table nor the key.
 */
export function rotationEngine(
  start: ColdStart,
  dynamodb: DynamoDBDocumentClient,
  dependencies: {
    inventory: InventoryParts;
    rotators: RotatorRegistry;
    secrets: () => SecretsService;
    audit: AuditSink;
    events: EventPublisher;
  },
): RotationParts {
  const { inventory, rotators } = dependencies;
  const store = new DynamoDbRotationStore(dynamodb, tableName(start.config, 'rotations'));
  const targets = new InventoryRotationTargets(
    inventory.credentials,
    (tenant, id, update) => inventory.inventory.recordRotation(tenant, id, update),
    inventory.policies,
    rotators,
  );
  const engine = new RotationEngine(
    store,
    targets,
    rotators,
    dependencies.secrets,
    dependencies.audit,
    dependencies.events,
    systemClock,
    { onEventsFailed: logLostEvents },
  );
  return { store, targets, engine };
}

/**
 * The due-time refresh after rotation policies changed: run by the rotations API right after a
 * policy write, and by the scheduler for every tenant whose refresh is still marked as pending.
 */
export function dueTimeRefresh(inventory: InventoryParts): DueTimeRefresh {
  return new DueTimeRefresh(
    {
      marks: inventory.policies,
      credentials: (tenant) => inventory.credentials.list(tenant),
      nextDue: (credential) => inventory.registrar.nextDue(credential),
      record: (tenant, id, update) => inventory.inventory.recordRotation(tenant, id, update),
    },
    logDeferredRefresh,
  );
}

/** A refresh that could not finish stays marked; the next scheduler run carries it out. */
function logDeferredRefresh(error: DependencyUnavailableError | ConflictError, tenant: string): void {
  logger.warn('Due times not refreshed after a rotation policy change; the next scheduler run does it', {
    tenant,
    error: `${error.name}: ${error instanceof DependencyUnavailableError ? (error.diagnostic ?? error.message) : error.code}`,
  });
}
