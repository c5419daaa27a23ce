/**
 * The policy attachments cache (lambdas/core/access/policy-cache.ts) over the DynamoDB policy
 * store on dynalite: a change made elsewhere (another function's store on the same table) shows
 * within the 5 s bound and not later; a change made through the cached store shows at once; a
 * failed read is not cached. The clock is the test's, so the bound is checked to the millisecond.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbPolicyStore } from '../../lambdas/adapters/aws/dynamodb-policy-store.js';
import { CachedPolicyStore, MAX_POLICY_STALENESS_MS } from '../../lambdas/core/access/policy-cache.js';
import { type AttachedPolicies, PolicySchema } from '../../lambdas/core/access/policy.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';

const TABLE = localTableName('settings');
const START = Date.parse('2026-12-06T12:00:00.000Z');

let dynamo: LocalDynamo;
let client: DynamoDBDocumentClient;
/** DynamoDB commands sent, by name. */
const sent: string[] = [];

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
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
});

afterAll(async () => {
  client.destroy();
  await dynamo.close().catch((error: unknown) => {
    if (error !== null) throw error;
  });
});

const deny = PolicySchema.parse({ name: 'deny-prod', rules: [{ path: 'prod/*', capabilities: ['deny'] }] });

function names(attached: AttachedPolicies, group: string): string[] {
  return (attached.byGroup[group] ?? []).map((policy) => policy.name);
}

function parts(tenant: string) {
  let now = START;
  const raw = new DynamoDbPolicyStore(client, TABLE);
  const cached = new CachedPolicyStore(new DynamoDbPolicyStore(client, TABLE), {
    clock: { now: () => new Date(now) },
  });
  return { raw, cached, tenant, advance: (ms: number) => (now += ms) };
}

describe('policy attachments cache', () => {
  it('shows a change made by another function within 5 s, never later, and reads nothing meanwhile', async () => {
    // Prepare: the cache holds the tenant's attachments; another function then attaches a deny.
    const { raw, cached, tenant, advance } = parts('cache-elsewhere');
    await raw.put(tenant, deny);
    expect(names(await cached.attachments(tenant), 'operator')).toEqual([]);
    await raw.attach(tenant, { group: 'operator' }, ['deny-prod']);
    sent.length = 0;

    // Act
    advance(MAX_POLICY_STALENESS_MS - 1);
    const justInside = await cached.attachments(tenant);
    const readsInside = sent.length;
    advance(1);
    const atTheBound = await cached.attachments(tenant);

    // Assess: stale only within the bound, and served from memory while stale.
    expect(names(justInside, 'operator')).toEqual([]);
    expect(readsInside).toBe(0);
    expect(names(atTheBound, 'operator')).toEqual(['deny-prod']);
    expect(sent.length).toBeGreaterThan(0);
  });

  it('shows a change made through the cached store at once', async () => {
    // Prepare
    const { cached, tenant } = parts('cache-here');
    await cached.put(tenant, deny);
    expect(names(await cached.attachments(tenant), 'viewer')).toEqual([]);

    // Act
    await cached.attach(tenant, { group: 'viewer' }, ['deny-prod']);
    const attachedNow = await cached.attachments(tenant);
    await cached.attach(tenant, { group: 'viewer' }, []);
    const detachedNow = await cached.attachments(tenant);

    // Assess
    expect(names(attachedNow, 'viewer')).toEqual(['deny-prod']);
    expect(names(detachedNow, 'viewer')).toEqual([]);
  });

  it('does not cache a failed read (fail closed): the next check reads again', async () => {
    // Prepare: a store whose first read fails.
    let calls = 0;
    class FlakyPolicyStore extends DynamoDbPolicyStore {
      override async attachments(tenant: string): Promise<AttachedPolicies> {
        calls += 1;
        if (calls === 1) throw new DependencyUnavailableError('The policy store is unavailable', 1);
        return super.attachments(tenant);
      }
    }
    const flaky = new FlakyPolicyStore(client, TABLE);
    const cached = new CachedPolicyStore(flaky, { clock: { now: () => new Date(START) } });

    // Act
    const first = await cached.attachments('cache-flaky').catch((error: unknown) => error);
    const second = await cached.attachments('cache-flaky');

    // Assess
    expect(first).toBeInstanceOf(DependencyUnavailableError);
    expect(second).toEqual({ byGroup: {}, byClient: {} });
    expect(calls).toBe(2);
  });

  it('refuses a bound above 5 s', () => {
    expect(
      () =>
        new CachedPolicyStore(new DynamoDbPolicyStore(client, TABLE), {
          maxAgeMs: 5_001,
          clock: { now: () => new Date() },
        }),
    ).toThrow(RangeError);
  });
});
