/**
 * Mutations fail closed (issue 11, item 1; ADR 0004): for EVERY mutating route of the route table,
 * with the audit table missing, throttled or failing, the request answers 503 with Retry-After
 * and nothing outside the audit table changes (every other table is read back and compared).
 * A control request per route, with the audit table healthy, proves each request is valid and
 * really changes something, so "unchanged" is not an accident of a bad request.
 *
 * The faults are injected on the runtime's own DynamoDB client (a client middleware, the SDK's
 * extension point): "missing" sends the audit table's calls to a table dynalite does not have
 * (its real ResourceNotFoundException); "throttled" and "failing" answer them with the SDK's
 * ProvisionedThroughputExceededException and InternalServerError inside the retry loop, so the
 * client's own bounded retries run first. They run with the SDK's retry strategy, its attempts,
 * error classes and retry quota, and a 10 ms backoff: its own backoff for throttling (a random
 * share of 1, 2 and 4 s) made each throttled case wait about 3.5 s before its 503, three quarters
 * of the suite's time. What is checked is the outcome after the retries, not their delays; the
 * storage-fault suite keeps the SDK's delays (test/reliability/storage-faults.test.ts).
 */
import { InternalServerError, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRotationQueue } from '../../lambdas/adapters/local/in-process-rotation-queue.js';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { ROUTES } from '../../lambdas/functions/index.js';
import { secrets } from '../../lambdas/functions/secrets/compose.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';
import {
  type ApiAnswer,
  type ApiCaller,
  apiCall,
  localDocumentClient,
  signInLocal,
  startInMemoryRuntime,
} from '../support/local-api.js';
import { FakeGithub } from '../support/fake-github.js';
import { type HttpReceiver, startAcceptingReceiver } from '../support/notify-receivers.js';
import { registerVaultSecret, settledRotation } from '../support/local-rotation.js';

const PASSWORD = 'integration-password-123';
const FAULTS = ['missing', 'throttled', 'failing'] as const;
type Fault = (typeof FAULTS)[number];

let runtime: LocalRuntime;
let receiver: HttpReceiver;
let reader: DynamoDBDocumentClient;
let token = '';
let fault: Fault | undefined;
/** Audit-table calls answered with a throttling or server error, and the client's attempts per call. */
let faultedCalls = 0;
let maxAttempts = 0;
let counter = 0;

const asAdmin: ApiCaller = (method, path, body) => apiCall(runtime.url, token, method, path, body);

/** A unique name per use, so fixtures never collide. */
function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

async function ok(answer: Promise<ApiAnswer>): Promise<ApiAnswer> {
  const done = await answer;
  expect(done.status, done.text).toBeLessThan(300);
  return done;
}

interface MutatingRequest {
  readonly path: string;
  readonly body?: unknown;
}

interface Fixture {
  /** Creates what the request needs (with the audit table healthy) and returns the request. */
  readonly prepare: () => Promise<MutatingRequest>;
  /**
   * False only where a successful call changes nothing outside the audit table (hashing an
   * identifier; signing a digest, which lives in the audit table; re-wrapping with nothing to do).
   */
  readonly changesState: boolean;
}

async function secretAt(prefix: string, versions = 1): Promise<string> {
  const path = unique(`fail-closed/${prefix}`);
  for (let version = 1; version <= versions; version += 1) {
    await ok(asAdmin('POST', `/secrets/data/${path}`, { data: { token: `value-${version}` } }));
  }
  return path;
}

async function policy(): Promise<string> {
  const name = unique('policy');
  await ok(asAdmin('PUT', `/policies/${name}`, { rules: [{ path: 'apps/*', capabilities: ['read'] }] }));
  return name;
}

let github: FakeGithub | undefined;

/** The local stand-in for GitHub's API, started on first use (assisted github-pat rotations). */
async function fakeGithub(): Promise<FakeGithub> {
  if (github === undefined) {
    github = new FakeGithub(() => Date.now());
    await github.start();
  }
  return github;
}

async function credential(): Promise<string> {
  return (await registerVaultSecret(asAdmin, unique('fail-closed/cred'), 'initial-value')).id as string;
}

/**
 * A channel with a secret in the secret store (a signed webhook), to a loopback receiver that
 * accepts every message: a channel that cannot be reached would have each alert retried in the
 * background, and the tables would take longer to settle before and after every request.
 */
async function channel(): Promise<string> {
  const answer = await ok(
    asAdmin('POST', '/notifications/channels', {
      kind: 'webhook',
      name: unique('channel'),
      url: `${receiver.origin}/hook`,
      signingKey: 'fail-closed-signing-key-0123456789abcdef',
    }),
  );
  return answer.json.data.id as string;
}

