/**
 * The one way the DynamoDB adapters read a Query or Scan page by page: lib-dynamodb's
 * `paginateQuery` / `paginateScan`, with a refused page read mapped to
 * `DependencyUnavailableError` (`dynamoDbUnavailable`) as every other DynamoDB call is.
 *
 * Why a wrapper and not the paginator alone: the paginator throws the SDK's error out of the
 * caller's `for await`, so a `try`/`catch` around the loop would also turn the caller's own
 * errors (an item that does not parse, a refused delete it already mapped) into a 503. Here only
 * the page read is mapped. Breaking out of the loop stops the reading: the next page is only
 * requested when the loop asks for it.
 */
import {
  type DynamoDBDocumentClient,
  paginateQuery,
  paginateScan,
  type QueryCommandInput,
  type QueryCommandOutput,
  type ScanCommandInput,
  type ScanCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { dynamoDbUnavailable } from './dynamodb-errors.js';

/**
 * Every page of a Query, in order, from `input.ExclusiveStartKey` on when it is set; `Limit` is
 * the page size. `what` names the table's role in the error that says it is unavailable.
 */
export function queryPages(
  client: DynamoDBDocumentClient,
  input: QueryCommandInput,
  what: string,
): AsyncGenerator<QueryCommandOutput, void, undefined> {
  // A copy: the paginator writes each page's ExclusiveStartKey into the input it is given.
  return unavailableOnRefusal(paginateQuery({ client }, { ...input }), 'Query', what);
}

/** Every page of a Scan; as `queryPages`. */
export function scanPages(
  client: DynamoDBDocumentClient,
  input: ScanCommandInput,
  what: string,
): AsyncGenerator<ScanCommandOutput, void, undefined> {
  return unavailableOnRefusal(paginateScan({ client }, { ...input }), 'Scan', what);
}

async function* unavailableOnRefusal<Page>(
  pages: AsyncGenerator<Page, unknown, unknown>,
  operation: string,
  what: string,
): AsyncGenerator<Page, void, undefined> {
  try {
    for (;;) {
      let next: IteratorResult<Page, unknown>;
      try {
        next = await pages.next();
      } catch (error: unknown) {
        throw dynamoDbUnavailable(operation, what, error);
      }
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    // The caller stopped early (or a read failed): end the paginator too.
    await pages.return(undefined);
  }
}
