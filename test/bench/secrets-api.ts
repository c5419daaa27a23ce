/**
 * The secrets API on the local runtime (in memory): read and write requests/s and p50/p99
 * latency of 1 KiB values, next to raw GetItem/PutItem of items of the same size against the same
 * dynalite endpoint through the runtime's own DynamoDBDocumentClient, at the same concurrency,
 * as ratios, with the DynamoDB calls behind each request (writes counted under the same
 * concurrency and again one at a time, where no writer loses a race on a version number: the
 * steady state); a CEILING for reads and writes, a bare node:http server making the same calls
 * (secrets-ceiling.ts); then how many keyring (KMS-equivalent) calls 1,000 reads of one hot secret cost.
 *
 * The runtime runs its handlers in this process, so the keyring calls are counted on the keyring
 * the secrets function really builds (FileKeyring's prototype, spied before the runtime starts and
 * restored after), and the DynamoDB calls behind each request by a middleware on the secrets function's
 * client. Every loop is bounded in count; no value is ever printed. run.ts silences the handlers'
 * logs and metrics before this module (and the lambdas/ modules it loads) is imported.
 */
import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbSecretStore } from '../../lambdas/adapters/aws/dynamodb-secret-store.js';
import { FileKeyring } from '../../lambdas/adapters/local/file-keyring.js';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { secrets } from '../../lambdas/functions/secrets/compose.js';
import { MAX_POLICY_STALENESS_MS } from '../../lambdas/core/access/policy-cache.js';
import { DEFAULT_DATA_KEY_CACHE } from '../../lambdas/core/secrets/data-key-cache.js';
import { DEFAULT_MAX_VERSIONS } from '../../lambdas/core/secrets/secret-store.js';
import { signInLocal, startInMemoryRuntime } from '../support/local-api.js';
import {
  type CallKinds,
  type CeilingServer,
  describeMix,
  planFrom,
  plannedCounts,
  recordCallKind,
  snapshot,
  startCeilingServer,
} from './secrets-ceiling.js';

export interface SecretsApiBenchOptions {
  /** Requests in the measured read loops (API and raw GetItem). */
  readonly reads: number;
  /** Requests in the measured write loops (API and raw PutItem). */
  readonly writes: number;
  /** Requests in flight at once, for the API and the raw baseline alike. */
  readonly concurrency: number;
}

/** Paths the write loop cycles through; each gets many versions, so maxVersions pruning runs. */
const WRITE_PATHS = Number(process.env.BENCH_WRITE_PATHS ?? 32);
const HOT_READS = 1000;
const WARM_UP = 50;
const TENANT = 'default';
const HOT_PATH = 'bench/hot';
const PASSWORD = 'bench-password-0123456789';
/** Outside every tenant's key space (`<tenant>#<path>`, and a tenant has no `~`). */
const RAW_PARTITION = '~bench-raw';

