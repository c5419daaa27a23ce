/**
 * The audit log's parts (ADR 0004): the durable sink every audited function records with, and
 * the chain, sequencer, digests and queries of the functions that work on the chain itself.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbAuditChainStore } from '../../adapters/aws/dynamodb-audit-chain-store.js';
import { DynamoDbAuditEventQuery } from '../../adapters/aws/dynamodb-audit-event-query.js';
import { DynamoDbAuditSettings } from '../../adapters/aws/dynamodb-audit-settings.js';
import { DynamoDbAuditSink } from '../../adapters/aws/dynamodb-audit-sink.js';
import type { DigestSigner } from '../../core/audit/audit-digest.js';
import { AuditDigestService } from '../../core/audit/audit-digests.js';
import { AuditLog } from '../../core/audit/audit-log.js';
import { AuditSequencer } from '../../core/audit/audit-sequencer.js';
import type { AuditSink } from '../../core/audit/audit-sink.js';
import type { AuditChainStore } from '../../core/audit/audit-store.js';
import { AuditIdentifierHasher } from '../../core/audit/identifier-hasher.js';
import { systemClock } from '../../core/ports.js';
import type { ColdStart } from '../cold-start.js';
import { auditSink, digestSigner, keyring, perProcess } from '../index.js';
import { tableName } from './dynamodb.js';
import { eventPublisher } from './events.js';
import { lazy } from './lazy.js';

export interface AuditParts {
  /** What this function records audit events with. */
  readonly sink: () => AuditSink;
  /** Tenants' retention settings (settings table); undefined when the function has no settings table. */
  readonly settings: () => DynamoDbAuditSettings | undefined;
  readonly chain: () => AuditChainStore;
  readonly sequencer: () => AuditSequencer;
}

/** Tenants' retention settings (one per process locally); undefined without the settings table. */
function retentionSettings(
  start: ColdStart,
  dynamodb: DynamoDBDocumentClient,
): () => DynamoDbAuditSettings | undefined {
  const { config } = start;
  // Locally one per process, so a retention change is seen at once by the shared chaining sink.
  return lazy(() =>
    config.tables.settings === undefined
      ? undefined
      : perProcess(
          config,
          `audit-settings:${tableName(config, 'settings')}`,
          () =>
            new DynamoDbAuditSettings(dynamodb, tableName(config, 'settings'), {
              defaultRetentionDays: config.auditRetentionDays,
            }),
        ),
  );
}

function recorder(
  start: ColdStart,
  dynamodb: DynamoDBDocumentClient,
  settings: () => DynamoDbAuditSettings | undefined,
  sequencer?: () => AuditSequencer,
): () => AuditSink {
  const { config } = start;
  return lazy(() => {
    const retention = settings();
    const durable = new DynamoDbAuditSink(dynamodb, tableName(config, 'audit'), {
      retentionDays: config.auditRetentionDays,
      // Functions without the settings table keep every tenant's events for the default retention.
      ...(retention === undefined ? {} : { settings: retention }),
    });
    // In AWS the durable write is all (the table's stream drives the sequencer). Written out in
    // full so that the bundles' define folds it: no AWS bundle of a function that only records
    // holds the in-process sequencer, the chain store or the EventBridge client for its events.
    return process.env.VAULTPILOT_PLATFORM === 'aws'
      ? durable
      : auditSink(
          config,
          durable,
          sequencer ??
            (() =>
              new AuditSequencer(
                new DynamoDbAuditChainStore(dynamodb, tableName(config, 'audit')),
                eventPublisher(start),
              )),
        );
  });
}

/**
 * What a function records audit events with, for functions that do not work on the chain
 * itself; built on first use.
 */
export function auditRecorder(start: ColdStart, dynamodb: DynamoDBDocumentClient): () => AuditSink {
  return recorder(start, dynamodb, retentionSettings(start, dynamodb));
}

/** The parts are built on first use, so a function builds only the ones it reaches. */
export function auditParts(start: ColdStart, dynamodb: DynamoDBDocumentClient): AuditParts {
  const { config } = start;
  const events = eventPublisher(start);
  const settings = retentionSettings(start, dynamodb);
  const chain = lazy(() => new DynamoDbAuditChainStore(dynamodb, tableName(config, 'audit')));
  const sequencer = lazy(() => new AuditSequencer(chain(), events));
  const sink = recorder(start, dynamodb, settings, sequencer);
  return { sink, settings, chain, sequencer };
}

export interface AuditDigests {
  readonly signer: DigestSigner;
  readonly digests: AuditDigestService;
}

export function auditDigests(start: ColdStart, parts: AuditParts): AuditDigests {
  const signer = digestSigner(start.config);
  return {
    signer,
    digests: new AuditDigestService(
      parts.chain(),
      parts.sequencer(),
      signer,
      systemClock,
      eventPublisher(start),
    ),
  };
}

/** The largest export one Lambda response carries (6 MB, less headroom); none locally. */
const MAX_EXPORT_BYTES_IN_AWS = 5_500_000;

/** The audit API's use cases (audit and settings tables, the keyring for HMAC keys, the signer). */
export function auditLog(start: ColdStart, dynamodb: DynamoDBDocumentClient, parts: AuditParts): AuditLog {
  const { config } = start;
  const settings = parts.settings();
  if (settings === undefined) throw new Error('The audit log needs the settings table');
  const { signer, digests } = auditDigests(start, parts);
  return new AuditLog(
    {
      chain: parts.chain(),
      events: new DynamoDbAuditEventQuery(dynamodb, tableName(config, 'audit')),
      settings,
      hasher: new AuditIdentifierHasher(keyring(config), settings, { clock: systemClock }),
      signer,
      digests,
      sink: parts.sink(),
      clock: systemClock,
    },
    { maxExportBytes: config.runtime === 'aws' ? MAX_EXPORT_BYTES_IN_AWS : undefined },
  );
}
