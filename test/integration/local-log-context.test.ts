/**
 * The local runtime runs every function in one process, and requests overlap there (in AWS an
 * on-demand function instance serves one invocation at a time). The handlers share one
 * Powertools logger whose keys (`operation`, `correlation_id`, `tenant`, …) and Lambda context
 * are per invocation: a request's log lines must carry its own keys while another request runs
 * beside it, and one request ending (its `resetKeys`) must not clear the keys of another.
 *
 * Request A is held on its storage read (by the DynamoDB proxy) after it has appended its keys;
 * request B, to another function, runs from start to end meanwhile; then A finishes. Everything
 * the handlers print is captured and each line is matched to its request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetFunctions } from '../../lambdas/platform/cold-start.js';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { DynamoFaultProxy } from '../support/dynamo-fault-proxy.js';
import { apiCall, signInLocal, startInMemoryRuntime } from '../support/local-api.js';
import { captureProcessOutput } from '../support/process-output.js';

const PASSWORD = 'integration-password-123';
/** The secret path request A reads (absent: a 404, which the handler logs as a refusal). */
const HELD_PATH = 'log-context/held-db';
const CORRELATION_A = 'corr-request-a-0001';
const CORRELATION_B = 'corr-request-b-0002';

let runtime: LocalRuntime;
let proxy: DynamoFaultProxy;
let adminToken: string;
const captured: string[] = [];
/** Stops capturing the process's output (idempotent; afterAll calls it too, should a test fail). */
let stopCapture = (): void => undefined;

beforeAll(async () => {
  runtime = await startInMemoryRuntime({ adminPassword: PASSWORD, logLevel: 'INFO' });
  // The handlers reach DynamoDB through the proxy from here on, so one request can be held.
  proxy = await DynamoFaultProxy.start(runtime.dynamodbEndpoint, 20261207);
  process.env.VAULTPILOT_DYNAMODB_ENDPOINT = proxy.endpoint;
  resetFunctions();
  adminToken = await signInLocal(runtime.url, 'admin', PASSWORD);
}, 60_000);

afterAll(async () => {
  stopCapture();
  await runtime?.stop();
  await proxy?.close();
});

/** The JSON log lines the handlers printed while capturing. */
function logLines(): Record<string, unknown>[] {
  return captured
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('log context of overlapping requests in the local runtime', () => {
  it("prints each request's own keys on its lines, and one request ending leaves the other's keys", async () => {
    // Prepare: A (an admin's read of an absent secret) will wait on its storage read, after the
    // secrets function has appended its operation, principal and correlation id.
    const held = proxy.hold(HELD_PATH);
    captured.length = 0;
    stopCapture = captureProcessOutput(captured);

    // Act: A starts and waits; B (a request with an invalid token to the credentials function)
    // runs to its end meanwhile; then A goes on.
    const answerA = apiCall(runtime.url, adminToken, 'GET', `/secrets/data/${HELD_PATH}`, undefined, {
      'x-correlation-id': CORRELATION_A,
    });
    await held.reached;
    const answerB = await apiCall(runtime.url, 'not-a-valid-token', 'GET', '/credentials', undefined, {
      'x-correlation-id': CORRELATION_B,
    });
    held.release();
    const resultA = await answerA;
    stopCapture();

    // Assess: both answered as expected, and each printed its refusal once.
    expect(resultA.status).toBe(404);
    expect(answerB.status).toBe(401);
    const lines = logLines().filter((line) => line.message === 'Request refused');
    const lineA = lines.filter((line) => line.statusCode === 404);
    const lineB = lines.filter((line) => line.statusCode === 401);
    expect(lineA).toHaveLength(1);
    expect(lineB).toHaveLength(1);

    // A's line: its own function, operation, principal and correlation id, although B started
    // and ended (and reset its keys) while A was waiting.
    expect(lineA[0]).toMatchObject({
      function_name: 'vaultpilot-local-secrets',
      operation: 'readSecret',
      tenant: 'default',
      principalKind: 'user',
      correlation_id: CORRELATION_A,
    });

    // B's line: its own function and operation, and nothing of A (B never got a principal, and
    // failed before its correlation id was appended).
    expect(lineB[0]).toMatchObject({
      function_name: 'vaultpilot-local-credentials',
      operation: 'listCredentials',
    });
    for (const key of ['tenant', 'principalKind', 'subject', 'correlation_id']) {
      expect(lineB[0]).not.toHaveProperty(key);
    }
    // Each request was its own invocation, with its own request id.
    expect(lineA[0]?.function_request_id).toEqual(expect.any(String));
    expect(lineB[0]?.function_request_id).toEqual(expect.any(String));
    expect(lineA[0]?.function_request_id).not.toBe(lineB[0]?.function_request_id);
  }, 30_000);
});
