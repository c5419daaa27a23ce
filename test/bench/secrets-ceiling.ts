/**
 * The ceiling of the secrets API benchmark (secrets-api.ts): a bare `node:http` server in the
 * bench's process, with no VaultPilot code, that makes exactly the DynamoDB calls the bench
 * counted behind each API request in the same run (the same commands on the same tables, as
 * often per request, through the same DynamoDBDocumentClient), answers, and then makes the calls
 * the audit chain made off the request path, one request's at a time (as the sequencer runs). An
 * implementation that makes those calls does at least this work per request, so the ceiling's
 * ratio to the raw baseline bounds, up to the run's noise, what the API's ratio can reach without
 * fewer or cheaper calls. (Running a request's calls side by side would shorten its latency, not
 * the work: at the bench's concurrency the process is CPU-bound either way.)
 *
 * The calls are replayed from the last input the bench's call counter saw for each kind
 * (command and table), with keys moved out of every tenant's key space:
 * - PutItem: the sampled item (its attributes, index keys and size) under a new key, with the
 *   same `attribute_not_exists(pk)` condition when the sample had a condition;
 * - UpdateItem: the sampled update expression on a copy of the item it updated (copied once
 *   before the loop, one per slot), without its condition (which needs the writer's state);
 * - DeleteItem: an item this server put into that table a few requests earlier;
 * - reads (GetItem, Query): the sampled input as it was, reading the same items; BatchGetItem:
 *   the largest sampled batch cut to the mean keys per call (a batch grows with the backlog).
 * Calls of one request run one after another, as the use cases make them. Moved items keep their
 * other attributes, index keys included, so they land in the same indexes as ours (and show in
 * this in-memory runtime's index queries until it stops: the bench reads none after this).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  DeleteCommand,
  type DeleteCommandInput,
  type DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';

/** One kind of DynamoDB call (a command on a table): how often it was made, and the last input. */
export interface CallKind {
  readonly command: string;
  readonly table: string;
  count: number;
  /** Keys read over all calls of this kind (batch reads: their size varies from call to call). */
  keys: number;
  /**
   * The last input seen, by reference (not copied: the counter runs inside the measured loops);
   * for a batch read, the one with the most keys, cut to the mean at replay.
   */
  sample: unknown;
}

/** Keys a batch read asks for, over all its tables. */
function batchKeys(input: unknown): number {
  const { RequestItems } = input as { RequestItems?: Record<string, { Keys?: readonly unknown[] }> };
  return Object.values(RequestItems ?? {}).reduce((sum, { Keys }) => sum + (Keys?.length ?? 0), 0);
}

/** Kinds of call by `<command> <table>`, in the order they were first seen. */
export type CallKinds = Map<string, CallKind>;

/** Records one call of `command` with `input` (the document client's input, before marshalling). */
export function recordCallKind(kinds: CallKinds, command: string, input: unknown): void {
  const { TableName, RequestItems } = input as { TableName?: unknown; RequestItems?: object };
  const table =
    typeof TableName === 'string'
      ? TableName
      : Object.keys(RequestItems ?? {})
          .sort()
          .join('+') || '?';
  const key = `${command} ${table}`;
  const keys = command === 'BatchGetItem' ? batchKeys(input) : 0;
  const kind = kinds.get(key);
  if (kind === undefined) kinds.set(key, { command, table, count: 1, keys, sample: input });
  else {
    kind.count += 1;
    kind.keys += keys;
    if (command !== 'BatchGetItem' || keys >= batchKeys(kind.sample)) kind.sample = input;
  }
}

/** A copy of the kinds as they are now (the counter goes on counting into the original). */
export function snapshot(kinds: CallKinds): CallKinds {
  return new Map([...kinds].map(([key, kind]) => [key, { ...kind }]));
}

/** What one ceiling request does: its calls before the answer, then the ones after it. */
export interface CeilingPlan {
  readonly requestPath: readonly PlannedCall[];
  readonly offPath: readonly PlannedCall[];
  /** The answer's body (the API's answer's length, no secret in it). */
  readonly body: string;
}

interface PlannedCall {
  readonly kind: CallKind;
  /** Calls of this kind per request, as measured (e.g. 0.09: request n makes one when the running sum passes a whole number). */
  readonly perRequest: number;
}

/** The plan from the kinds counted over so many API requests (request path and off it). */
export function planFrom(
  requestPath: { readonly kinds: CallKinds; readonly requests: number },
  offPath: { readonly kinds: CallKinds; readonly requests: number },
  bodyBytes: number,
): CeilingPlan {
  const planned = ({ kinds, requests }: { kinds: CallKinds; requests: number }): PlannedCall[] =>
    [...kinds.values()].map((kind) => ({ kind, perRequest: kind.count / requests }));
  return {
    requestPath: planned(requestPath),
    offPath: planned(offPath),
    body: JSON.stringify({ data: 'x'.repeat(Math.max(0, bodyBytes - 11)) }),
  };
}

