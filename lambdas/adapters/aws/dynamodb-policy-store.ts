/**
 * The `PolicyStore` on the settings table, one item per policy and per attachment:
 * - `pk = <tenant>`, `sk = policy#<name>`: the policy's name and rules, `revision`, `updatedAt`;
 * - `pk = <tenant>`, `sk = attachment#group#<group>` or `attachment#client#<clientId>`: the names
 *   of the policies attached to that group or machine client.
 * Every write is a single-item conditional write (dynalite has no transactions), and reading all
 * of a tenant's policies and attachments takes two Queries run side by side, so an authorization
 * check costs two reads whatever the number of policies. Reads are strongly consistent: a deny an
 * admin has just written applies to the very next request.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ZodError } from 'zod';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '../../core/errors.js';
import { type Clock, systemClock } from '../../core/ports.js';
import { isRole, TENANT_PATTERN } from '../../core/principal.js';
import { type AttachedPolicies, type Policy, PolicySchema } from '../../core/access/policy.js';
import {
  MAX_POLICIES_PER_HOLDER,
  type PolicyHolder,
  type PolicyStore,
  type PolicyWriteOptions,
  type StoredPolicy,
} from '../../core/access/policy-store.js';
import { dynamoDbUnavailable, isConditionalCheckFailed } from './dynamodb-errors.js';
import { queryPages } from './dynamodb-pages.js';

const POLICY_PREFIX = 'policy#';
const ATTACHMENT_PREFIX = 'attachment#';
const WHAT = 'policy store';
/** Cognito's app client id pattern. */
const CLIENT_ID = /^[\w+]{1,128}$/;

type Item = Record<string, unknown>;

/** A stored item that is not what this store writes. Fails closed: a lost deny must not pass. */
export class CorruptPolicyItemError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CorruptPolicyItemError';
  }
}

export interface DynamoDbPolicyStoreOptions {
  readonly clock?: Clock;
}

export class DynamoDbPolicyStore implements PolicyStore {
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoDbPolicyStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  static policyKey(tenant: string, name: string): { pk: string; sk: string } {
    return { pk: tenant, sk: `${POLICY_PREFIX}${name}` };
  }

  static attachmentKey(tenant: string, holder: PolicyHolder): { pk: string; sk: string } {
    const sk =
      holder.group === undefined
        ? `${ATTACHMENT_PREFIX}client#${holder.clientId}`
        : `${ATTACHMENT_PREFIX}group#${holder.group}`;
    return { pk: tenant, sk };
  }

  async list(tenant: string): Promise<StoredPolicy[]> {
    checkTenant(tenant);
    const items = await this.query(tenant, POLICY_PREFIX);
    // Sort keys are `policy#<name>`, so the Query already returns them sorted by name.
    return items.map(toStoredPolicy);
  }

  async get(tenant: string, name: string): Promise<StoredPolicy | undefined> {
    checkTenant(tenant);
    checkPolicyName(name);
    const item = await this.getItem(DynamoDbPolicyStore.policyKey(tenant, name));
    return item === undefined ? undefined : toStoredPolicy(item);
  }

  async put(tenant: string, policy: Policy, options: PolicyWriteOptions = {}): Promise<StoredPolicy> {
    checkTenant(tenant);
    const parsed = PolicySchema.safeParse(policy);
    if (!parsed.success) throw invalid('Invalid policy', parsed.error);
    const valid = parsed.data;
    const expected = checkExpectedRevision(options.expectedRevision);
    const condition: WriteCondition =
      expected === undefined ? {} : revisionCondition(expected, 'attribute_not_exists(pk)');
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: DynamoDbPolicyStore.policyKey(tenant, valid.name),
          UpdateExpression: 'SET #name = :name, #rules = :rules, #updatedAt = :now ADD #revision :one',
          ...condition,
          ExpressionAttributeNames: {
            '#name': 'name',
            '#rules': 'rules',
            '#updatedAt': 'updatedAt',
            '#revision': 'revision',
            ...condition.ExpressionAttributeNames,
          },
          ExpressionAttributeValues: {
            ':name': valid.name,
            ':rules': valid.rules,
            ':now': this.clock.now().toISOString(),
            ':one': 1,
            ...condition.ExpressionAttributeValues,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (Attributes === undefined) throw new CorruptPolicyItemError('UpdateItem returned no attributes');
      return toStoredPolicy(Attributes);
    } catch (error: unknown) {
      throw await this.writeFailure('UpdateItem', error, tenant, valid.name, expected);
    }
  }

