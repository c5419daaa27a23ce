/**
 * A channel test (`POST /notifications/channels/{id}/test`) whose message went out and was logged,
 * but whose delivery audit event could not be written (the audit table refused that one put):
 * it answers what happened, not 503. A 503 says "nothing happened, retry", and a retry would send
 * a second test message; the call's own `attempted` event stands (ADR 0004), as for every change
 * whose outcome record is lost. Found by the storage-fault suite (a seeded run threw the table
 * into throttling between the delivery log write and its audit event).
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secrets } from '../../lambdas/functions/secrets/compose.js';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { type ApiAnswer, apiCall, signInLocal, startInMemoryRuntime } from '../support/local-api.js';

const PASSWORD = 'integration-password-123';
let runtime: LocalRuntime;
let token = '';
/** The audit action whose puts the table refuses, while set. */
let refusedAction: string | undefined;
let refusals = 0;

const asAdmin = (method: string, path: string, body?: unknown): Promise<ApiAnswer> =>
  apiCall(runtime.url, token, method, path, body);

beforeAll(async () => {
  runtime = await startInMemoryRuntime({ adminPassword: PASSWORD });
  token = await signInLocal(runtime.url, 'admin', PASSWORD);
  // Locally every function shares one document client (lambdas/platform/local.ts).
  const services = secrets();
  const auditTable = services.config.tables.audit;
  services.dynamodb.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { TableName?: unknown; Item?: { action?: unknown } };
      // The item is marshalled (`{ S: … }`) by this step.
      const action = JSON.stringify(input.Item?.action);
      if (
        refusedAction !== undefined &&
        input.TableName === auditTable &&
        action === JSON.stringify({ S: refusedAction })
      ) {
        refusals += 1;
        throw new ProvisionedThroughputExceededException({
          message: 'The level of configured provisioned throughput for the table was exceeded.',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    { step: 'deserialize', name: 'testRefuseOneAuditAction' },
  );
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
});

describe('channel test with its delivery audit event lost', () => {
  it('answers the delivery (sent, logged) instead of 503, and its attempted event stands', async () => {
    // Prepare: an SNS channel (locally its message goes to the log, nothing is sent out).
    const created = await asAdmin('POST', '/notifications/channels', {
      kind: 'sns',
      name: 'ops-topic',
      topicArn: 'arn:aws:sns:us-east-1:123456789012:vaultpilot-alerts',
    });
    expect(created.status, created.text).toBe(201);
    const id = created.json.data.id as string;

    // Act
    refusedAction = 'notification.sent';
    let tested: ApiAnswer;
    try {
      tested = await asAdmin('POST', `/notifications/channels/${id}/test`);
    } finally {
      refusedAction = undefined;
    }
    const log = await asAdmin('GET', `/notifications?channel=${id}`);
    const attempted = await asAdmin('GET', '/audit?action=notification.channel.test&outcome=attempted');

    // Assess
    expect(refusals).toBeGreaterThan(0);
    expect(tested.status, tested.text).toBe(200);
    expect(tested.json.data).toMatchObject({ status: 'sent', channel: { id } });
    expect(log.json.data.deliveries).toHaveLength(1);
    expect(log.json.data.deliveries[0]).toMatchObject({ status: 'sent', eventId: tested.json.data.eventId });
    expect(attempted.json.events).toHaveLength(1);
  });
});
