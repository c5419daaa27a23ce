/**
 * The reliability suite's test bed: the local runtime (test/support/local-api.ts) with its
 * DynamoDB endpoint behind the fault proxy, people of every role in two tenants, machine clients
 * with each scope, deliberately bad tokens, a seeded random source, and a canary planted in every
 * secret value the suite writes and looked for in every other response and every captured log line.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { resetFunctions } from '../../lambdas/platform/cold-start.js';
import { ALL_SCOPES, SCOPES } from '../../lambdas/shared/scopes.js';
import { localTableName, TABLE_LIST, type TableId } from '../../lambdas/shared/tables.js';
import { DynamoFaultProxy } from '../support/dynamo-fault-proxy.js';
import { seededRandom } from '../support/seeded-random.js';
import { captureProcessOutput } from '../support/process-output.js';
import { type HttpReceiver, startAcceptingReceiver } from '../support/notify-receivers.js';
import {
  type ApiAnswer,
  apiCall,
  localDocumentClient,
  signInLocal,
  startInMemoryRuntime,
} from '../support/local-api.js';
import { rsaKey, signJwt, unsignedJwt } from '../support/tokens.js';

/**
 * The seed of every random choice in the suite: `VAULTPILOT_RELIABILITY_SEED` replays a run;
 * otherwise a fresh one, named in every assertion message so a failure can be replayed.
 */
export const SEED: number = (() => {
  const given = process.env.VAULTPILOT_RELIABILITY_SEED;
  if (given !== undefined && given !== '') {
    const parsed = Number.parseInt(given, 10);
    if (!Number.isSafeInteger(parsed)) throw new Error('VAULTPILOT_RELIABILITY_SEED must be an integer');
    return parsed;
  }
  return randomBytes(4).readUInt32BE(0);
})();

export const random = seededRandom(SEED);

/** Where a failure message says how to replay it. */
export function replay(what: string): string {
  return `${what} [replay with VAULTPILOT_RELIABILITY_SEED=${SEED}]`;
}

const PASSWORD = 'reliability-password-4821';
export const HOME = 'default';
export const FOREIGN = 'rival';

/** Planted in every secret value; never expected anywhere but an authorized read of that value. */
export const CANARY = `rlb-canary-${SEED.toString(16)}-${randomHex(12)}`;

export function randomHex(length: number): string {
  let out = '';
  while (out.length < length) out += Math.floor(random() * 16).toString(16);
  return out;
}

export type UserName = 'admin' | 'olga' | 'aude' | 'vera' | 'rival-admin';
export type MachineName = 'm-all' | 'm-read' | 'm-write' | 'm-audit' | 'm-admin';
export type BadToken = 'none' | 'expired' | 'forged' | 'alg-none' | 'no-exp' | 'wrong-issuer' | 'tampered';
export type CallerName = UserName | MachineName | BadToken;

export const USERS: Readonly<Record<UserName, { tenant: string; role: string }>> = {
  admin: { tenant: HOME, role: 'admin' },
  olga: { tenant: HOME, role: 'operator' },
  aude: { tenant: HOME, role: 'auditor' },
  vera: { tenant: HOME, role: 'viewer' },
  'rival-admin': { tenant: FOREIGN, role: 'admin' },
};

export const MACHINES: Readonly<Record<MachineName, readonly string[]>> = {
  'm-all': ALL_SCOPES,
  'm-read': [SCOPES.read],
  'm-write': [SCOPES.write],
  'm-audit': [SCOPES.audit],
  'm-admin': [SCOPES.admin],
};

export const BAD_TOKENS: readonly BadToken[] = [
  'none',
  'expired',
  'forged',
  'alg-none',
  'no-exp',
  'wrong-issuer',
  'tampered',
];

/** One request and its answer, kept for the canary check at the end. */
export interface Exchange {
  readonly caller: string;
  readonly method: string;
  readonly path: string;
  readonly answer: ApiAnswer;
}