/** Makes calls 0..count-1 with at most `concurrency` in flight. */
export async function bounded(
  count: number,
  concurrency: number,
  call: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next;
      next += 1;
      await call(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

interface Loop {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  /** Calls made, warm-up included. */
  readonly calls: number;
  /** How long the measured calls took (the warm-up not included). */
  readonly seconds: number;
}

/**
 * Runs `count` calls with `concurrency` in flight, timing each one, after a short sequential
 * warm-up (JIT, connections, caches) whose calls get negative indexes.
 */
async function loop(count: number, concurrency: number, call: (i: number) => Promise<void>): Promise<Loop> {
  const warmUp = Math.min(WARM_UP, count);
  for (let i = 0; i < warmUp; i += 1) await call(-1 - i);
  const latencies = new Float64Array(count);
  const started = performance.now();
  await bounded(count, concurrency, async (i) => {
    const callStarted = performance.now();
    await call(i);
    latencies[i] = performance.now() - callStarted;
  });
  const seconds = (performance.now() - started) / 1000;
  latencies.sort();
  const at = (q: number): number => latencies[Math.min(count - 1, Math.ceil(q * count) - 1)] ?? NaN;
  return { rate: count / seconds, p50: at(0.5), p99: at(0.99), calls: count + warmUp, seconds };
}

/** A 1 KiB secret value: one string field of 1,024 random base64 characters. */
function secretValue(): Record<string, string> {
  return { value: randomBytes(768).toString('base64') };
}

interface KeyringCalls {
  generate: number;
  unwrap: number;
  rewrap: number;
}

/**
 * Counts the calls on every FileKeyring (the local platform builds one per process).
 * Returns the counters and a function that puts the original methods back.
 */
function spyOnFileKeyring(): { calls: KeyringCalls; restore: () => void } {
  const calls: KeyringCalls = { generate: 0, unwrap: 0, rewrap: 0 };
  const prototype = FileKeyring.prototype;
  const { generateDataKey, unwrapDataKey, rewrapDataKey } = prototype;
  prototype.generateDataKey = function (this: FileKeyring, ...args) {
    calls.generate += 1;
    return generateDataKey.apply(this, args);
  };
  prototype.unwrapDataKey = function (this: FileKeyring, ...args) {
    calls.unwrap += 1;
    return unwrapDataKey.apply(this, args);
  };
  prototype.rewrapDataKey = function (this: FileKeyring, ...args) {
    calls.rewrap += 1;
    return rewrapDataKey.apply(this, args);
  };
  return {
    calls,
    restore: () => Object.assign(prototype, { generateDataKey, unwrapDataKey, rewrapDataKey }),
  };
}

function resetCounts(calls: KeyringCalls): void {
  Object.assign(calls, { generate: 0, unwrap: 0, rewrap: 0 });
}

const COUNTER_NAME = 'benchDynamoDbCallCounter';

/** Key prefixes of the audit chain's items (entries, "chained" markers): the sequencer's work. */
const CHAIN_KEY = /#chain(ed)?"/;

/**
 * Counts the commands sent through the client, by name (GetItem, Query, PutItem, ...), in two
 * groups: the audit chain's appends (their keys name `<tenant>#chain` or `#chained`), which run
 * right after the response, off the request path, and everything else, which the request waits on.
 * The same two groups are also kept by kind (command and table) with the last input of each, which
 * the ceiling replays (secrets-ceiling.ts).
 */
function countDynamoDbCalls(
  client: DynamoDBDocumentClient,
  settingsTable: string,
): {
  request: Map<string, number>;
  chain: Map<string, number>;
  policies: Map<string, number>;
  kinds: { request: CallKinds; chain: CallKinds };
} {
  const counts = {
    request: new Map<string, number>(),
    chain: new Map<string, number>(),
    policies: new Map<string, number>(),
    kinds: { request: new Map() as CallKinds, chain: new Map() as CallKinds },
  };
  client.middlewareStack.add(
    (next, context) => (args) => {
      const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
      const input = args.input as { TableName?: unknown };
      const group =
        input.TableName === settingsTable
          ? counts.policies
          : CHAIN_KEY.test(JSON.stringify(args.input))
            ? counts.chain
            : counts.request;
      group.set(name, (group.get(name) ?? 0) + 1);
      if (group === counts.request) recordCallKind(counts.kinds.request, name, args.input);
      else if (group === counts.chain) recordCallKind(counts.kinds.chain, name, args.input);
      return next(args);
    },
    { step: 'initialize', name: COUNTER_NAME },
  );
  return counts;
}

function total(counts: Map<string, number>): number {
  return [...counts.values()].reduce((sum, n) => sum + n, 0);
}

function perRequest(counts: Map<string, number>, requests: number): string {
  const parts = [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${(n / requests).toFixed(2)}`);
  return `${(total(counts) / requests).toFixed(2)} (${parts.join(', ')})`;
}

export async function runSecretsApiBench({
  reads,
  writes,
  concurrency,
}: SecretsApiBenchOptions): Promise<void> {
  for (const [name, value, max] of [
    ['reads', reads, 1e6],
    ['writes', writes, 1e6],
    ['concurrency', concurrency, 1000],
    ['BENCH_WRITE_PATHS', WRITE_PATHS, 99],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new RangeError(`The secrets API benchmark needs ${name} between 1 and ${max}, got ${value}`);
    }
  }
  const keyring = spyOnFileKeyring();
  let runtime: LocalRuntime | undefined;
  let counted: DynamoDBDocumentClient | undefined;
  let ceiling: CeilingServer | undefined;
  try {
    runtime = await startInMemoryRuntime({
      adminPassword: PASSWORD,
      log: { info: () => undefined, error: (message) => console.error(message) },
    });
    const { url } = runtime;
    const auth = { authorization: `Bearer ${await signInLocal(url, 'admin', PASSWORD)}` };

    // The secrets function's composition: the same DynamoDB client, configuration and keyring it uses.
    const { dynamodb, config } = secrets();
    const table = config.tables.secrets;
    const settingsTable = config.tables.settings;
    if (config.keyring.kind !== 'local' || table === undefined || settingsTable === undefined) {
      throw new Error(
        'The local runtime should use the local keyring and name the secrets and settings tables',
      );
    }
    const dynamoCalls = countDynamoDbCalls(dynamodb, settingsTable);
    counted = dynamodb;

    // The answers' sizes, for the ceiling's answers (the last one of each is kept).
    const answerBytes = { read: 0, write: 0 };
    const readFrom =
      (base: string) =>
      async (path: string): Promise<void> => {
        const response = await fetch(`${base}/secrets/data/${path}`, { headers: auth });
        answerBytes.read = (await response.arrayBuffer()).byteLength;
        if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
      };
    const writeTo =
      (base: string) =>
      async (path: string): Promise<void> => {
        const response = await fetch(`${base}/secrets/data/${path}`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ data: secretValue() }),
        });
        answerBytes.write = (await response.arrayBuffer()).byteLength;
        if (response.status !== 200) throw new Error(`POST ${path} answered ${response.status}`);
      };
    const read = readFrom(url);
    const write = writeTo(url);
    // Warm-up calls pass negative indexes; they still land on one of the paths.
    const writePath = (i: number): string =>
      `bench/write-${String(((i % WRITE_PATHS) + WRITE_PATHS) % WRITE_PATHS).padStart(2, '0')}`;

    // Keyring calls of 1,000 reads of a hot secret, starting right after its write (a seal does
    // not fill the cache, so the first read unwraps), at the same concurrency as the loops below.
    await write(HOT_PATH);
    resetCounts(keyring.calls);
    await bounded(HOT_READS, concurrency, () => read(HOT_PATH));
    const hotReadCalls = { ...keyring.calls };

    // The API, reads then writes, with the DynamoDB and keyring calls behind them. Every write
    // path holds maxVersions versions first, so each measured write also prunes the oldest, as
    // in a store that has been in use for a while.
    await bounded(WRITE_PATHS * DEFAULT_MAX_VERSIONS, concurrency, (i) => write(writePath(i)));
    // The chain appends run off the request path: let each loop's finish before counting them.
    const settle = async (): Promise<void> =>
      (await import('../../lambdas/platform/index.js')).auditAppendsSettled();
    const clearCounts = (): void => {
      dynamoCalls.request.clear();
      dynamoCalls.chain.clear();
      dynamoCalls.policies.clear();
      dynamoCalls.kinds.request = new Map();
      dynamoCalls.kinds.chain = new Map();
    };
    const takeCounts = () => ({
      request: new Map(dynamoCalls.request),
      chain: new Map(dynamoCalls.chain),
      policies: new Map(dynamoCalls.policies),
      kinds: { request: snapshot(dynamoCalls.kinds.request), chain: snapshot(dynamoCalls.kinds.chain) },
    });
    await settle();
    clearCounts();
    // How long each loop's off-path chain work runs on after its last answer (timed, printed).
    const lagged = async (wait: () => Promise<void>): Promise<number> => {
      const started = performance.now();
      await wait();
      return (performance.now() - started) / 1000;
    };
    const apiRead = await loop(reads, concurrency, () => read(HOT_PATH));
    const apiReadLag = await lagged(settle);
    const readCalls = takeCounts();
    clearCounts();
    resetCounts(keyring.calls);
    const apiWrite = await loop(writes, concurrency, (i) => write(writePath(i)));
    const apiWriteLag = await lagged(settle);
    const writeCalls = takeCounts();
    const writeKeyringCalls = { ...keyring.calls };
    // The same writes one at a time: no writer can lose a race on a version number, so this is
    // the steady state the calls-per-write goal speaks of; the loop above shows what lost races
    // add under contention (each re-reads the latest version and puts again).
    clearCounts();
    const soloWrites = WRITE_PATHS * 2;
    const soloStarted = performance.now();
    for (let i = 0; i < soloWrites; i += 1) await write(writePath(i));
    const soloSeconds = (performance.now() - soloStarted) / 1000;
    await settle();
    const soloWriteCalls = takeCounts();

    // The baseline: items shaped and sized like the stored version item of the hot secret,
    // under keys no tenant can have, in the same table, through the very same client.
    const stored = await dynamodb.send(
      new GetCommand({
        TableName: table,
        Key: {
          pk: DynamoDbSecretStore.partitionKey(TENANT, HOT_PATH),
          sk: DynamoDbSecretStore.versionSortKey(1),
        },
      }),
    );
    if (stored.Item === undefined) throw new Error('The hot secret has no version 1 item');
    const itemBytes = Buffer.byteLength(JSON.stringify(stored.Item));
    const rawKey = (i: number) => ({
      pk: `${RAW_PARTITION}#${writePath(i)}`,
      sk: DynamoDbSecretStore.versionSortKey(i + WARM_UP + 1),
    });
    const rawPut = await loop(writes, concurrency, async (i) => {
      await dynamodb.send(new PutCommand({ TableName: table, Item: { ...stored.Item, ...rawKey(i) } }));
    });
    const rawGet = await loop(reads, concurrency, async (i) => {
      const key = rawKey(Math.max(i, 0) % writes);
      const { Item } = await dynamodb.send(new GetCommand({ TableName: table, Key: key }));
      if (Item === undefined) throw new Error('An item the PutItem loop wrote is missing');
    });

    // The ceiling: a bare node:http server making the calls counted above, no VaultPilot code.
    // Reads as in the read loop; writes as one at a time on the request path (the steady state,
    // no lost races) and as in the write loop off it (the chain batches as it does under load).
    const readPlan = planFrom(
      { kinds: readCalls.kinds.request, requests: apiRead.calls },
      { kinds: readCalls.kinds.chain, requests: apiRead.calls },
      answerBytes.read,
    );
    const writePlan = planFrom(
      { kinds: soloWriteCalls.kinds.request, requests: soloWrites },
      { kinds: writeCalls.kinds.chain, requests: apiWrite.calls },
      answerBytes.write,
    );
    ceiling = await startCeilingServer(dynamodb, { read: readPlan, write: writePlan });
    const ceilingServer = ceiling;
    clearCounts();
    const ceilingRead = await loop(reads, concurrency, () => readFrom(ceilingServer.url)(HOT_PATH));
    const ceilingReadLag = await lagged(() => ceilingServer.settled());
    const ceilingReadCalls = takeCounts();
    clearCounts();
    const ceilingWrite = await loop(writes, concurrency, (i) => writeTo(ceilingServer.url)(writePath(i)));
    const ceilingWriteLag = await lagged(() => ceilingServer.settled());
    const ceilingWriteCalls = takeCounts();

    console.log(
      `secrets API on the local runtime (dynalite in memory), 1 KiB values (${itemBytes} B items), ` +
        `concurrency ${concurrency}`,
    );
    console.log(
      `  ${''.padEnd(44)} ${'requests'.padStart(8)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(8)} ` +
        `${'p99 ms'.padStart(8)}   ratio`,
    );
    const rows = [
      ['read:  raw GetItem (DynamoDBDocumentClient)', rawGet, rawGet, reads],
      ['read:  GET /secrets/data/{path}', apiRead, rawGet, reads],
      ['read:  CEILING, node:http + the same calls', ceilingRead, rawGet, reads],
      ['write: raw PutItem (DynamoDBDocumentClient)', rawPut, rawPut, writes],
      [`write: POST /secrets/data/{path}, ${WRITE_PATHS} paths`, apiWrite, rawPut, writes],
      ['write: CEILING, node:http + the same calls', ceilingWrite, rawPut, writes],
    ] as const;
    for (const [name, measured, base, count] of rows) {
      console.log(
        `  ${name.padEnd(44)} ${String(count).padStart(8)} ${measured.rate.toFixed(0).padStart(7)} ` +
          `${measured.p50.toFixed(2).padStart(8)} ${measured.p99.toFixed(2).padStart(8)}   ` +
          `${(measured.rate / base.rate).toFixed(3)}`,
      );
    }
    console.log(`  DynamoDB calls per API read:  ${perRequest(readCalls.request, apiRead.calls)}`);
    console.log(`    + audit chain, off the request path: ${perRequest(readCalls.chain, apiRead.calls)}`);
    console.log(
      `  DynamoDB calls per API write, ${concurrency} writers: ${perRequest(writeCalls.request, apiWrite.calls)}`,
    );
    console.log(`    + audit chain, off the request path: ${perRequest(writeCalls.chain, apiWrite.calls)}`);
    console.log(
      `  DynamoDB calls per API write, one at a time (${soloWrites} writes): ` +
        perRequest(soloWriteCalls.request, soloWrites),
    );
    // The tenant's policy attachments are cached for at most MAX_POLICY_STALENESS_MS: their
    // refresh (the settings table's Queries) comes once per interval, whatever the request rate,
    // so it is counted apart, as calls per loop.
    const refreshes = (group: Map<string, number>, seconds: number): string =>
      `${total(group)} in ${seconds.toFixed(1)} s`;
    console.log(
      `  policy attachments, cached <= ${MAX_POLICY_STALENESS_MS / 1000} s (settings-table calls a loop, ` +
        `not per request): reads ${refreshes(readCalls.policies, apiRead.seconds)}, ` +
        `writes ${refreshes(writeCalls.policies, apiWrite.seconds)}, one at a time ` +
        refreshes(soloWriteCalls.policies, soloSeconds),
    );
    const readRatio = apiRead.rate / rawGet.rate;
    const writeRatio = apiWrite.rate / rawPut.rate;
    const callsPerWrite = total(soloWriteCalls.request) / soloWrites;
    const callsPerContendedWrite = total(writeCalls.request) / apiWrite.calls;
    const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
    console.log(
      `  goals: read >= 0.45 x raw GetItem (${readRatio.toFixed(3)}, ${verdict(readRatio >= 0.45)}), ` +
        `read p99 <= 3 x p50 (${(apiRead.p99 / apiRead.p50).toFixed(2)}, ${verdict(apiRead.p99 <= 3 * apiRead.p50)}), ` +
        `write >= 0.2 x raw PutItem (${writeRatio.toFixed(3)}, ${verdict(writeRatio >= 0.2)}), ` +
        `calls per write on the request path in the steady state <= 6 (${callsPerWrite.toFixed(2)}, ` +
        `${verdict(callsPerWrite <= 6)}; ${callsPerContendedWrite.toFixed(2)} with ${concurrency} writers racing)`,
    );
    console.log(
      `  (writes cycle over ${WRITE_PATHS} paths that already hold maxVersions = ${DEFAULT_MAX_VERSIONS} ` +
        `versions, so each one also prunes the oldest)`,
    );
    // The ceilings: what these calls allow at best, next to the goals.
    console.log(
      '  CEILING: a bare node:http server in this process, no VaultPilot code, making the DynamoDB calls counted',
    );
    console.log(
      '  above through the same client (replayed from the sampled inputs, keys moved out of every tenant), then',
    );
    console.log("  answering, then making the audit chain's calls off the request path:");
    for (const [label, plan, calls, measured] of [
      ['read ', readPlan, ceilingReadCalls, ceilingRead],
      ['write', writePlan, ceilingWriteCalls, ceilingWrite],
    ] as const) {
      console.log(`    ${label} mix: ${describeMix(plan.requestPath)}`);
      console.log(`      + off the request path: ${describeMix(plan.offPath)}`);
      console.log(
        `      made (counted): ${perRequest(calls.request, measured.calls)}` +
          ` + off the path ${perRequest(calls.chain, measured.calls)}`,
      );
      // A ceiling that made other calls than planned (e.g. one counted in the wrong group) would
      // bound nothing: stop rather than print it.
      const planned = plannedCounts(plan, measured.calls);
      for (const [group, made, meant] of [
        ['request path', calls.request, planned.requestPath],
        ['off the path', calls.chain, planned.offPath],
      ] as const) {
        const same =
          made.size === meant.size && [...meant].every(([command, count]) => made.get(command) === count);
        if (!same) {
          throw new Error(
            `The ${label.trim()} ceiling's ${group} calls ${JSON.stringify([...made])} differ from its plan ${JSON.stringify([...meant])}`,
          );
        }
      }
    }
    const readCeiling = ceilingRead.rate / rawGet.rate;
    const writeCeiling = ceilingWrite.rate / rawPut.rate;
    const reach = (goal: number, ceilingRatio: number, apiRatio: number): string =>
      `ceiling of these calls ${ceilingRatio.toFixed(3)} x (${ceilingRatio >= goal ? 'above' : 'BELOW'} the goal); ` +
      `the API reaches ${((apiRatio / ceilingRatio) * 100).toFixed(0)} % of its ceiling`;
    console.log(
      `  off-path work still running after a loop's last answer (outside its req/s): reads API ${apiReadLag.toFixed(2)} s, ` +
        `ceiling ${ceilingReadLag.toFixed(2)} s; writes API ${apiWriteLag.toFixed(2)} s, ceiling ${ceilingWriteLag.toFixed(2)} s`,
    );
    console.log(`  read goal 0.45 x raw GetItem: ${reach(0.45, readCeiling, readRatio)}`);
    console.log(`  write goal 0.2 x raw PutItem: ${reach(0.2, writeCeiling, writeRatio)}`);

    // The composition sets no maxEntries (except 0 with the cache off), so the default applies.
    const cache = config.dataKeyCache;
    const cacheLimits =
      cache.maxAgeSeconds === 0
        ? 'data-key cache off (max age 0)'
        : `data-key cache of ${DEFAULT_DATA_KEY_CACHE.maxEntries} keys, max age ${cache.maxAgeSeconds} s, max uses ${cache.maxUses}`;
    console.log(`keyring calls, ${cacheLimits}`);
    const keyringRows = [
      [`per ${HOT_READS} API reads of one hot secret`, hotReadCalls, 1],
      ['per API write', writeKeyringCalls, apiWrite.calls],
    ] as const;
    for (const [label, calls, per] of keyringRows) {
      const total = (calls.generate + calls.unwrap + calls.rewrap) / per;
      console.log(
        `  ${label.padEnd(44)} ${String(Number(total.toFixed(2))).padStart(8)}   ` +
          `(unwrap ${Number((calls.unwrap / per).toFixed(2))}, generate ${Number((calls.generate / per).toFixed(2))})`,
      );
    }
    console.log('  (on AWS each unwrap is a KMS Decrypt and each generate a KMS GenerateDataKey)');
  } finally {
    await ceiling?.close();
    counted?.middlewareStack.remove(COUNTER_NAME);
    await runtime?.stop();
    keyring.restore();
  }
}

