import { DependencyUnavailableError } from '../../core/errors.js';

/** Worth retrying soon; any other failure gets a longer Retry-After. */
const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
]);

/** The conditional write lost: the item is not in the state the condition asked for. */
export function isConditionalCheckFailed(error: unknown): boolean {
  // By name, not `instanceof`: the class may come from another copy of the SDK.
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * Maps anything DynamoDB threw to `DependencyUnavailableError` (503, fail closed). The message
 * names the table's role only; the operation and SDK error go to the logs (`diagnostic`), and
 * never an item's content.
 */
export function dynamoDbUnavailable(
  operation: string,
  what: string,
  error: unknown,
): DependencyUnavailableError {
  const name = error instanceof Error ? error.name : 'UnknownError';
  return new DependencyUnavailableError(
    `The ${what} is unavailable; retry shortly`,
    THROTTLING_ERRORS.has(name) ? 1 : 5,
    {
      cause: error,
      diagnostic: `DynamoDB ${operation}: ${name}`,
    },
  );
}