/** The mix a plan makes, for the report: `BatchGetItem 1.00 (vp-secrets), PutItem 1.00 (vp-audit)`. */
export function describeMix(calls: readonly PlannedCall[]): string {
  const keys = (kind: CallKind): string =>
    kind.command === 'BatchGetItem' ? `, ${meanKeys(kind)} keys a call` : '';
  return calls
    .map(({ kind, perRequest }) => `${kind.command} ${perRequest.toFixed(2)} (${kind.table}${keys(kind)})`)
    .join(', ');
}

/**
 * Calls by command that `requests` requests of a plan make (request path, off it), for checking
 * what the ceiling was counted making against what it was meant to make.
 */
export function plannedCounts(
  plan: CeilingPlan,
  requests: number,
): { requestPath: Map<string, number>; offPath: Map<string, number> } {
  const byCommand = (calls: readonly PlannedCall[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const { kind, perRequest } of calls) {
      counts.set(kind.command, (counts.get(kind.command) ?? 0) + Math.floor(requests * perRequest + 1e-9));
    }
    return counts;
  };
  return { requestPath: byCommand(plan.requestPath), offPath: byCommand(plan.offPath) };
}

/** The mean keys per call of a batch read, whole (at least 1). */
function meanKeys(kind: CallKind): number {
  return Math.max(1, Math.round(kind.keys / kind.count));
}

/**
 * A batch read's sampled input cut to the mean keys per call (the sample is the largest batch
 * seen, so it holds that many; a single-table batch, as every one we make).
 */
function meanBatch(kind: CallKind): BatchGetCommandInput {
  const input = kind.sample as BatchGetCommandInput;
  const tables = Object.entries(input.RequestItems ?? {});
  const [only] = tables;
  if (tables.length !== 1 || only === undefined) return input;
  const [table, request] = only;
  return {
    ...input,
    RequestItems: { [table]: { ...request, Keys: request.Keys?.slice(0, meanKeys(kind)) } },
  };
}

/** How many calls of a kind request `n` makes, so that requests 0..n-1 make floor(n × perRequest). */
function callsAt(n: number, perRequest: number): number {
  // The small epsilon keeps 1.00 measured as 0.99999… from skipping a call.
  return Math.floor((n + 1) * perRequest + 1e-9) - Math.floor(n * perRequest + 1e-9);
}

/** Outside every tenant's key space (`<tenant>#…`; a tenant has no `~`). */
const CEILING_TENANT = '~bench-ceiling';
/** Slots the ceiling's keys cycle through (the bench's write paths). */
const SLOTS = 32;
/** A DeleteItem removes an item this server put that many puts earlier (older ones are done). */
const DELETE_LAG = 16;

/** Moves a key attribute `<tenant>#<rest>` to the ceiling's `~bench-ceiling-<slot>#<rest>`. */
function moved(value: unknown, slot: number): string {
  if (typeof value !== 'string') throw new Error(`A sampled key is not a string: ${typeof value}`);
  const hash = value.indexOf('#');
  return `${CEILING_TENANT}-${slot}${hash < 0 ? `#${value}` : value.slice(hash)}`;
}