export interface Bed {
  readonly runtime: LocalRuntime;
  readonly proxy: DynamoFaultProxy;
  /** A document client straight on dynalite, past the proxy (for reading state back). */
  readonly direct: DynamoDBDocumentClient;
  readonly tokens: Record<string, string>;
  readonly machineClientIds: Record<MachineName, string>;
  /** A machine client no caller uses, whose policy attachments the fixtures may change. */
  readonly spareClientId: string;
  /** Every line the runtime, the handlers and the process wrote while the suite ran. */
  readonly logged: string[];
  readonly exchanges: Exchange[];
  /**
   * Where the fixtures' Slack and webhook channels point: a loopback server that accepts every
   * message (`/slack` answers Slack's `ok`, `/hook` a 200). A channel that cannot be reached would
   * have each alert retried and redelivered in the background for the rest of the suite.
   */
  readonly receiver: HttpReceiver;
  /** Creates an admin of `tenant` (a person) and returns the caller name to use. */
  addAdmin(tenant: string): Promise<string>;
  call(caller: string, method: string, path: string, body?: unknown, raw?: RawBody): Promise<ApiAnswer>;
  /**
   * A request sent byte for byte with node:http: the path exactly as given (fetch would resolve
   * `..` and re-encode), any body bytes, any content type.
   */
  send(
    caller: string,
    method: string,
    rawPath: string,
    body?: string | Uint8Array,
    contentType?: string,
  ): Promise<ApiAnswer>;
  stop(): Promise<void>;
}

/** A body sent as is (not JSON-encoded), with its content type. */
export interface RawBody {
  readonly text: string | Uint8Array;
  readonly contentType: string;
}

export interface BedOptions {
  /** Extra variables of the local runtime (e.g. a data directory instead of memory). */
  readonly env?: Record<string, string>;
  /** Skip machine clients and foreign tenant (suites that need only the admin). */
  readonly minimal?: boolean;
}

export async function startBed(options: BedOptions = {}): Promise<Bed> {
  const logged: string[] = [];
  const exchanges: Exchange[] = [];
  const restoreOutput = captureProcessOutput(logged);
  // The suite sends thousands of requests as a handful of clients of one tenant: the local
  // per-client and per-tenant rate limits (0 = off) would turn its answers into 429s. Those
  // limits have their own tests; here every answer must come from the route itself.
  const env = {
    VAULTPILOT_RATE_LIMIT_CLIENT_RPS: '0',
    VAULTPILOT_RATE_LIMIT_TENANT_RPS: '0',
    ...options.env,
  };
  Object.assign(process.env, env);
  const runtime = await startInMemoryRuntime({
    adminPassword: PASSWORD,
    logLevel: 'DEBUG',
    env,
    log: {
      info: (line, extra) => logged.push(`${line} ${JSON.stringify(extra ?? {})}`),
      error: (line, extra) => logged.push(`${line} ${JSON.stringify(extra ?? {})}`),
    },
  });
  // The handlers reach DynamoDB through the fault proxy from now on (the container reads the
  // endpoint again when it is next built).
  const proxy = await DynamoFaultProxy.start(runtime.dynamodbEndpoint, SEED);
  process.env.VAULTPILOT_DYNAMODB_ENDPOINT = proxy.endpoint;
  resetFunctions();
  const direct = localDocumentClient(runtime);
  const receiver = await startAcceptingReceiver();

  const tokens: Record<string, string> = {};
  const machineClientIds = {} as Record<MachineName, string>;
  let spareClientId = '';
  for (const [username, user] of Object.entries(USERS)) {
    if (username !== 'admin') {
      if (options.minimal === true) continue;
      await runtime.identity.addUser({
        username,
        password: PASSWORD,
        tenant: user.tenant,
        groups: [user.role],
      });
    }
    tokens[username] = await signInLocal(runtime.url, username, PASSWORD);
  }
  const addAdmin: Bed['addAdmin'] = async (tenant) => {
    const username = `admin-${tenant}`;
    await runtime.identity.addUser({ username, password: PASSWORD, tenant, groups: ['admin'] });
    tokens[username] = await signInLocal(runtime.url, username, PASSWORD);
    return username;
  };
  const call: Bed['call'] = async (caller, method, path, body, raw) => {
    const headers: Record<string, string> = raw === undefined ? {} : { 'content-type': raw.contentType };
    const answer =
      raw === undefined
        ? await apiCall(runtime.url, tokens[caller], method, path, body)
        : await rawCall(runtime.url, tokens[caller], method, path, raw.text, headers);
    exchanges.push({ caller, method, path, answer });
    return answer;
  };

  const send: Bed['send'] = async (caller, method, rawPath, body, contentType) => {
    const answer = await sendExactly(runtime.url, tokens[caller], method, rawPath, body, contentType);
    exchanges.push({ caller, method, path: rawPath, answer });
    return answer;
  };

  if (options.minimal !== true) {
    for (const [name, scopes] of Object.entries(MACHINES) as [MachineName, readonly string[]][]) {
      const client = await runtime.identity.addClient({ tenant: HOME, scopes, name });
      machineClientIds[name] = client.clientId;
      tokens[name] = await clientToken(runtime.url, client.clientId, client.clientSecret);
    }
    // Machine clients get nothing without a policy (least privilege): every client may do
    // everything its scopes allow, so the scopes alone decide what the matrix sees.
    const policy = await call('admin', 'PUT', '/policies/reliability-machines', {
      rules: [{ path: '*', capabilities: ['read', 'list', 'create', 'update', 'delete', 'destroy'] }],
    });
    expect(policy.status, replay('setting up the machine policy')).toBe(200);
    for (const id of Object.values(machineClientIds)) {
      const attached = await call('admin', 'PUT', `/policies/attachments/clients/${id}`, {
        policies: ['reliability-machines'],
      });
      expect(attached.status, replay('attaching the machine policy')).toBe(204);
    }
    Object.assign(tokens, badTokens(runtime, tokens.admin ?? ''));
  }
  spareClientId = (await runtime.identity.addClient({ tenant: HOME, scopes: [SCOPES.read], name: 'spare' }))
    .clientId;

  return {
    runtime,
    proxy,
    direct,
    tokens,
    machineClientIds,
    spareClientId,
    logged,
    exchanges,
    receiver,
    addAdmin,
    call,
    send,
    stop: async () => {
      proxy.clear();
      await runtime.stop();
      await proxy.close();
      direct.destroy();
      await receiver.close();
      restoreOutput();
    },
  };
}

