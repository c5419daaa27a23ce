/**
 * The rotation worker: the engine with everything it drives — rotation records, the inventory,
 * the secret store with its cipher, the rotators and their provider clients, the audit sink, the
 * bus — and the batch limits it runs jobs with.
 */
import { coldStart } from '../../platform/cold-start.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { eventPublisher } from '../../platform/parts/events.js';
import { credentialInventory, rotationEngine } from '../../platform/parts/inventory.js';
import { lazy } from '../../platform/parts/lazy.js';
import { rotators } from '../../platform/parts/rotators.js';
import { secretsService } from '../../platform/parts/secrets.js';
import { manifest } from './manifest.js';

export const rotationWorker = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  const audit = auditRecorder(start, dynamodb)();
  const events = eventPublisher(start);
  const registry = rotators(config);
  const inventory = credentialInventory(start, dynamodb, { audit, events, rotators: registry });
  const { engine } = rotationEngine(start, dynamodb, {
    inventory,
    rotators: registry,
    secrets: lazy(() => secretsService(start, dynamodb)),
    audit,
    events,
  });
  return {
    engine,
    concurrency: { concurrency: config.rotation.concurrency, perTenant: config.rotation.tenantConcurrency },
  };
});