/** Alternating rounds of each read path in the Vault comparison, so drift hits both alike. */
const VAULT_ROUNDS = 3;

/**
 * Vault's read (`GET /v1/secret/data/{path}`, X-Vault-Token, Vault's envelope) next to
 * `GET /secrets/data/{path}` for the same hot secret, in the same run, at the same concurrency:
 * both go through the secrets function and the same use case, so the ratio is the cost of the
 * Vault edge (its route, header and envelope). Rounds alternate between the two paths and the
 * best round of each is compared (goal ≥ 0.95 ×).
 */
export async function runVaultReadBench({
  reads,
  concurrency,
}: Pick<SecretsApiBenchOptions, 'reads' | 'concurrency'>): Promise<void> {
  let runtime: LocalRuntime | undefined;
  try {
    runtime = await startInMemoryRuntime({
      adminPassword: PASSWORD,
      log: { info: () => undefined, error: (message) => console.error(message) },
    });
    const { url } = runtime;
    const token = await signInLocal(url, 'admin', PASSWORD);
    const write = await fetch(`${url}/secrets/data/${HOT_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: secretValue() }),
    });
    await write.arrayBuffer();
    if (write.status !== 200) throw new Error(`Writing the hot secret answered ${write.status}`);
    const reader = (path: string, headers: Record<string, string>) => async (): Promise<void> => {
      const response = await fetch(`${url}${path}`, { headers });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
    };
    const viaSecrets = reader(`/secrets/data/${HOT_PATH}`, { authorization: `Bearer ${token}` });
    const viaVault = reader(`/v1/secret/data/${HOT_PATH}`, { 'x-vault-token': token });
    const best: { secrets?: Loop; vault?: Loop } = {};
    for (let round = 0; round < VAULT_ROUNDS; round += 1) {
      const secretsRound = await loop(reads, concurrency, viaSecrets);
      const vaultRound = await loop(reads, concurrency, viaVault);
      if (best.secrets === undefined || secretsRound.rate > best.secrets.rate) best.secrets = secretsRound;
      if (best.vault === undefined || vaultRound.rate > best.vault.rate) best.vault = vaultRound;
    }
    const { secrets: base, vault } = best;
    if (base === undefined || vault === undefined) throw new Error('No rounds ran');
    console.log(
      `Vault API reads next to /secrets reads, one hot 1 KiB secret, concurrency ${concurrency}, ` +
        `best of ${VAULT_ROUNDS} alternating rounds`,
    );
    for (const [name, measured] of [
      ['read:  GET /secrets/data/{path} (Bearer)', base],
      ['read:  GET /v1/secret/data/{path} (X-Vault-Token)', vault],
    ] as const) {
      console.log(
        `  ${name.padEnd(50)} ${String(reads).padStart(8)} ${measured.rate.toFixed(0).padStart(7)} ` +
          `${measured.p50.toFixed(2).padStart(8)} ${measured.p99.toFixed(2).padStart(8)}   ` +
          `${(measured.rate / base.rate).toFixed(3)}`,
      );
    }
    console.log(`  /v1 ÷ /secrets read rate: ${(vault.rate / base.rate).toFixed(3)} × (goal ≥ 0.95 ×)`);
  } finally {
    await runtime?.stop();
  }
}
