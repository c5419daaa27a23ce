/**
 * `queryPages` / `scanPages`, the one way the DynamoDB adapters read page by page, on dynalite
 * behind the fault proxy (which logs every request and can refuse some): every page in order
 * with a small Limit, a start key, an early stop that reads no further page, a refused page
 * read mapped to DependencyUnavailableError, and the caller's own errors left alone.
 */
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { queryPages, scanPages } from '../../lambdas/adapters/aws/dynamodb-pages.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { localTableName } from '../../lambdas/shared/tables.js';
import { type DynaliteBehindProxy, startDynaliteBehindProxy } from '../support/dynalite-behind-proxy.js';
import type { DynamoFaultProxy } from '../support/dynamo-fault-proxy.js';

const TABLE = localTableName('settings');
const PK = 'pages-probe';
const SORT_KEYS = Array.from({ length: 10 }, (_, index) => `item#${String(index).padStart(2, '0')}`);

let storage: DynaliteBehindProxy;
let proxy: DynamoFaultProxy;
/** One attempt per call: a refused read must reach the mapping, not the SDK's retries. */
let client: DynamoDBDocumentClient;

beforeAll(async () => {
  storage = await startDynaliteBehindProxy(20261207);
  ({ proxy, throughProxy: client } = storage);
  for (const sk of SORT_KEYS) {
    await client.send(new PutCommand({ TableName: TABLE, Item: { pk: PK, sk, n: Number(sk.slice(5)) } }));
  }
  // Another partition the query must not see.
  await client.send(new PutCommand({ TableName: TABLE, Item: { pk: `${PK}-other`, sk: 'item#00' } }));
});

beforeEach(() => {
  proxy.clear();
  proxy.resetLog();
});

afterAll(async () => {
  await storage.close();
});

function partitionQuery(limit: number) {
  return {
    TableName: TABLE,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': PK, ':prefix': 'item#' },
    ConsistentRead: true,
    Limit: limit,
  };
}

/** The bodies of the Query (or Scan) requests the proxy saw, parsed. */
function sentBodies(operation: string): Record<string, unknown>[] {
  return proxy
    .requests()
    .filter((request) => request.operation === operation)
    .map((request) => JSON.parse(request.body) as Record<string, unknown>);
}

function sortKeysOf(items: readonly Record<string, unknown>[] | undefined): string[] {
  return (items ?? []).map((item) => String(item.sk));
}