/** Names (`#x`) and values (`:x`) an expression uses. */
function placeholders(expression: string): Set<string> {
  return new Set(expression.match(/[#:][A-Za-z0-9_]+/g) ?? []);
}

function only<T>(entries: Record<string, T> | undefined, used: Set<string>): Record<string, T> | undefined {
  if (entries === undefined) return undefined;
  const kept = Object.entries(entries).filter(([name]) => used.has(name));
  return kept.length === 0 ? undefined : Object.fromEntries(kept);
}

export interface CeilingServer {
  readonly url: string;
  /** Waits for every off-path call started so far; throws the first that failed. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Copies, once per slot, each item an UpdateItem of the plans updates (read by its sampled key),
 * so that the replayed update expression finds the same item shape (its nested maps) it found.
 */
async function seedUpdates(client: DynamoDBDocumentClient, plans: readonly CeilingPlan[]): Promise<void> {
  for (const { kind } of plans.flatMap((plan) => [...plan.requestPath, ...plan.offPath])) {
    if (kind.command !== 'UpdateItem') continue;
    const sample = kind.sample as UpdateCommandInput;
    const { Item } = await client.send(
      new GetCommand({ TableName: sample.TableName, Key: sample.Key, ConsistentRead: true }),
    );
    if (Item === undefined) throw new Error(`The item a sampled UpdateItem on ${kind.table} updated is gone`);
    for (let slot = 0; slot < SLOTS; slot += 1) {
      const key = { pk: moved(sample.Key?.pk, slot), sk: sample.Key?.sk };
      await client.send(new PutCommand({ TableName: sample.TableName, Item: { ...Item, ...key } }));
    }
  }
}

/**
 * Starts the ceiling server on a free loopback port: `GET` runs `read`, any other method (after
 * reading the body) runs `write`. A failed request-path call answers 500, which the bench's loop
 * treats as a failure; a failed off-path call fails `settled()`.
 */
export async function startCeilingServer(
  client: DynamoDBDocumentClient,
  plans: { readonly read: CeilingPlan; readonly write: CeilingPlan },
): Promise<CeilingServer> {
  await seedUpdates(client, [plans.read, plans.write]);
  const putKeys = new Map<string, { pk: string; sk: string }[]>();
  let puts = 0;
  const counters = { read: 0, write: 0 };

  const replay = async (kind: CallKind, slot: number): Promise<void> => {
    const { command, sample } = kind;
    switch (command) {
      case 'PutItem': {
        const input = sample as PutCommandInput;
        puts += 1;
        const key = { pk: moved(input.Item?.pk, slot), sk: `${String(input.Item?.sk)}#ceiling-${puts}` };
        await client.send(
          new PutCommand({
            TableName: input.TableName,
            Item: { ...input.Item, ...key },
            ...(input.ConditionExpression === undefined
              ? {}
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        );
        const table = String(input.TableName);
        const keys = putKeys.get(table) ?? [];
        keys.push(key);
        putKeys.set(table, keys);
        return;
      }
      case 'DeleteItem': {
        const input = sample as DeleteCommandInput;
        const keys = putKeys.get(String(input.TableName)) ?? [];
        const key =
          keys.length > DELETE_LAG
            ? keys.shift()
            : { pk: moved(input.Key?.pk, slot), sk: String(input.Key?.sk) };
        await client.send(new DeleteCommand({ TableName: input.TableName, Key: key }));
        return;
      }
      case 'UpdateItem': {
        const input = sample as UpdateCommandInput;
        const used = placeholders(input.UpdateExpression ?? '');
        await client.send(
          new UpdateCommand({
            TableName: input.TableName,
            Key: { pk: moved(input.Key?.pk, slot), sk: input.Key?.sk },
            UpdateExpression: input.UpdateExpression,
            ExpressionAttributeNames: only(input.ExpressionAttributeNames, used),
            ExpressionAttributeValues: only(input.ExpressionAttributeValues, used),
            ReturnValues: input.ReturnValues,
          }),
        );
        return;
      }
      case 'BatchGetItem':
        await client.send(new BatchGetCommand(meanBatch(kind)));
        return;
      case 'GetItem':
        await client.send(new GetCommand(sample as GetCommandInput));
        return;
      case 'Query':
        await client.send(new QueryCommand(sample as QueryCommandInput));
        return;
      default:
        throw new Error(`The ceiling has no replay for ${command}`);
    }
  };
  const run = async (calls: readonly PlannedCall[], n: number): Promise<void> => {
    for (const call of calls) {
      for (let k = callsAt(n, call.perRequest); k > 0; k -= 1) await replay(call.kind, n % SLOTS);
    }
  };

  // Off-path work runs one request's calls at a time, in order, as the audit sequencer runs one
  // append run per tenant at a time: under load it falls behind and catches up after the loop,
  // as the API's chain does (the bench lets both settle before counting).
  let offPath: Promise<void> = Promise.resolve();
  const failures: unknown[] = [];
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const which = request.method === 'GET' ? 'read' : 'write';
    // The write's body is read whole before any call, as the API reads it.
    for await (const chunk of request) void chunk;
    const plan = plans[which];
    const n = counters[which];
    counters[which] += 1;
    try {
      await run(plan.requestPath, n);
    } catch (error: unknown) {
      failures.push(error);
      response.writeHead(500).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(plan.body);
    offPath = offPath.then(() =>
      run(plan.offPath, n).catch((error: unknown) => {
        failures.push(error);
      }),
    );
  };
  const server: Server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    settled: async () => {
      let last: Promise<void> | undefined;
      while (last !== offPath) {
        last = offPath;
        await last;
      }
      if (failures.length > 0) throw new Error('A ceiling call failed', { cause: failures[0] });
    },
    close: () =>
      new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
