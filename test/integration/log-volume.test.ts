/**
 * Log volume under load (issue 11, item 5): a few hundred mixed requests, several in flight at
 * once, through the local runtime at the default log level. Everything the handlers write to
 * stdout and stderr (their Powertools logger and metrics) is captured: no Powertools warning
 * appears, and the bytes per request stay under a few hundred.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { type ApiAnswer, apiCall, signInLocal, startInMemoryRuntime } from '../support/local-api.js';
import { captureProcessOutput } from '../support/process-output.js';

const PASSWORD = 'integration-password-123';
const REQUESTS = 400;
const IN_FLIGHT = 8;
/** Bytes per request the handlers may write on average at the default level. */
const BUDGET_PER_REQUEST = 300;

let runtime: LocalRuntime;
const tokens: Record<string, string> = {};
const captured: string[] = [];
/** Stops capturing the process's output (idempotent; afterAll calls it too, should the test fail). */
let stopCapture = (): void => undefined;

beforeAll(async () => {
  // The default level: whatever a deployment runs with when nobody sets one.
  delete process.env.POWERTOOLS_LOG_LEVEL;
  delete process.env.AWS_LAMBDA_LOG_LEVEL;
  runtime = await startInMemoryRuntime({ adminPassword: PASSWORD });
  await runtime.identity.addUser({
    username: 'vera',
    password: PASSWORD,
    tenant: 'default',
    groups: ['viewer'],
  });
  tokens.admin = await signInLocal(runtime.url, 'admin', PASSWORD);
  tokens.vera = await signInLocal(runtime.url, 'vera', PASSWORD);
}, 60_000);

afterAll(async () => {
  stopCapture();
  await runtime?.stop();
});

/** The i-th request of the mix: writes, reads, lists, and the usual refusals (400, 403, 404). */
function request(index: number): Promise<ApiAnswer> {
  const path = `load/app-${index % 20}/db`;
  const call = (who: string, method: string, route: string, body?: unknown) =>
    apiCall(runtime.url, tokens[who], method, route, body);
  switch (index % 8) {
    case 0:
      return call('admin', 'POST', `/secrets/data/${path}`, { data: { password: `value-${index}` } });
    case 1:
      return call('admin', 'GET', `/secrets/data/${path}`);
    case 2:
      return call('admin', 'GET', '/secrets/metadata/load?list=true');
    case 3:
      return call('vera', 'GET', `/secrets/data/${path}`);
    case 4:
      return call('admin', 'GET', `/secrets/data/load/missing-${index}`);
    case 5:
      return call('admin', 'GET', '/credentials');
    case 6:
      return call('admin', 'POST', `/secrets/data/${path}`, { data: 'not an object' });
    default:
      return call('admin', 'GET', '/me');
  }
}

describe('log volume under load', () => {
  it(`stays under ${BUDGET_PER_REQUEST} bytes per request with no Powertools warning`, async () => {
    // Prepare: the first write of each path, so reads find something.
    for (let index = 0; index < 20 * 8; index += 8) await request(index);

    // Act
    stopCapture = captureProcessOutput(captured);
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < REQUESTS) {
          const index = next;
          next += 1;
          statuses.push((await request(index)).status);
        }
      }),
    );
    stopCapture();

    // Assess: the mix really ran (successes and each kind of refusal), then the volume.
    expect(statuses).toHaveLength(REQUESTS);
    for (const status of [200, 400, 403, 404]) expect(statuses).toContain(status);
    const output = captured.join('');
    expect(output).not.toContain('has already been added');
    expect(output).not.toContain('No application metrics to publish');
    const perRequest = Buffer.byteLength(output, 'utf8') / REQUESTS;
    console.info(
      `log bytes per request: ${perRequest.toFixed(1)} (${REQUESTS} requests, ${IN_FLIGHT} in flight)`,
    );
    expect(perRequest).toBeLessThan(BUDGET_PER_REQUEST);
  }, 120_000);
});
