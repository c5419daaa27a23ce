/**
 * Runs a function's handler as one invocation, the way Lambda's Node.js runtime runs invocations
 * that share an execution environment (Lambda Managed Instances): each inside its own context of
 * Lambda's invoke store (`@aws/lambda-invoke-store`, backed by AsyncLocalStorage), which carries
 * the request id. With AWS_LAMBDA_MAX_CONCURRENCY set (the runtime's function environment),
 * Powertools keeps each invocation's logger keys, Lambda context and log level in that context, so
 * requests that overlap in the one local process never print or reset each other's. The handlers
 * stay exactly as AWS runs them.
 */
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';
import { LocalStateError } from './local-state-error.js';

// Lambda's runtime creates the store before it loads a handler. Here it is created as the local
// runtime's modules load, before anything else in the process can ask for it first: the AWS SDK
// asks on its first call, and unforced would get a store that holds one invocation at a time.
const store = await InvokeStore.getInstanceAsync(true);

/**
 * Whether Powertools will find this store and each `run` gets a context of its own that ends with
 * it. Not so when something created a one-at-a-time store before this module loaded, or when
 * AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA keeps the store off `globalThis.awslambda`.
 */
function keepsInvocationsApart(): boolean {
  const shared = (globalThis as { awslambda?: { InvokeStore?: unknown } }).awslambda?.InvokeStore;
  const probe = {};
  const inside = store.run(probe, () => store.getContext() === probe);
  return shared === store && inside && store.getContext() !== probe;
}

/**
 * Refuses to start when invocations could not be kept apart: the logs of overlapping requests
 * would then carry each other's keys, which an audit product must not print.
 */
export function checkInvocationIsolation(): void {
  if (!keepsInvocationsApart()) {
    throw new LocalStateError(
      "Lambda's invoke store in this process cannot keep concurrent invocations apart: an AWS SDK call " +
        "made it before the local runtime's modules loaded, or AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA is " +
        'set. Load the local runtime before any AWS SDK call of the process, and unset that variable',
    );
  }
}

/** Calls the handler as one invocation, in a store context of its own holding its request id. */
export function invoke<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
  event: E,
  context: Context,
): Promise<R> {
  return store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId }, () =>
    handler(event, context),
  );
}