/** An SNS channel: its test message goes to the log locally, so the test sends nothing out. */
async function snsChannel(): Promise<string> {
  const answer = await ok(
    asAdmin('POST', '/notifications/channels', {
      kind: 'sns',
      name: unique('sns'),
      topicArn: 'arn:aws:sns:us-east-1:123456789012:vaultpilot-alerts',
    }),
  );
  return answer.json.data.id as string;
}

const ROUTE = { name: 'fail-closed route', eventTypes: ['rotation.failed'], channels: 'all' };
const snooze = () => ({ kind: 'snoozed', until: new Date(Date.now() + 7 * 86_400_000).toISOString() });

/** One request per mutating operation (two for a secret write: creating and overwriting). */
const FIXTURES: Readonly<Record<string, readonly Fixture[]>> = {
  hashAuditIdentifier: [
    {
      prepare: async () => ({ path: '/audit/hash', body: { value: unique('identifier') } }),
      changesState: false,
    },
  ],
  signAuditDigest: [{ prepare: async () => ({ path: '/audit/digests' }), changesState: false }],
  writeAuditSettings: [
    {
      prepare: async () => ({ path: '/audit/settings', body: { retentionDays: 30 + (counter++ % 300) } }),
      changesState: true,
    },
  ],
  rewrapDataKeys: [{ prepare: async () => ({ path: '/admin/rewrap', body: {} }), changesState: false }],
  attachPoliciesToGroup: [
    {
      prepare: async () => ({
        path: '/policies/attachments/groups/viewer',
        body: { policies: [await policy()] },
      }),
      changesState: true,
    },
  ],
  attachPoliciesToClient: [
    {
      prepare: async () => ({
        path: `/policies/attachments/clients/${unique('client').replace('-', '_')}`,
        body: { policies: ['readers'] },
      }),
      changesState: true,
    },
  ],
  putPolicy: [
    {
      prepare: async () => ({
        path: `/policies/${unique('policy')}`,
        body: { rules: [{ path: 'apps/*', capabilities: ['read'] }] },
      }),
      changesState: true,
    },
  ],
  deletePolicy: [{ prepare: async () => ({ path: `/policies/${await policy()}` }), changesState: true }],
  writeSecret: [
    {
      prepare: async () => ({
        path: `/secrets/data/${unique('fail-closed/new')}`,
        body: { data: { a: 'b' } },
      }),
      changesState: true,
    },
    {
      prepare: async () => ({
        path: `/secrets/data/${await secretAt('overwrite')}`,
        body: { data: { a: 'c' } },
      }),
      changesState: true,
    },
  ],
  softDeleteSecretVersions: [
    {
      prepare: async () => ({ path: `/secrets/delete/${await secretAt('delete')}`, body: {} }),
      changesState: true,
    },
  ],
  undeleteSecretVersions: [
    {
      prepare: async () => {
        const path = await secretAt('undelete');
        await ok(asAdmin('POST', `/secrets/delete/${path}`, {}));
        return { path: `/secrets/undelete/${path}`, body: { versions: [1] } };
      },
      changesState: true,
    },
  ],
  destroySecretVersions: [
    {
      prepare: async () => ({
        path: `/secrets/destroy/${await secretAt('destroy')}`,
        body: { versions: [1] },
      }),
      changesState: true,
    },
  ],
  writeSecretMetadata: [
    {
      prepare: async () => ({
        path: `/secrets/metadata/${await secretAt('metadata')}`,
        body: { max_versions: 3 },
      }),
      changesState: true,
    },
  ],
  deleteSecret: [
    {
      prepare: async () => ({ path: `/secrets/metadata/${await secretAt('delete-all', 2)}` }),
      changesState: true,
    },
  ],
  // Vault's KV v2 API under /v1 (docs/vault-api.md): the same use cases, so the same guarantees.
  writeVaultSecret: [
    {
      prepare: async () => ({
        path: `/v1/secret/data/${unique('fail-closed/vault-new')}`,
        body: { data: { a: 'b' } },
      }),
      changesState: true,
    },
    {
      prepare: async () => ({
        path: `/v1/secret/data/${await secretAt('vault-overwrite')}`,
        body: { data: { a: 'c' } },
      }),
      changesState: true,
    },
  ],
  patchVaultSecret: [
    {
      prepare: async () => ({
        path: `/v1/secret/data/${await secretAt('vault-patch')}`,
        body: { data: { added: 'x' } },
      }),
      changesState: true,
    },
  ],
  deleteLatestVaultSecretVersion: [
    {
      prepare: async () => ({ path: `/v1/secret/data/${await secretAt('vault-delete-latest')}` }),
      changesState: true,
    },
  ],
  deleteVaultSecretVersions: [
    {
      prepare: async () => ({
        path: `/v1/secret/delete/${await secretAt('vault-delete')}`,
        body: { versions: [1] },
      }),
      changesState: true,
    },
  ],
  undeleteVaultSecretVersions: [
    {
      prepare: async () => {
        const path = await secretAt('vault-undelete');
        await ok(asAdmin('POST', `/secrets/delete/${path}`, {}));
        return { path: `/v1/secret/undelete/${path}`, body: { versions: [1] } };
      },
      changesState: true,
    },
  ],
  destroyVaultSecretVersions: [
    {
      prepare: async () => ({
        path: `/v1/secret/destroy/${await secretAt('vault-destroy')}`,
        body: { versions: [1] },
      }),
      changesState: true,
    },
  ],
  writeVaultSecretMetadata: [
    {
      prepare: async () => ({
        path: `/v1/secret/metadata/${await secretAt('vault-metadata')}`,
        body: { max_versions: 3 },
      }),
      changesState: true,
    },
  ],
  patchVaultSecretMetadata: [
    {
      prepare: async () => ({
        path: `/v1/secret/metadata/${await secretAt('vault-metadata-patch')}`,
        body: { max_versions: 4, custom_metadata: { team: 'ops' } },
      }),
      changesState: true,
    },
  ],
  deleteVaultSecretMetadata: [
    {
      prepare: async () => ({ path: `/v1/secret/metadata/${await secretAt('vault-delete-all', 2)}` }),
      changesState: true,
    },
  ],
  rotateCredential: [
    { prepare: async () => ({ path: `/credentials/${await credential()}/rotate` }), changesState: true },
  ],
  rollbackRotation: [
    {
      prepare: async () => {
        const id = await credential();
        const started = await ok(asAdmin('POST', `/credentials/${id}/rotate`));
        const rotation = await settledRotation(asAdmin, started.json.data.rotationId as string);
        expect(rotation.state).toBe('succeeded');
        return { path: `/rotations/${rotation.rotationId as string}/rollback` };
      },
      changesState: true,
    },
  ],
  submitRotation: [
    {
      // An assisted rotation (github-pat) waiting for its value; the fake GitHub accepts the token.
      prepare: async () => {
        const path = unique('fail-closed/pat');
        await ok(
          asAdmin('POST', `/secrets/data/${path}`, { data: { token: 'github_pat_11OLD0fail_closed_old' } }),
        );
        const registered = await ok(
          asAdmin('POST', '/credentials', {
            type: 'github-pat',
            name: unique('pat'),
            owner: 'alice@example.com',
            // Far enough out that the expiry check (another route here) warns about nothing: its
            // warnings would reach the failing channels of other fixtures while tables are compared.
            expiresAt: new Date(Date.now() + 365 * 86_400_000).toISOString(),
            secretPath: path,
            github: { baseUrl: (await fakeGithub()).baseUrl },
            rotationPolicy: { intervalDays: 90 },
          }),
        );
        const started = await ok(asAdmin('POST', `/credentials/${registered.json.data.id as string}/rotate`));
        const rotation = await settledRotation(asAdmin, started.json.data.rotationId as string);
        expect(rotation.state).toBe('awaiting-input');
        const value = `github_pat_11NEW0${unique('fail_closed').replace(/-/g, '_')}`;
        github?.pats.set(value, { login: 'alice', expiresAt: Date.now() + 90 * 86_400_000 });
        return {
          path: `/rotations/${rotation.rotationId as string}/submit`,
          body: { value: { token: value } },
        };
      },
      changesState: true,
    },
  ],
  putRotationPolicy: [
    {
      prepare: async () => ({
        path: `/rotation-policies/${unique('rp')}`,
        body: { policy: { intervalDays: 30 } },
      }),
      changesState: true,
    },
  ],
  deleteRotationPolicy: [
    {
      prepare: async () => {
        const name = unique('rp');
        await ok(asAdmin('PUT', `/rotation-policies/${name}`, { policy: { intervalDays: 30 } }));
        return { path: `/rotation-policies/${name}` };
      },
      changesState: true,
    },
  ],
  registerCredential: [
    {
      prepare: async () => {
        const path = await secretAt('register');
        return {
          path: '/credentials',
          body: { type: 'vault-secret', name: `token ${path}`, secretPath: path },
        };
      },
      changesState: true,
    },
  ],
  updateCredential: [
    {
      prepare: async () => ({
        path: `/credentials/${await credential()}`,
        body: { name: unique('renamed') },
      }),
      changesState: true,
    },
  ],
  unregisterCredential: [
    { prepare: async () => ({ path: `/credentials/${await credential()}` }), changesState: true },
  ],
  startDiscoveryRun: [{ prepare: async () => ({ path: '/discovery/runs' }), changesState: true }],
  createNotificationChannel: [
    {
      prepare: async () => ({
        path: '/notifications/channels',
        body: {
          kind: 'slack',
          name: unique('slack'),
          webhookUrl: `${receiver.origin}/slack`,
        },
      }),
      changesState: true,
    },
  ],
  updateNotificationChannel: [
    {
      prepare: async () => ({
        path: `/notifications/channels/${await channel()}`,
        body: { url: `${receiver.origin}/moved` },
      }),
      changesState: true,
    },
  ],
  deleteNotificationChannel: [
    { prepare: async () => ({ path: `/notifications/channels/${await channel()}` }), changesState: true },
  ],
  testNotificationChannel: [
    // The delivery log records the test message.
    {
      prepare: async () => ({ path: `/notifications/channels/${await snsChannel()}/test` }),
      changesState: true,
    },
  ],
  createNotificationRoute: [
    { prepare: async () => ({ path: '/notifications/routes', body: ROUTE }), changesState: true },
  ],
  putNotificationRoute: [
    {
      prepare: async () => ({ path: `/notifications/routes/${unique('route')}`, body: ROUTE }),
      changesState: true,
    },
  ],
  deleteNotificationRoute: [
    {
      prepare: async () => {
        const created = await ok(asAdmin('POST', '/notifications/routes', ROUTE));
        return { path: `/notifications/routes/${created.json.data.id as string}` };
      },
      changesState: true,
    },
  ],
  putAlertHold: [
    {
      prepare: async () => ({ path: `/notifications/holds/${await credential()}`, body: snooze() }),
      changesState: true,
    },
  ],
  deleteAlertHold: [
    {
      prepare: async () => {
        const id = await credential();
        await ok(asAdmin('PUT', `/notifications/holds/${id}`, snooze()));
        return { path: `/notifications/holds/${id}` };
      },
      changesState: true,
    },
  ],
  // Publishes events only (the notifier writes what it sends); no table of its own changes.
  runExpiryCheck: [{ prepare: async () => ({ path: '/notifications/expiry-check' }), changesState: false }],
  putDiscoverySettings: [
    {
      prepare: async () => ({
        path: '/discovery/settings',
        body: { thresholds: { accessKeyMaxAgeDays: 60 + (counter++ % 300) } },
      }),
      changesState: true,
    },
  ],
};

