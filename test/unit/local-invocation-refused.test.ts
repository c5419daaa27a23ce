/**
 * The local runtime refuses to start when Lambda's invoke store of its process was created for one
 * invocation at a time before the runtime's modules loaded (as an AWS SDK call made first would
 * create it): overlapping requests would then share their log keys. Its own file, so the store
 * made here is this process's alone.
 */
import { InvokeStore } from '@aws/lambda-invoke-store';
import { describe, expect, it } from 'vitest';
import { LocalStateError } from '../../lambdas/local/local-state-error.js';

describe('local invocations after a one-at-a-time store', () => {
  it('fails the start-up check with a LocalStateError that says why', async () => {
    // Prepare: the store as the AWS SDK's first call creates it when nothing asked for more.
    delete process.env.AWS_LAMBDA_MAX_CONCURRENCY;
    await InvokeStore.getInstanceAsync();
    const { checkInvocationIsolation } = await import('../../lambdas/local/invocation.js');

    // Act
    let refusal: unknown;
    try {
      checkInvocationIsolation();
    } catch (error: unknown) {
      refusal = error;
    }

    // Assess
    expect(refusal).toBeInstanceOf(LocalStateError);
    expect((refusal as Error).message).toMatch(/cannot keep concurrent invocations apart/);
  });
});