  async delete(tenant: string, name: string, options: PolicyWriteOptions = {}): Promise<void> {
    checkTenant(tenant);
    checkPolicyName(name);
    const expected = checkExpectedRevision(options.expectedRevision);
    if (expected === 0) throw new ValidationError('expectedRevision of a delete must be 1 or more');
    const condition: WriteCondition =
      expected === undefined
        ? { ConditionExpression: 'attribute_exists(pk)' }
        : revisionCondition(expected, 'attribute_exists(pk)');
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: DynamoDbPolicyStore.policyKey(tenant, name),
          ...condition,
        }),
      );
    } catch (error: unknown) {
      throw await this.writeFailure('DeleteItem', error, tenant, name, expected, true);
    }
  }

  async attachments(tenant: string): Promise<AttachedPolicies> {
    checkTenant(tenant);
    const [attachmentItems, policyItems] = await Promise.all([
      this.query(tenant, ATTACHMENT_PREFIX),
      this.query(tenant, POLICY_PREFIX),
    ]);
    const policies = new Map(policyItems.map((item) => toStoredPolicy(item).policy).map((p) => [p.name, p]));
    // No prototype: a holder named `constructor` or `__proto__` must be just a key.
    const byGroup = Object.create(null) as Record<string, Policy[]>;
    const byClient = Object.create(null) as Record<string, Policy[]>;
    for (const item of attachmentItems) {
      const { holder, names } = toAttachment(item);
      // A name whose policy was deleted is ignored, as Vault ignores a deleted policy on a token.
      const attached = names.flatMap((name) => policies.get(name) ?? []);
      if (holder.group !== undefined) byGroup[holder.group] = attached;
      else byClient[holder.clientId] = attached;
    }
    return { byGroup, byClient };
  }

  async attach(tenant: string, holder: PolicyHolder, policyNames: readonly string[]): Promise<void> {
    checkTenant(tenant);
    checkHolder(holder);
    const names = [...new Set(policyNames)];
    if (names.length > MAX_POLICIES_PER_HOLDER) {
      throw new ValidationError(`At most ${MAX_POLICIES_PER_HOLDER} policies can be attached to one holder`);
    }
    names.forEach(checkPolicyName);
    const key = DynamoDbPolicyStore.attachmentKey(tenant, holder);
    if (names.length === 0) {
      await this.send('DeleteItem', () =>
        this.client.send(new DeleteCommand({ TableName: this.tableName, Key: key })),
      );
      return;
    }
    const existing = new Set(
      (await this.query(tenant, POLICY_PREFIX)).map((item) => toStoredPolicy(item).policy.name),
    );
    const unknown = names.filter((name) => !existing.has(name));
    if (unknown.length > 0) {
      throw new ValidationError(`No such policy: ${unknown.join(', ')}`, {
        details: { unknownPolicies: unknown },
      });
    }
    const item = {
      ...key,
      ...(holder.group === undefined
        ? { holderKind: 'client', holder: holder.clientId }
        : { holderKind: 'group', holder: holder.group }),
      policies: names,
      updatedAt: this.clock.now().toISOString(),
    };
    await this.send('PutItem', () =>
      this.client.send(new PutCommand({ TableName: this.tableName, Item: item })),
    );
  }

  /** All items of the tenant whose sort key starts with `prefix`, every page. */
  private async query(tenant: string, prefix: string): Promise<Item[]> {
    const items: Item[] = [];
    const pages = queryPages(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': tenant, ':prefix': prefix },
        ConsistentRead: true,
      },
      WHAT,
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
    return items;
  }

  private async getItem(key: { pk: string; sk: string }): Promise<Item | undefined> {
    const { Item } = await this.send('GetItem', () =>
      this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
    );
    return Item;
  }

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error: unknown) {
      throw dynamoDbUnavailable(operation, WHAT, error);
    }
  }

  /** Turns a failed conditional write into the domain error that explains it. */
  private async writeFailure(
    operation: string,
    error: unknown,
    tenant: string,
    name: string,
    expected: number | undefined,
    mustExist = false,
  ): Promise<Error> {
    if (error instanceof DomainError || error instanceof CorruptPolicyItemError) return error;
    if (!isConditionalCheckFailed(error)) return dynamoDbUnavailable(operation, WHAT, error);
    const current = await this.getItem(DynamoDbPolicyStore.policyKey(tenant, name));
    const currentRevision = current === undefined ? 0 : toStoredPolicy(current).revision;
    if (current === undefined && mustExist) return new NotFoundError(`No policy '${name}'`, { cause: error });
    const message =
      expected === 0
        ? `Policy '${name}' already exists (revision ${currentRevision})`
        : `Policy '${name}' is at revision ${currentRevision}, not ${expected ?? '?'}`;
    return new ConflictError(message, { cause: error, details: { currentRevision } });
  }
}