/** Every route that is not a plain read (GET, HEAD), nor one served only to refuse (it changes nothing). */
const MUTATING = ROUTES.filter(
  (route) => route.method !== 'GET' && route.method !== 'HEAD' && route.refusedWith === undefined,
);

/** JSON with the keys of every object sorted, so equal items print alike. */
function canonical(value: unknown): string {
  if (value instanceof Set) return canonical([...(value as Set<unknown>)].sort());
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('base64'));
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** Every item of every table except the audit log, in a stable order. */
async function snapshot(): Promise<string> {
  const tables: Record<string, unknown[]> = {};
  for (const spec of TABLE_LIST.filter((table) => table.id !== 'audit')) {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await reader.send(
        new ScanCommand({
          TableName: localTableName(spec.id),
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    tables[spec.id] = items.map(canonical).sort();
  }
  return JSON.stringify(tables);
}

/** Whether every discovery run has finished (the local runtime runs them in the background). */
async function discoveryIdle(): Promise<boolean> {
  const answer = await asAdmin('GET', '/discovery/runs?limit=100');
  const runs = (answer.json?.data?.runs ?? []) as { status: string }[];
  return runs.every((run) => ['succeeded', 'partial', 'failed'].includes(run.status));
}

/** Waits until background work (queued rotations, discovery runs) has stopped changing the tables. */
async function quiet(): Promise<string> {
  for (let round = 0; round < 300 && !(await discoveryIdle()); round += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let previous = await snapshot();
  for (let round = 0; round < 100; round += 1) {
    await localRotationQueue.drain();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = await snapshot();
    if (next === previous) return next;
    previous = next;
  }
  throw new Error('The tables did not settle');
}

function injectAuditFaults(client: DynamoDBDocumentClient, auditTable: string): void {
  const isAudit = (input: unknown): boolean => (input as { TableName?: unknown }).TableName === auditTable;
  client.middlewareStack.add(
    (next) => async (args) =>
      fault === 'missing' && isAudit(args.input)
        ? next({ ...args, input: { ...args.input, TableName: `${auditTable}-missing` } })
        : next(args),
    { step: 'initialize', name: 'testAuditTableMissing' },
  );
  client.middlewareStack.add(
    (next) => async (args) => {
      if (!isAudit(args.input)) return next(args);
      if (fault === 'throttled' || fault === 'failing') faultedCalls += 1;
      if (fault === 'throttled') {
        throw new ProvisionedThroughputExceededException({
          message: 'The level of configured provisioned throughput for the table was exceeded.',
          $metadata: { httpStatusCode: 400 },
        });
      }
      if (fault === 'failing') {
        throw new InternalServerError({
          message: 'Internal server error',
          $metadata: { httpStatusCode: 500 },
        });
      }
      return next(args);
    },
    { step: 'deserialize', name: 'testAuditTableFailing' },
  );
}

beforeAll(async () => {
  receiver = await startAcceptingReceiver();
  receiver.on('/moved', () => ({ status: 200 }));
  runtime = await startInMemoryRuntime({ adminPassword: PASSWORD });
  token = await signInLocal(runtime.url, 'admin', PASSWORD);
  reader = localDocumentClient(runtime);
  // Locally every function shares one document client (lambdas/platform/local.ts): the secrets
  // function's is the one all of them use.
  const services = secrets();
  const auditTable = services.config.tables.audit;
  if (auditTable === undefined) throw new Error('The runtime has no audit table');
  injectAuditFaults(services.dynamodb, auditTable);
  maxAttempts = await services.dynamodb.config.maxAttempts();
  const retries = new ConfiguredRetryStrategy(maxAttempts, 10);
  services.dynamodb.config.retryStrategy = async () => retries;
  await ok(asAdmin('PUT', '/policies/readers', { rules: [{ path: 'apps/*', capabilities: ['read'] }] }));
  // The tenant's HMAC key is made on first use; made here, so the hash route's state is settled.
  await ok(asAdmin('POST', '/audit/hash', { value: 'warm-up' }));
}, 60_000);

afterAll(async () => {
  fault = undefined;
  reader?.destroy();
  await runtime?.stop();
  await github?.close();
  await receiver?.close();
});

describe('mutations fail closed', () => {
  it('has a request for every mutating route of the route table', () => {
    // Assess: a new mutating route must come with its fixture, so it cannot escape this suite.
    expect(MUTATING.length).toBeGreaterThan(20);
    expect(MUTATING.map((route) => route.operationId).filter((id) => FIXTURES[id] === undefined)).toEqual([]);
  });

  for (const route of MUTATING) {
    const fixtures = FIXTURES[route.operationId] ?? [];
    fixtures.forEach((fixture, index) => {
      const name = `${route.method} ${route.path}${fixtures.length > 1 ? ` (#${index + 1})` : ''}`;

      it(`${name}: applies the change when the audit log works (control)`, async () => {
        // Prepare
        const request = await fixture.prepare();
        const before = await quiet();

        // Act
        const answer = await asAdmin(route.method, request.path, request.body);
        const after = await quiet();

        // Assess
        expect(answer.status, answer.text).toBeLessThan(300);
        if (fixture.changesState) expect(after).not.toEqual(before);
      }, 60_000);

      for (const mode of FAULTS) {
        it(`${name}: answers 503 with Retry-After and changes nothing when the audit table is ${mode}`, async () => {
          // Prepare
          const request = await fixture.prepare();
          const before = await quiet();

          // Act
          fault = mode;
          faultedCalls = 0;
          let answer: ApiAnswer;
          try {
            answer = await asAdmin(route.method, request.path, request.body);
          } finally {
            fault = undefined;
          }
          const after = await quiet();

          // Assess
          expect(answer.status, answer.text).toBe(503);
          expect(answer.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
          if (route.dialect === 'vault') {
            // Vault's error shape (docs/vault-api.md): the message, no code.
            expect(answer.json).toEqual({ errors: [expect.stringMatching(/retry/i)] });
          } else {
            expect(answer.json.error.code).toBe('ServiceUnavailable');
          }
          expect(answer.text).not.toMatch(
            /DynamoDB|PutItem|GetItem|vaultpilot-|Exception|InternalServerError/,
          );
          expect(after).toEqual(before);
          // The client retried before giving up (its attempts for each audit call made).
          if (mode !== 'missing') expect(faultedCalls).toBeGreaterThanOrEqual(maxAttempts);
        }, 60_000);
      }
    });
  }
});
