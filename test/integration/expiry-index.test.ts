/** The sparse expiry index on dynalite: credentials with a date to watch are found by a Query up to a horizon. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DynamoDbCredentialStore } from '../../lambdas/adapters/aws/dynamodb-credential-store.js';
import { DynamoDbExpiryIndex } from '../../lambdas/adapters/aws/dynamodb-expiry-index.js';
import type { ExpiryCandidate } from '../../lambdas/core/notify/expiry.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';
import { credential } from '../support/credentials.js';

let dynamo: LocalDynamo;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, 'us-east-1', TABLE_LIST);
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    }),
  );
});

afterAll(async () => {
  documents.destroy();
  await dynamo.close().catch(() => undefined);
});

it('finds credentials whose expiry, rotation due time or next rotation date is before the horizon, and no others', async () => {
  // Prepare
  const store = new DynamoDbCredentialStore(documents, localTableName('credentials'));
  const id = (n: number): string => `cr_${n.toString(16).padStart(24, '0')}`;
  await store.create(
    credential({
      id: id(1),
      tenant: 'x',
      name: 'expires soon',
      expiresAt: '2026-12-10T00:00:00.000Z',
      owner: 'a@example.com',
    }),
  );
  await store.create(
    credential({ id: id(2), tenant: 'y', name: 'expires later', expiresAt: '2027-06-01T00:00:00.000Z' }),
  );
  await store.create(credential({ id: id(3), tenant: 'x', name: 'no dates' }));
  await store.create(
    credential({
      id: id(4),
      tenant: 'x',
      name: 'sm secret',
      type: 'secretsmanager-secret',
      source: 'discovered',
      facts: { nextRotationAt: '2026-12-01T00:00:00.000Z' },
    }),
  );
  await store.create(
    credential({
      id: id(5),
      tenant: 'x',
      name: 'rotation due',
      rotation: { secretPath: 'p/a', settings: {}, dueAt: '2026-11-30T00:00:00.000Z' },
    }),
  );
  await store.create(
    credential({
      id: id(6),
      tenant: 'x',
      name: 'gone',
      status: 'gone',
      expiresAt: '2026-12-10T00:00:00.000Z',
    }),
  );
  const index = new DynamoDbExpiryIndex(documents, localTableName('credentials'));

  // Act
  const found: ExpiryCandidate[] = [];
  for await (const page of index.dueBefore('2027-01-01T00:00:00.000Z', 2)) found.push(...page);

  // Assess
  expect(found.map((c) => c.credentialName).sort()).toEqual(['expires soon', 'rotation due', 'sm secret']);
  expect(found.find((c) => c.credentialName === 'sm secret')?.expiresAt).toBe('2026-12-01T00:00:00.000Z');
  expect(found.find((c) => c.credentialName === 'rotation due')?.rotationDueAt).toBe(
    '2026-11-30T00:00:00.000Z',
  );
  expect(found.find((c) => c.credentialName === 'expires soon')).toMatchObject({
    tenant: 'x',
    owner: 'a@example.com',
  });
});
