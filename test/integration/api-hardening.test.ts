/**
 * Statuses and authorization the probes of issue 11 found wrong, through the local API:
 * path parameters checked with their limits before any storage call (400 naming the field);
 * a tampered envelope answers a distinct integrity error, audited as such and published as
 * `integrity.failed`; storage unavailability is a 503 that names nothing internal; discovery
 * settings and rotation policies are for admins and auditors; a foreign `?tenant=` on the audit
 * settings answers 404; an unknown credential answers 404 on its rotations too.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localEventBus } from '../../lambdas/adapters/local/in-process-event-bus.js';
import type { DomainEvent } from '../../lambdas/core/events.js';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { INTEGRITY_FAILED } from '../../lambdas/shared/integrity-events.js';
import { ROUTES } from '../../lambdas/functions/index.js';
import { PATH_PARAMETERS } from '../../lambdas/shared/path-parameters.js';
import { routePathParameters } from '../../lambdas/shared/routes.js';
import { localTableName } from '../../lambdas/shared/tables.js';
import {
  type ApiAnswer,
  apiCall,
  localDocumentClient,
  signInLocal,
  startInMemoryRuntime,
} from '../support/local-api.js';

const PASSWORD = 'integration-password-123';
let runtime: LocalRuntime;
const tokens: Record<string, string> = {};
const published: DomainEvent[] = [];

function call(who: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  return apiCall(runtime.url, tokens[who], method, path, body);
}

beforeAll(async () => {
  runtime = await startInMemoryRuntime({ adminPassword: PASSWORD });
  for (const [username, group] of [
    ['olga', 'operator'],
    ['aude', 'auditor'],
  ] as const) {
    await runtime.identity.addUser({ username, password: PASSWORD, tenant: 'default', groups: [group] });
  }
  for (const name of ['admin', 'olga', 'aude']) tokens[name] = await signInLocal(runtime.url, name, PASSWORD);
  localEventBus.subscribe(INTEGRITY_FAILED, (event) => {
    published.push(event);
  });
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
});

describe('path parameters', () => {
  it('has limits for every path parameter of the route table', () => {
    const names = new Set(ROUTES.flatMap((route) => routePathParameters(route.path)));
    expect([...names].filter((name) => PATH_PARAMETERS[name] === undefined)).toEqual([]);
  });

  it.each([
    [
      'a rotation policy name of 1100 characters (GET)',
      'GET',
      `/rotation-policies/${'n'.repeat(1100)}`,
      'name',
    ],
    [
      'a rotation policy name of 1100 characters (DELETE)',
      'DELETE',
      `/rotation-policies/${'n'.repeat(1100)}`,
      'name',
    ],
    ['a policy name of 129 characters', 'GET', `/policies/${'p'.repeat(129)}`, 'name'],
    ['a credential id of 300 characters', 'GET', `/credentials/${'c'.repeat(300)}`, 'id'],
    [
      'a credential id of 300 characters (rotations)',
      'GET',
      `/credentials/${'c'.repeat(300)}/rotations`,
      'id',
    ],
    ['a discovery run id of 300 characters', 'GET', `/discovery/runs/${'r'.repeat(300)}`, 'id'],
    ['an unknown group', 'PUT', '/policies/attachments/groups/superusers', 'group'],
  ])('answers %s with 400 naming the parameter', async (_name, method, path, field) => {
    // Act
    const answer = await call('admin', method, path, method === 'PUT' ? { policies: [] } : undefined);

    // Assess
    expect(answer.status, answer.text).toBe(400);
    expect(answer.json.error.code).toBe('ValidationError');
    expect(answer.json.error.message).toBe(`Invalid path parameter ${field}`);
    expect(answer.json.error.details.issues[0].path).toEqual(['path', field]);
    expect(answer.text).not.toMatch(/DynamoDB|GetItem|Exception/);
  });
});

describe('integrity failures', () => {
  it('answers a tampered envelope with IntegrityFailure, audits it and publishes integrity.failed', async () => {
    // Prepare: a stored version whose ciphertext is altered in the table.
    expect((await call('admin', 'POST', '/secrets/data/tamper/me', { data: { a: 'b' } })).status).toBe(200);
    const documents = localDocumentClient(runtime);
    const key = { pk: 'default#tamper/me', sk: 'v#0000000001' };
    const { Item } = await documents.send(new GetCommand({ TableName: localTableName('secrets'), Key: key }));
    const envelope = Item?.envelope as { ciphertext: string };
    const flipped = Buffer.from(envelope.ciphertext, 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 0xff;
    await documents.send(
      new UpdateCommand({
        TableName: localTableName('secrets'),
        Key: key,
        UpdateExpression: 'SET envelope.ciphertext = :c',
        ExpressionAttributeValues: { ':c': flipped.toString('base64') },
      }),
    );
    documents.destroy();

    // Act
    const answer = await call('admin', 'GET', '/secrets/data/tamper/me');
    await localEventBus.drain();
    const audit = await call('admin', 'GET', '/audit?action=secret.read&outcome=failed');

    // Assess
    expect(answer.status).toBe(500);
    expect(answer.json.error.code).toBe('IntegrityFailure');
    expect(answer.text).not.toMatch(/Envelope|ciphertext|authentication|tamper/i);
    const requestId = answer.json.error.requestId as string;
    expect(published).toContainEqual(
      expect.objectContaining({
        type: INTEGRITY_FAILED,
        tenant: 'default',
        detail: { subject: 'envelope', operation: 'readSecret', requestId },
      }),
    );
    const events = audit.json.events as { requestId?: string; reason?: string }[];
    expect(events.find((event) => event.requestId === requestId)?.reason).toBe('IntegrityFailure');
  });
});

describe('authorization', () => {
  it('lets admins and auditors read discovery settings and rotation policies, not operators', async () => {
    // Prepare
    expect(
      (await call('admin', 'PUT', '/rotation-policies/monthly', { policy: { intervalDays: 30 } })).status,
    ).toBe(200);

    // Act
    const answers = await Promise.all(
      ['admin', 'aude', 'olga'].flatMap((who) =>
        ['/discovery/settings', '/rotation-policies', '/rotation-policies/monthly'].map(async (path) => [
          who,
          path,
          (await call(who, 'GET', path)).status,
        ]),
      ),
    );

    // Assess
    expect(answers).toEqual([
      ['admin', '/discovery/settings', 200],
      ['admin', '/rotation-policies', 200],
      ['admin', '/rotation-policies/monthly', 200],
      ['aude', '/discovery/settings', 200],
      ['aude', '/rotation-policies', 200],
      ['aude', '/rotation-policies/monthly', 200],
      ['olga', '/discovery/settings', 403],
      ['olga', '/rotation-policies', 403],
      ['olga', '/rotation-policies/monthly', 403],
    ]);
  });

  it('answers a foreign tenant on the audit settings with 404, and leaves the own settings alone', async () => {
    // Act
    const read = await call('admin', 'GET', '/audit/settings?tenant=other');
    const write = await call('admin', 'PUT', '/audit/settings?tenant=other', { retentionDays: 7 });
    const own = await call('admin', 'GET', '/audit/settings?tenant=default');

    // Assess
    expect(read.status).toBe(404);
    expect(write.status).toBe(404);
    expect(own.status).toBe(200);
    expect(own.json.retentionDays).not.toBe(7);
  });

  it('answers an unknown credential with 404 on its rotations as on the credential', async () => {
    const unknown = 'cr_0123456789abcdef01234567';
    expect((await call('admin', 'GET', `/credentials/${unknown}`)).status).toBe(404);
    expect((await call('admin', 'GET', `/credentials/${unknown}/rotations`)).status).toBe(404);
  });
});