describe('queryPages', () => {
  it('reads every page in order, each with the Limit and after the previous page', async () => {
    // Prepare
    const pages: string[][] = [];

    // Act
    for await (const page of queryPages(client, partitionQuery(3), 'probe table')) {
      pages.push(sortKeysOf(page.Items));
    }

    // Assess
    expect(pages).toEqual([
      SORT_KEYS.slice(0, 3),
      SORT_KEYS.slice(3, 6),
      SORT_KEYS.slice(6, 9),
      SORT_KEYS.slice(9),
    ]);
    const bodies = sentBodies('Query');
    expect(bodies).toHaveLength(4);
    expect(bodies.map((body) => body.Limit)).toEqual([3, 3, 3, 3]);
    expect(bodies.map((body) => body.ConsistentRead)).toEqual([true, true, true, true]);
    expect(bodies.map((body) => body.ExclusiveStartKey)).toEqual([
      undefined,
      { pk: { S: PK }, sk: { S: 'item#02' } },
      { pk: { S: PK }, sk: { S: 'item#05' } },
      { pk: { S: PK }, sk: { S: 'item#08' } },
    ]);
  });

  it('starts after the ExclusiveStartKey of the input and leaves the caller’s input unchanged', async () => {
    // Prepare
    const input = { ...partitionQuery(4), ExclusiveStartKey: { pk: PK, sk: 'item#05' } };
    const before = structuredClone(input);
    const seen: string[] = [];

    // Act
    for await (const page of queryPages(client, input, 'probe table')) seen.push(...sortKeysOf(page.Items));

    // Assess
    expect(seen).toEqual(SORT_KEYS.slice(6));
    expect(input).toEqual(before);
  });

  it('reads no further page once the caller stops', async () => {
    // Prepare
    const seen: string[] = [];

    // Act
    for await (const page of queryPages(client, partitionQuery(3), 'probe table')) {
      seen.push(...sortKeysOf(page.Items));
      if (seen.length >= 6) break;
    }
    // Give a stray read time to reach the proxy if one had been started.
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Assess
    expect(seen).toEqual(SORT_KEYS.slice(0, 6));
    expect(sentBodies('Query')).toHaveLength(2);
  });

  it.each([
    ['ProvisionedThroughputExceededException', 1],
    ['InternalServerError', 1],
    ['ResourceNotFoundException', 5],
  ] as const)(
    'maps a refused page read (%s) to DependencyUnavailableError after the pages read before it',
    async (kind, retryAfterSeconds) => {
      // Prepare: only reads that continue after a page carry an ExclusiveStartKey.
      proxy.inject([{ kind, operations: ['Query'], marker: 'ExclusiveStartKey', rate: 1 }]);
      const seen: string[] = [];

      // Act
      let thrown: unknown;
      try {
        for await (const page of queryPages(client, partitionQuery(3), 'probe table')) {
          seen.push(...sortKeysOf(page.Items));
        }
      } catch (error: unknown) {
        thrown = error;
      }

      // Assess
      expect(seen).toEqual(SORT_KEYS.slice(0, 3));
      expect(thrown).toBeInstanceOf(DependencyUnavailableError);
      const unavailable = thrown as DependencyUnavailableError;
      expect(unavailable.message).toBe('The probe table is unavailable; retry shortly');
      expect(unavailable.retryAfterSeconds).toBe(retryAfterSeconds);
      expect(unavailable.diagnostic).toBe(`DynamoDB Query: ${kind}`);
      expect((unavailable.cause as Error).name).toBe(kind);
      expect(proxy.requests().map((request) => request.fault)).toEqual([undefined, kind]);
    },
  );

  it('passes an error of the caller’s own loop through unchanged and reads no further', async () => {
    // Prepare
    class ProbeItemError extends Error {
      override readonly name = 'ProbeItemError';
    }

    // Act
    let thrown: unknown;
    try {
      for await (const page of queryPages(client, partitionQuery(3), 'probe table')) {
        if ((page.Items ?? []).length > 0) throw new ProbeItemError('an item that does not parse');
      }
    } catch (error: unknown) {
      thrown = error;
    }

    // Assess
    expect(thrown).toBeInstanceOf(ProbeItemError);
    expect(sentBodies('Query')).toHaveLength(1);
  });
});

describe('scanPages', () => {
  it('reads every page of a Scan with the Limit and maps a refused page read', async () => {
    // Prepare
    const scan = {
      TableName: TABLE,
      FilterExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': PK },
      Limit: 4,
    };
    const seen: string[] = [];

    // Act
    for await (const page of scanPages(client, scan, 'probe table')) seen.push(...sortKeysOf(page.Items));
    const reads = sentBodies('Scan');
    proxy.inject([{ kind: 'ThrottlingException', operations: ['Scan'], rate: 1 }]);
    const refused = await (async () => {
      for await (const page of scanPages(client, scan, 'probe table')) void page;
    })().catch((error: unknown) => error);

    // Assess
    expect(seen.sort()).toEqual(SORT_KEYS);
    // The table holds the 11 items put above: pages of 4, 4 and 3.
    expect(reads.map((body) => body.Limit)).toEqual([4, 4, 4]);
    expect(reads.map((body) => body.ExclusiveStartKey === undefined)).toEqual([true, false, false]);
    expect(refused).toBeInstanceOf(DependencyUnavailableError);
    expect((refused as DependencyUnavailableError).diagnostic).toBe('DynamoDB Scan: ThrottlingException');
  });
});