async function clientToken(baseUrl: string, clientId: string, clientSecret: string): Promise<string> {
  const response = await fetch(`${baseUrl}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  if (response.status !== 200) throw new Error(`client credentials answered ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

function sendExactly(
  baseUrl: string,
  token: string | undefined,
  method: string,
  rawPath: string,
  body: string | Uint8Array | undefined,
  contentType: string | undefined,
): Promise<ApiAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: rawPath,
        headers: {
          ...(token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` }),
          ...(contentType === undefined ? {} : { 'content-type': contentType }),
          ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
        },
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text.length === 0 ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          const headers = new Headers();
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (typeof value === 'string') headers.set(name, value);
            else if (Array.isArray(value)) headers.set(name, value.join(', '));
          }
          resolve({ status: incoming.statusCode ?? 0, headers, text, json });
        });
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

async function rawCall(
  baseUrl: string,
  token: string | undefined,
  method: string,
  path: string,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<ApiAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token ?? ''}`, ...headers },
    body,
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

function decodePart(token: string, index: number): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/**
 * Tokens the verifier must refuse. `expired` and `no-exp` carry the issuer's real signature:
 * only the issuer's own key can make them, which the runtime keeps private, so the suite reaches
 * it the one way a test can (the key is the identity provider's `key` field).
 */
function badTokens(runtime: LocalRuntime, adminToken: string): Record<BadToken, string> {
  const claims = decodePart(adminToken, 1);
  const header = decodePart(adminToken, 0);
  const issuerKey = (runtime.identity as unknown as { key: { sign(c: Record<string, unknown>): string } })
    .key;
  const now = Math.floor(Date.now() / 1000);
  const stranger = rsaKey();
  const { exp: _exp, ...withoutExp } = claims;
  const [head, , signature] = adminToken.split('.');
  // The admin's token with its tenant changed and the original signature kept.
  const tamperedClaims = Buffer.from(JSON.stringify({ ...claims, 'custom:tenant': FOREIGN })).toString(
    'base64url',
  );
  return {
    none: '',
    expired: issuerKey.sign({ ...claims, iat: now - 7200, auth_time: now - 7200, exp: now - 3600 }),
    // A key of our own presenting the issuer's key id: the signature cannot verify.
    forged: signJwt({ ...stranger, kid: String(header.kid) }, claims),
    'alg-none': unsignedJwt(claims),
    'no-exp': issuerKey.sign(withoutExp),
    'wrong-issuer': issuerKey.sign({ ...claims, iss: 'http://127.0.0.1:1/not-the-issuer' }),
    tampered: `${head ?? ''}.${tamperedClaims}.${signature ?? ''}`,
  };
}

/** Every item of every table, read past the proxy; the audit table apart (it may grow on failure). */
export async function snapshot(
  direct: DynamoDBDocumentClient,
  except: readonly TableId[] = ['audit'],
  /** Only items whose text contains this (a tenant's name); every item when absent. */
  marker?: string,
): Promise<Record<string, string[]>> {
  const state: Record<string, string[]> = {};
  for (const spec of TABLE_LIST) {
    if (except.includes(spec.id)) continue;
    const items: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await direct.send(
        new ScanCommand({
          TableName: localTableName(spec.id),
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of page.Items ?? []) {
        const text = stableJson(item);
        if (marker === undefined || text.includes(marker)) items.push(text);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    state[spec.id] = items.sort();
  }
  return state;
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner) && !(inner instanceof Uint8Array)
      ? Object.fromEntries(
          Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : inner instanceof Uint8Array
        ? Buffer.from(inner).toString('base64')
        : inner,
  );
}

/** What changed between two snapshots, per table: items added and removed (a change is both). */
export function difference(
  before: Record<string, string[]>,
  after: Record<string, string[]>,
): Record<string, { added: number; removed: number; keys: string[] }> {
  const changes: Record<string, { added: number; removed: number; keys: string[] }> = {};
  for (const table of Object.keys(after)) {
    const old = new Set(before[table] ?? []);
    const now = new Set(after[table] ?? []);
    const added = [...now].filter((item) => !old.has(item));
    const removed = [...old].filter((item) => !now.has(item));
    if (added.length + removed.length > 0) {
      // The changed items' keys (ids and paths, never values), so a failure says which item.
      const keys = [...new Set([...added, ...removed].map(itemKey))].slice(0, 6);
      changes[table] = { added: added.length, removed: removed.length, keys };
    }
  }
  return changes;
}

/** An item's key attributes (`pk`, `sk`) as one short string. */
function itemKey(text: string): string {
  const item = JSON.parse(text) as Record<string, unknown>;
  const part = (value: unknown): string => (typeof value === 'string' ? value.slice(0, 80) : String(value));
  return item.sk === undefined ? part(item.pk) : `${part(item.pk)} ${part(item.sk)}`;
}

/** Names that tell an attacker how the service is built; none may reach a caller. */
export const INTERNAL_NAMES: readonly RegExp[] = [
  /\b(GetItem|PutItem|UpdateItem|DeleteItem|BatchGetItem|BatchWriteItem|TransactWriteItems|TransactGetItems|DescribeTable)\b/,
  /\bDynamoDB\b/i,
  /\bdynalite\b/i,
  /\b[A-Z][A-Za-z]+Exception\b/,
  /\bConditionalCheckFailed\b/,
  /\bInternalServerError\b/,
  new RegExp(`\\b(${TABLE_LIST.map((spec) => localTableName(spec.id)).join('|')})\\b`),
  /\b(TypeError|ReferenceError|RangeError|SyntaxError)\b/,
  /\n\s+at [^\n]+:\d+:\d+/,
  /\bat (?:async )?[\w.<>]+ \((?:file:\/\/)?\//,
  /(?:\/work\/|\/home\/|\/tmp\/|node_modules|file:\/\/)/,
  /\.(?:ts|js|mjs|cjs):\d+/,
  /\bKeyringStateError\b|\bEnvelopeIntegrityError\b|\bENOENT\b|\bEACCES\b/,
];

export function internalNameIn(text: string): string | undefined {
  for (const pattern of INTERNAL_NAMES) {
    const match = pattern.exec(text);
    if (match !== null) return match[0];
  }
  return undefined;
}

/** The documented error shape: `{"error":{"code","message","requestId","details"?}}`. */
export function errorShapeProblem(answer: ApiAnswer): string | undefined {
  if (answer.status < 400) return undefined;
  const body = answer.json as { error?: Record<string, unknown> } | undefined;
  const error = body?.error;
  if (error === undefined || typeof error !== 'object') return 'no {"error":{…}} body';
  for (const field of ['code', 'message', 'requestId']) {
    if (typeof error[field] !== 'string' || error[field].length === 0) return `error.${field} missing`;
  }
  const extra = Object.keys(error).filter(
    (key) => !['code', 'message', 'requestId', 'details'].includes(key),
  );
  if (extra.length > 0) return `unexpected fields ${extra.join(',')}`;
  if (Object.keys(body ?? {}).length !== 1) return 'fields beside "error"';
  return undefined;
}

/**
 * What is wrong with a Vault API error body (`/v1/`, docs/vault-api.md), or undefined:
 * `{"errors":[...]}` with string messages only, an empty list only for a 404.
 */
export function vaultErrorShapeProblem(answer: ApiAnswer): string | undefined {
  if (answer.status < 400) return undefined;
  if (answer.status === 404 && isRemovedVersionAnswer(answer.json)) return undefined;
  const body = answer.json as { errors?: unknown } | undefined;
  if (body === undefined || !Array.isArray(body.errors)) return 'no {"errors":[…]} body';
  if (Object.keys(body).length !== 1) return 'fields beside "errors"';
  if (!body.errors.every((message) => typeof message === 'string' && message.length > 0)) {
    return 'errors that are not messages';
  }
  if (body.errors.length === 0 && answer.status !== 404)
    return 'an empty error list on a status other than 404';
  return undefined;
}

/**
 * Vault's 404 for a deleted or destroyed version (docs/vault-api.md): its envelope with no value
 * and the version's metadata, which says why.
 */
function isRemovedVersionAnswer(json: unknown): boolean {
  const data = (json as { data?: { data?: unknown; metadata?: Record<string, unknown> } } | undefined)?.data;
  const metadata = data?.metadata;
  return (
    data?.data === null &&
    metadata !== undefined &&
    ((typeof metadata.deletion_time === 'string' && metadata.deletion_time !== '') ||
      metadata.destroyed === true)
  );
}

/** A short, value-free description of an exchange for failure messages and the report. */
export function describe(method: string, path: string, answer: ApiAnswer): string {
  const shownPath = path.length > 160 ? `${path.slice(0, 160)}…(${path.length} chars)` : path;
  const body = answer.text.replaceAll(CANARY, '<CANARY>');
  return `${method} ${shownPath} -> ${answer.status} ${body.length > 300 ? `${body.slice(0, 300)}…` : body}`;
}

/** Where the canary may legitimately appear: an authorized read of a secret's value. */
export function mayShowValue(exchange: Exchange): boolean {
  return (
    exchange.method === 'GET' &&
    /^\/(secrets|v1\/[^/]+)\/data\//.test(exchange.path) &&
    exchange.answer.status === 200 &&
    !BAD_TOKENS.includes(exchange.caller as BadToken)
  );
}

/** Asserts the canary is nowhere but in authorized reads of values and never in any log line. */
export function assertCanaryContained(bed: Bed): void {
  const leaks = bed.exchanges
    .filter((exchange) => !mayShowValue(exchange) && exchange.answer.text.includes(CANARY))
    .map(
      (exchange) =>
        `a value in a response to ${exchange.caller}: ${describe(exchange.method, exchange.path, exchange.answer)}`,
    );
  // The line itself would carry the value: show only where it was and what it began with.
  const lines = bed.logged
    .filter((line) => line.includes(CANARY))
    .map((line) => `a value in a log line: ${line.replaceAll(CANARY, '<CANARY>').slice(0, 300)}`);
  expectNone([...leaks, ...lines], 'the canary');
}

/**
 * What every answer must be, whatever was asked: below 500 unless a declared 503 with
 * Retry-After, the documented error shape, and no internal names (the OpenAPI document apart,
 * which describes the API on purpose).
 */
export function answerProblems(method: string, path: string, answer: ApiAnswer): string[] {
  const problems: string[] = [];
  const shown = describe(method, path, answer);
  if (
    answer.status >= 500 &&
    !(answer.status === 503 && /^\d+$/.test(answer.headers.get('retry-after') ?? ''))
  ) {
    problems.push(`status ${answer.status} (not a 503 with Retry-After): ${shown}`);
  }
  const shape = path.startsWith('/v1/') ? vaultErrorShapeProblem(answer) : errorShapeProblem(answer);
  if (shape !== undefined) problems.push(`error body ${shape}: ${shown}`);
  if (!path.startsWith('/openapi.json')) {
    const leaked = internalNameIn(answer.text);
    if (leaked !== undefined) problems.push(`internal name "${leaked}" in body: ${shown}`);
  }
  return problems;
}

/**
 * Fails with every problem listed, one per line (vitest would cut a long expected/actual short).
 * With `VAULTPILOT_RELIABILITY_REPORT=<file>` the problems are also appended to that file.
 */
export function expectNone(problems: readonly string[], context: string): void {
  if (problems.length === 0) return;
  const report = process.env.VAULTPILOT_RELIABILITY_REPORT;
  if (report !== undefined && report !== '') {
    appendFileSync(report, `## ${context}\n${problems.map((line) => `- ${line}`).join('\n')}\n`);
  }
  throw new Error(replay(`${context}: ${problems.length} problem(s)\n${problems.join('\n')}`));
}
