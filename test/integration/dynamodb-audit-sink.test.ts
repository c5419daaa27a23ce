/**
 * The DynamoDB audit sink on dynalite with the real audit table spec: each event under its own
 * key with its expiry, concurrent records all stored, invalid events refused, failures fail closed.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  AuditEventRejectedError,
  AuditEventSchema,
} from '../../lambdas/core/audit/audit-event.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { DynamoDbAuditSink, auditEventFromItem } from '../../lambdas/adapters/aws/dynamodb-audit-sink.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';

const TABLE = localTableName('audit');
const DAY = 86_400;

let dynamo: LocalDynamo;
let client: DynamoDBDocumentClient;

beforeAll(async () => {
  dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, 'us-east-1', TABLE_LIST);
  client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
});

afterAll(async () => {
  client.destroy();
  // dynalite reports a clean close as `null`, which LocalDynamo#close rejects with; only a real error fails.
  await dynamo.close().catch((error: unknown) => {
    if (error !== null) throw error;
  });
});

function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    eventId: randomUUID(),
    tenant: 'acme',
    time: '2025-03-01T12:00:00.000Z',
    actor: { kind: 'user', id: 'user-1', sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
    action: 'secret.read',
    target: { path: 'prod/db/password', version: 3 },
    outcome: 'allowed',
    requestId: 'req-1',
    ...overrides,
  };
}

async function storedItem(recorded: AuditEvent): Promise<Record<string, unknown> | undefined> {
  const { Item } = await client.send(
    new GetCommand({ TableName: TABLE, Key: DynamoDbAuditSink.key(recorded), ConsistentRead: true }),
  );
  return Item;
}

async function eventsOf(tenant: string): Promise<Record<string, unknown>[]> {
  const { Items } = await client.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `${tenant}#events` },
      ConsistentRead: true,
    }),
  );
  return Items ?? [];
}

describe('DynamoDbAuditSink', () => {
  it('stores each event under <tenant>#events / <time>#<eventId> with expiresAt one year on', async () => {
    // Prepare: two events of the same tenant at the same millisecond.
    const sink = new DynamoDbAuditSink(client, TABLE);
    const first = event({ tenant: 'keys' });
    const second = event({ tenant: 'keys', action: 'secret.write', outcome: 'denied', reason: 'no rule' });

    // Act
    await sink.record(first);
    await sink.record(second);

    // Assess: two items, each under its own key, holding exactly its event.
    const items = await eventsOf('keys');
    expect(items).toHaveLength(2);
    const item = await storedItem(first);
    expect(item).toMatchObject({
      pk: 'keys#events',
      sk: `2025-03-01T12:00:00.000Z#${first.eventId}`,
      expiresAt: Date.parse('2025-03-01T12:00:00.000Z') / 1000 + 365 * DAY,
    });
    expect(auditEventFromItem(item ?? {})).toEqual(first);
    expect(auditEventFromItem((await storedItem(second)) ?? {})).toEqual(second);
  });

  it('takes the retention from its options', async () => {
    // Prepare
    const sink = new DynamoDbAuditSink(client, TABLE, { retentionDays: 30 });
    const recorded = event({ tenant: 'retention', time: '2025-01-01T00:00:00.999Z' });

    // Act
    await sink.record(recorded);

    // Assess: whole seconds from the event's own time.
    const item = await storedItem(recorded);
    expect(item?.expiresAt).toBe(Date.parse('2025-01-01T00:00:00.000Z') / 1000 + 30 * DAY);
  });

  it('refuses a retention that is not a whole number of days', () => {
    expect(() => new DynamoDbAuditSink(client, TABLE, { retentionDays: 0 })).toThrow(RangeError);
    expect(() => new DynamoDbAuditSink(client, TABLE, { retentionDays: 1.5 })).toThrow(RangeError);
  });

  it('stores all of 50 concurrent records of one tenant', async () => {
    // Prepare: 50 events in the same millisecond, the worst case for a shared key.
    const sink = new DynamoDbAuditSink(client, TABLE);
    const events = Array.from({ length: 50 }, (_, index) =>
      event({ tenant: 'busy', requestId: `req-${index}` }),
    );

    // Act
    await Promise.all(events.map((each) => sink.record(each)));

    // Assess: 50 distinct items, one per event, each intact.
    const items = await eventsOf('busy');
    expect(items).toHaveLength(50);
    expect(new Set(items.map((item) => item.sk)).size).toBe(50);
    expect(items.map(auditEventFromItem).sort(byRequestId)).toEqual([...events].sort(byRequestId));
  });

  it('accepts the same event twice (a retried put) and stores it once', async () => {
    // Prepare
    const sink = new DynamoDbAuditSink(client, TABLE);
    const recorded = event({ tenant: 'retry' });
    await sink.record(recorded);

    // Act
    await sink.record({ ...recorded });

    // Assess
    expect(await eventsOf('retry')).toHaveLength(1);
  });

  it('rejects a different event under an id that is already taken, and keeps the first', async () => {
    // Prepare
    const sink = new DynamoDbAuditSink(client, TABLE);
    const original = event({ tenant: 'collide' });
    await sink.record(original);

    // Act
    const attempt = sink.record({ ...original, outcome: 'denied' });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(AuditEventRejectedError);
    expect(auditEventFromItem((await storedItem(original)) ?? {})).toEqual(original);
  });

  it('refuses an event carrying a secret value, in the schema and in the sink', async () => {
    // Prepare: `data` at the top and `value` in the target, as a careless caller might add them.
    const sink = new DynamoDbAuditSink(client, TABLE);
    const withData = { ...event({ tenant: 'leaky' }), data: { password: 'canary-s3cr3t' } };
    const withValue = { ...event({ tenant: 'leaky' }), target: { path: 'a/b', value: 'canary-s3cr3t' } };

    // Act
    const schemaResult = AuditEventSchema.safeParse(withData);
    const nestedResult = AuditEventSchema.safeParse(withValue);
    const recording = sink.record(withData as AuditEvent).catch((error: unknown) => error);

    // Assess: refused by name, the value echoed nowhere, nothing stored.
    expect(schemaResult.success).toBe(false);
    expect(schemaResult.error?.issues).toMatchObject([{ code: 'unrecognized_keys', keys: ['data'] }]);
    expect(nestedResult.error?.issues).toMatchObject([
      { code: 'unrecognized_keys', keys: ['value'], path: ['target'] },
    ]);
    const error = await recording;
    expect(error).toBeInstanceOf(AuditEventRejectedError);
    expect(
      JSON.stringify({
        message: (error as Error).message,
        details: (error as AuditEventRejectedError).details,
      }),
    ).not.toContain('canary');
    expect((error as Error).message).toContain('data');
    expect(await eventsOf('leaky')).toHaveLength(0);
  });

  it.each<[string, Record<string, unknown>]>([
    ['a time with an offset', { time: '2025-03-01T13:00:00.000+01:00' }],
    ['a time without milliseconds', { time: '2025-03-01T12:00:00Z' }],
    ['an event id that is not a UUID', { eventId: 'evt-1' }],
    ['a tenant that could forge a key', { tenant: 'acme#events' }],
    ['an unknown action', { action: 'secret.peek' }],
    ['an unknown outcome', { outcome: 'maybe' }],
  ])('refuses %s', (_, overrides) => {
    expect(AuditEventSchema.safeParse({ ...event(), ...overrides }).success).toBe(false);
  });

  it('fails closed with DependencyUnavailableError when the table cannot be written', async () => {
    // Prepare: a table that does not exist.
    const sink = new DynamoDbAuditSink(client, 'vaultpilot-no-such-table');

    // Act
    const attempt = sink.record(event());

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(DependencyUnavailableError);
    // The cause goes to the logs (diagnostic), never into the answer's message.
    await expect(attempt).rejects.toMatchObject({
      code: 'ServiceUnavailable',
      diagnostic: expect.stringContaining('ResourceNotFoundException'),
    });
    await expect(attempt).rejects.toSatisfy(
      (error: Error) =>
        !error.message.includes('ResourceNotFoundException') && !error.message.includes('PutItem'),
    );
  });
});

function byRequestId(a: AuditEvent, b: AuditEvent): number {
  return (a.requestId ?? '').localeCompare(b.requestId ?? '');
}
