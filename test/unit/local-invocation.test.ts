/**
 * The local runtime's invocations (lambdas/local/invocation.ts) as Lambda runs concurrent ones:
 * each in an invoke-store context of its own, holding its request id, so the shared Powertools
 * logger keeps each invocation's keys and Lambda context apart. Two scheduled engine runs (the
 * real engine handler and logger) overlap here: the first waits while the second runs to its end.
 */
import { InvokeStore } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvocationIsolation, invoke } from '../../lambdas/local/invocation.js';
import { lambdaContext } from '../../lambdas/local/lambda-context.js';
import type { EngineLambda } from '../../lambdas/shared/engine-handler.js';

const captured: string[] = [];
const restore: (() => void)[] = [];

beforeAll(() => {
  // What the local runtime gives the functions (runtime.ts, functionEnvironment), read by the
  // logger when its module loads below.
  Object.assign(process.env, {
    AWS_LAMBDA_MAX_CONCURRENCY: '64',
    POWERTOOLS_DEV: 'false',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array, ...rest: never[]) => {
    captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return write(chunk, ...rest);
  };
  restore.push(() => {
    process.stdout.write = write;
  });
});

afterAll(() => {
  for (const undo of restore) undo();
});

function scheduledEvent(id: string): Record<string, unknown> {
  return {
    version: '0',
    id,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: '2026-12-07T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {},
  };
}

function finishedLines(): Record<string, unknown>[] {
  return captured
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.message === 'Engine run finished');
}

describe('local invocations', () => {
  it('passes the isolation check the runtime makes at start', () => {
    expect(() => checkInvocationIsolation()).not.toThrow();
  });

  it("keeps each overlapping engine run's keys and request id on its own log lines", async () => {
    // Prepare: an engine whose first run waits until the second has finished, and which notes
    // the request id the invoke store holds in each run.
    const { engineHandler } = await import('../../lambdas/shared/engine-handler.js');
    const store = await InvokeStore.getInstanceAsync();
    let releaseFirst = (): void => undefined;
    const firstMayFinish = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstStarted = (): void => undefined;
    const firstIsWaiting = new Promise<void>((resolve) => (firstStarted = resolve));
    const storedRequestIds: Record<string, string> = {};
    const handler: EngineLambda = engineHandler('discovery', async (event) => {
      storedRequestIds[event.id] = store.getRequestId();
      if (event.id === 'schedule-first') {
        firstStarted();
        await firstMayFinish;
      }
      return { run: event.id };
    });
    const contextFirst: Context = lambdaContext('vaultpilot-local-discovery', 60, 'us-east-1');
    const contextSecond: Context = lambdaContext('vaultpilot-local-discovery', 60, 'us-east-1');
    captured.length = 0;

    // Act
    const first = invoke(handler, scheduledEvent('schedule-first'), contextFirst);
    await firstIsWaiting;
    await invoke(handler, scheduledEvent('schedule-second'), contextSecond);
    releaseFirst();
    await first;

    // Assess: the second run finished first, each line with its own correlation id and request id.
    const lines = finishedLines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      engine: 'discovery',
      correlation_id: 'schedule-second',
      function_request_id: contextSecond.awsRequestId,
    });
    expect(lines[1]).toMatchObject({
      engine: 'discovery',
      correlation_id: 'schedule-first',
      function_request_id: contextFirst.awsRequestId,
    });
    expect(storedRequestIds).toEqual({
      'schedule-first': contextFirst.awsRequestId,
      'schedule-second': contextSecond.awsRequestId,
    });
    // Outside an invocation the store holds none (as between invocations in Lambda).
    expect(store.getRequestId()).toBe('-');
  });
});
