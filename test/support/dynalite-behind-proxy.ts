/**
 * dynalite in memory with every table, behind the fault proxy: the set-up of the integration tests
 * that put one part of the storage under faults and read the outcome straight from dynalite.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { TABLE_LIST } from '../../lambdas/shared/tables.js';
import { DynamoFaultProxy } from './dynamo-fault-proxy.js';

export const LOCAL_REGION = 'us-east-1';

/** A document client on a local endpoint, marshalling as the functions' own client does. */
export function localDocumentClient(endpoint: string, maxAttempts?: number): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: LOCAL_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
}

export interface DynaliteBehindProxy {
  readonly dynamo: LocalDynamo;
  readonly proxy: DynamoFaultProxy;
  /**
   * Through the proxy, one attempt per call: the SDK's own retries are not what these tests
   * check, and would only slow them.
   */
  readonly throughProxy: DynamoDBDocumentClient;
  /** Straight to dynalite, as another function reads once the faults are gone. */
  readonly direct: DynamoDBDocumentClient;
  close(): Promise<void>;
}

/** Starts dynalite with every table and the fault proxy in front of it (`seed` for its random choices). */
export async function startDynaliteBehindProxy(seed: number): Promise<DynaliteBehindProxy> {
  const dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, LOCAL_REGION, TABLE_LIST);
  const proxy = await DynamoFaultProxy.start(dynamo.endpoint, seed);
  const throughProxy = localDocumentClient(proxy.endpoint, 1);
  const direct = localDocumentClient(dynamo.endpoint);
  return {
    dynamo,
    proxy,
    throughProxy,
    direct,
    async close() {
      throughProxy.destroy();
      direct.destroy();
      await proxy.close();
      // dynalite reports a clean close as `null`, which LocalDynamo#close rejects with.
      await dynamo.close().catch((error: unknown) => {
        if (error !== null) throw error;
      });
    },
  };
}
