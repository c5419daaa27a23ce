/**
 * The `DiscoveryRunStore` on the credentials table: `pk = <tenant>#discovery-runs`,
 * `sk = run#<run id>`. Run ids start with their time, so a descending Query lists the newest
 * first without an index. Updates are conditional on the run's revision. The tenant's run lease
 * is one more item of the partition (`sk = lease`: `holder`, `until` in epoch milliseconds), taken
 * and given back with conditional puts (the discovery function may put items, not delete them).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  type DiscoveryRun,
  type DiscoveryRunStore,
  isRunId,
  type LeaseClaim,
  RUN_STATUSES,
  RUN_TRIGGERS,
  type RunPage,
} from '../../core/discovery/run.js';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import { dynamoDbUnavailable, isConditionalCheckFailed } from './dynamodb-errors.js';

const WHAT = 'discovery run log';
const RUN_PREFIX = 'run#';
const LEASE_SK = 'lease';

type Item = Record<string, unknown>;

const Count = z.number().int().min(0);
const RunItemSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  trigger: z.enum(RUN_TRIGGERS),
  requestedBy: z.string().optional(),
  status: z.enum(RUN_STATUSES),
  queuedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  deadlineAt: z.string().optional(),
  cloud: z.enum(['configured', 'not-configured']).optional(),
  notice: z.string().optional(),
  sources: z.array(
    z.object({
      kind: z.enum(['aws-account', 'secret-store']),
      label: z.string(),
      account: z.string().optional(),
      roleArn: z.string().optional(),
      status: z.enum(['succeeded', 'partial', 'failed']),
      seen: Count,
      calls: Count,
      errors: Count,
    }),
  ),
  counts: z.object({
    seen: Count,
    created: Count,
    updated: Count,
    unchanged: Count,
    gone: Count,
    returned: Count,
    findingsOpened: Count,
    findingsResolved: Count,
    // Runs recorded before the count existed lost none that they knew of.
    historyLost: Count.default(0),
    errors: Count,
  }),
  errors: z.array(
    z.object({
      source: z.string(),
      code: z.string(),
      message: z.string(),
      service: z.string().optional(),
      operation: z.string().optional(),
      account: z.string().optional(),
      region: z.string().optional(),
    }),
  ),
  revision: z.number().int().positive(),
});

function runsPk(tenant: string): string {
  return `${tenant}#discovery-runs`;
}

/** JSON without undefined: DynamoDB has no undefined. */
function runItem(run: DiscoveryRun): Item {
  return {
    pk: runsPk(run.tenant),
    sk: `${RUN_PREFIX}${run.id}`,
    ...(JSON.parse(JSON.stringify(run)) as Item),
  };
}

function toRun(item: Item): DiscoveryRun {
  const parsed = RunItemSchema.safeParse(item);
  if (!parsed.success)
    throw new Error(`Discovery run item ${String(item.sk)} is not valid`, { cause: parsed.error });
  const r = parsed.data;
  return {
    ...r,
    requestedBy: r.requestedBy,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    deadlineAt: r.deadlineAt,
    cloud: r.cloud,
    notice: r.notice,
  };
}

export class DynamoDbDiscoveryRunStore implements DiscoveryRunStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claim(
    tenant: string,
    runId: string,
    until: Date,
    now: Date,
    replacing?: string,
  ): Promise<LeaseClaim> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: runsPk(tenant), sk: LEASE_SK, holder: runId, until: until.getTime() },
          ConditionExpression:
            replacing === undefined
              ? 'attribute_not_exists(pk) OR #until < :now'
              : 'attribute_not_exists(pk) OR #until < :now OR holder = :replacing',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: {
            ':now': now.getTime(),
            ...(replacing === undefined ? {} : { ':replacing': replacing }),
          },
        }),
      );
      return { taken: true };
    } catch (error: unknown) {
      if (!isConditionalCheckFailed(error)) throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
    // Read back rather than returned with the refusal: dynalite (`npm start`) does not implement
    // ReturnValuesOnConditionCheckFailure.
    let item: Item | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: runsPk(tenant), sk: LEASE_SK },
          ConsistentRead: true,
        }),
      ));
    } catch (error: unknown) {
      throw dynamoDbUnavailable('GetItem', WHAT, error);
    }
    return { taken: false, holder: typeof item?.holder === 'string' ? item.holder : '' };
  }

  async release(tenant: string, runId: string): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: runsPk(tenant), sk: LEASE_SK, holder: runId, until: 0 },
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': runId },
        }),
      );
    } catch (error: unknown) {
      // Another run holds it now (ours ran out): nothing of ours to give back.
      if (isConditionalCheckFailed(error)) return;
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
  }

  async create(run: DiscoveryRun): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: runItem(run),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error))
        throw new ConflictError(`Run ${run.id} already exists`, { cause: error });
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
  }

  async update(run: DiscoveryRun, expectedRevision: number): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: runItem(run),
          ConditionExpression: 'revision = :expected',
          ExpressionAttributeValues: { ':expected': expectedRevision },
        }),
      );
    } catch (error: unknown) {
      if (isConditionalCheckFailed(error)) {
        const current = await this.get(run.tenant, run.id);
        throw current === undefined
          ? new NotFoundError(`No run ${run.id}`, { cause: error })
          : new ConflictError(`Run ${run.id} changed meanwhile`, { cause: error });
      }
      throw dynamoDbUnavailable('PutItem', WHAT, error);
    }
  }

  async get(tenant: string, id: string): Promise<DiscoveryRun | undefined> {
    let item: Item | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: runsPk(tenant), sk: `${RUN_PREFIX}${id}` },
          ConsistentRead: true,
        }),
      ));
    } catch (error: unknown) {
      throw dynamoDbUnavailable('GetItem', WHAT, error);
    }
    return item === undefined ? undefined : toRun(item);
  }

  async list(
    tenant: string,
    page: { readonly limit: number; readonly cursor?: string | undefined },
  ): Promise<RunPage> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    let result;
    try {
      result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': runsPk(tenant), ':prefix': RUN_PREFIX },
          ScanIndexForward: false,
          Limit: page.limit,
          ConsistentRead: true,
          ...(after === undefined
            ? {}
            : { ExclusiveStartKey: { pk: runsPk(tenant), sk: `${RUN_PREFIX}${after}` } }),
        }),
      );
    } catch (error: unknown) {
      throw dynamoDbUnavailable('Query', WHAT, error);
    }
    const runs = ((result.Items ?? []) as Item[]).map(toRun);
    const last = runs.at(-1);
    return {
      runs,
      cursor:
        result.LastEvaluatedKey !== undefined && last !== undefined
          ? Buffer.from(last.id).toString('base64url')
          : undefined,
    };
  }
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isRunId(id)) {
    throw new ValidationError('Query parameter cursor is not a cursor this API issued', {
      details: { parameter: 'cursor' },
    });
  }
  return id;
}