interface WriteCondition {
  readonly ConditionExpression?: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

function revisionCondition(expected: number, whenZero: string): WriteCondition {
  if (expected === 0) return { ConditionExpression: whenZero };
  return {
    ConditionExpression: '#revision = :expected',
    ExpressionAttributeNames: { '#revision': 'revision' },
    ExpressionAttributeValues: { ':expected': expected },
  };
}

function toStoredPolicy(item: Item): StoredPolicy {
  const parsed = PolicySchema.safeParse({ name: item.name, rules: item.rules });
  const { revision, updatedAt } = item;
  if (!parsed.success || typeof revision !== 'number' || typeof updatedAt !== 'string') {
    throw new CorruptPolicyItemError(
      `The stored policy item ${String(item.sk)} of ${String(item.pk)} is invalid`,
      {
        cause: parsed.error,
      },
    );
  }
  return { policy: parsed.data, revision, updatedAt };
}

function toAttachment(item: Item): { holder: PolicyHolder; names: string[] } {
  const { holderKind, holder, policies } = item;
  const names = Array.isArray(policies)
    ? policies.filter((name): name is string => typeof name === 'string')
    : [];
  if (typeof holder === 'string' && names.length === (policies as unknown[]).length) {
    if (holderKind === 'group' && isRole(holder)) return { holder: { group: holder }, names };
    if (holderKind === 'client') return { holder: { clientId: holder }, names };
  }
  throw new CorruptPolicyItemError(
    `The stored attachment item ${String(item.sk)} of ${String(item.pk)} is invalid`,
  );
}

function checkTenant(tenant: string): void {
  if (!TENANT_PATTERN.test(tenant)) throw new ValidationError('Invalid tenant');
}

function checkPolicyName(name: string): void {
  const parsed = PolicySchema.shape.name.safeParse(name);
  if (!parsed.success) throw invalid('Invalid policy name', parsed.error);
}

function checkHolder(holder: PolicyHolder): void {
  if (holder.group !== undefined) {
    if (!isRole(holder.group)) throw new ValidationError(`Unknown group '${String(holder.group)}'`);
  } else if (!CLIENT_ID.test(holder.clientId)) {
    throw new ValidationError('Invalid client id');
  }
}

function checkExpectedRevision(revision: number | undefined): number | undefined {
  if (revision !== undefined && (!Number.isSafeInteger(revision) || revision < 0)) {
    throw new ValidationError('expectedRevision must be a whole number, 0 or more');
  }
  return revision;
}

/** A `ValidationError` carrying the zod issues, in the shape the error mapper sends (400). */
function invalid(message: string, error: ZodError): ValidationError {
  return new ValidationError(message, {
    cause: error,
    details: { issues: error.issues.map(({ code, path, message }) => ({ code, path, message })) },
  });
}
