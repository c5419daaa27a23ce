/**
 * `vaultpilot credentials | discovery | audit …` against the API. Progress goes to stderr, data
 * to stdout; no contract here carries a credential's value.
 */
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AuditEventsResponse, AuditVerifyResponse } from '../shared/contracts/audit.js';
import {
  CredentialListResponse,
  CredentialResponse,
  ListCredentialsQuery,
} from '../shared/contracts/credentials.js';
import { DiscoveryRunResponse } from '../shared/contracts/discovery.js';
import { RotationAccepted, RotationResponse } from '../shared/contracts/rotations.js';
import type { core } from 'zod/mini';
import type { ApiClient } from './api.js';
import { integerValue, stringValue } from './args.js';
import { EXIT_FAILURE, EXIT_OK, type ClientCommand, type CommandContext } from './command.js';
import { CliUsageError, CommandFailedError } from './errors.js';
import { type ClientIo, readStdin } from './io.js';
import { printJson, printPairs, printTable } from './output.js';

const MAX_REQUEST_BYTES = 256 * 1024;

function onlyPositional(context: CommandContext, what: string): string {
  const [value, extra] = context.args.positionals;
  if (value === undefined || value.length === 0) throw new CliUsageError(`${what} is required`);
  if (extra !== undefined) throw new CliUsageError(`unexpected argument '${extra}'`);
  return value;
}

function noPositionals(context: CommandContext): void {
  const [extra] = context.args.positionals;
  if (extra !== undefined) throw new CliUsageError(`unexpected argument '${extra}'`);
}

function seconds(context: CommandContext, name: string, fallback: number): number {
  const text = stringValue(context.args.values, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value <= 0 || value > 86_400)
    throw new CliUsageError(`-${name} takes seconds (0-86400), not '${text}'`);
  return value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** The server's verdict in the words of the offline `audit verify` (lambdas/local/audit-cli.ts). */
function describeServerVerification(result: core.output<typeof AuditVerifyResponse>): string {
  if (result.firstBad !== null) {
    const { seq, reason } = result.firstBad;
    return `NOT INTACT: first bad seq ${seq}: ${reason}; ${result.checked} entries verified before it\n`;
  }
  const range = result.firstSeq === null ? 'no entries' : `seq ${result.firstSeq}..${result.lastSeq}`;
  return `INTACT: ${result.checked} entries (${range}), ${result.digestsVerified} signed digests verified.\n`;
}

function clock(): string {
  return new Date().toISOString().slice(11, 19);
}

// ---------------------------------------------------------------------------------------------
// Rotations

const SETTLED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'rolled-back']);
/** How long a watch waits, after a rotation settles, for the inventory to show its outcome. */
const INVENTORY_WAIT_MS = 10_000;

/**
 * The engine tells the inventory a rotation's outcome right after its last checkpoint, so for a
 * moment the rotation reads settled while its credential still reads `rotating`. A watch waits
 * for the credential (briefly; what it cannot read it leaves alone), so that the next command a
 * person or a script runs (`credentials show`, a listing) sees the outcome too.
 */
async function awaitInventory(api: ApiClient, credentialId: string, intervalMs: number): Promise<void> {
  const until = Date.now() + INVENTORY_WAIT_MS;
  for (;;) {
    try {
      const { data } = await api.call(
        'GET',
        `/credentials/${encodeURIComponent(credentialId)}`,
        CredentialResponse,
      );
      if (data.status !== 'rotating') return;
    } catch {
      return;
    }
    if (Date.now() > until) return;
    await sleep(Math.min(intervalMs, 250));
  }
}

/**
 * Follows a rotation until it settles, printing each state and step change as it is seen;
 * succeeds only when the rotation did.
 */
export async function watchRotation(
  context: CommandContext,
  api: ApiClient,
  rotationId: string,
  intervalMs: number,
  timeoutMs: number,
): Promise<number> {
  const seen = new Map<string, string>();
  let state: string | undefined;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { data } = await api.call('GET', `/rotations/${encodeURIComponent(rotationId)}`, RotationResponse);
    const lines: string[] = [];
    if (data.state !== state) {
      state = data.state;
      lines.push(`${clock()}  rotation ${data.rotationId}: ${data.state}`);
    }
    for (const step of data.steps) {
      const key = `${step.step}#${step.attempts}`;
      const status = `${step.status}${step.outcome === undefined ? '' : ` (${step.outcome})`}`;
      if (seen.get(key) !== status) {
        seen.set(key, status);
        lines.push(`${clock()}    ${step.step.padEnd(10)} ${status}`);
      }
    }
    if (context.format === 'json') {
      if (SETTLED.has(data.state)) printJson(context.io, data);
    } else for (const line of lines) context.io.stdout.write(`${line}\n`);
    if (SETTLED.has(data.state)) {
      await awaitInventory(api, data.credentialId, intervalMs);
      if (data.state === 'succeeded') return EXIT_OK;
      context.io.stderr.write(
        `Rotation ${data.rotationId} ${data.state}${data.failure === undefined ? '' : `: ${data.failure}`}\n`,
      );
      return EXIT_FAILURE;
    }
    if (Date.now() > deadline)
      throw new CommandFailedError(
        `rotation ${rotationId} is still ${data.state}; stopped watching (-timeout)`,
      );
    await sleep(intervalMs);
  }
}

const WATCH_OPTIONS = {
  interval: { type: 'string' },
  timeout: { type: 'string' },
} as const;
const WATCH_HELP = `  -interval SECONDS  time between two looks (default 1)
  -timeout SECONDS   give up watching after this long (default 900; the rotation goes on)`;

async function readJsonBody(context: CommandContext, source: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text =
      source === '-'
        ? await readStdin(context.io, MAX_REQUEST_BYTES, 'a JSON object')
        : await readFile(resolve(context.io.cwd ?? process.cwd(), source.replace(/^@/, '')), 'utf8');
  } catch (error: unknown) {
    throw new CliUsageError(
      `cannot read ${source}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliUsageError(`${source} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CliUsageError(`${source} must hold a JSON object`);
  return value as Record<string, unknown>;
}

type CredentialView = core.output<typeof CredentialListResponse>['data']['credentials'][number];
type CredentialDetail = core.output<typeof CredentialResponse>['data'];
type CredentialChange = NonNullable<CredentialDetail['history']>[number];

/** A changed field's value in a history line: strings as they are, nothing as '-', else JSON. */
function changedValue(value: unknown): string {
  if (value === undefined || value === null) return '-';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * One history entry's changes on one line: `status healthy → expiring` for a change, `owner = x`
 * for a field that had no value, then `+rule` for each finding opened and `-rule` for each resolved.
 */
function changeSummary(change: CredentialChange): string {
  return [
    ...Object.entries(change.changes).map(([field, { from, to }]) =>
      from === undefined || from === null
        ? `${field} = ${changedValue(to)}`
        : `${field} ${changedValue(from)} → ${changedValue(to)}`,
    ),
    ...change.findingsOpened.map((rule) => `+${rule}`),
    ...change.findingsResolved.map((rule) => `-${rule}`),
  ].join('; ');
}

/**
 * A credential for people: its facts (the rotation's one per line), then its findings and, when
 * the answer has it, its history (newest first), each a table.
 */
function printCredential(io: ClientIo, credential: CredentialDetail): void {
  const { findings, history, rotation, ...facts } = credential;
  io.stdout.write('====== Credential ======\n');
  printPairs(io, [
    ...Object.entries(facts),
    ...(rotation === undefined
      ? []
      : ([
          ['rotation.secretPath', rotation.secretPath],
          ['rotation.dueAt', rotation.dueAt],
          ['rotation.policy', rotation.policy],
          ['rotation.settings', rotation.settings],
        ] as const)),
  ]);
  io.stdout.write('\n====== Findings ======\n');
  if (findings.length === 0) io.stdout.write('none\n');
  else
    printTable(
      io,
      ['Severity', 'Rule', 'Since', 'Title', 'Remediation'],
      findings.map((finding) => [
        finding.severity,
        finding.ruleId,
        finding.since,
        finding.title,
        finding.remediation,
      ]),
    );
  if (history === undefined) return;
  io.stdout.write('\n====== History ======\n');
  if (history.length === 0) io.stdout.write('none\n');
  else
    printTable(
      io,
      ['At', 'Actor', 'Action', 'Changes'],
      history.map((change) => [
        change.at,
        // A user's id already names its kind (`user:alice`); an engine's does not.
        change.actor.id.startsWith(`${change.actor.kind}:`)
          ? change.actor.id
          : `${change.actor.kind}:${change.actor.id}`,
        change.action,
        changeSummary(change),
      ]),
    );
}

/**
 * The options of `credentials list`: every query parameter of GET /credentials but the cursor
 * (the client pages), passed as they are; the API checks them.
 */
const LIST_FILTERS = Object.keys(ListCredentialsQuery.shape).filter((name) => name !== 'cursor');

export const CREDENTIAL_COMMANDS: readonly ClientCommand[] = [
  {
    words: ['credentials', 'list'],
    summary: 'the credential inventory (filters as the API takes them)',
    help: `Usage: vaultpilot credentials list [FILTERS] [-sort FIELD] [-limit N] [-all] [-format table|json]

Filters take comma-separated values (any may match) and combine with AND, as GET /credentials:

  -type LIST         credential types (vault-secret, aws-iam-access-key, ...)
  -status LIST       healthy, expiring, overdue, unused, rotating, failed, gone
  -severity LIST     credentials with an open finding of these severities (low ... critical)
  -finding LIST      credentials with these findings (rule ids, see GET /discovery/rules)
  -source LIST       discovered, managed
  -owner OWNER       the owner, case-insensitive
  -tag KEY[=VALUE]   a tag, or a tag with that value
  -account ID        the 12-digit AWS account
  -q TEXT            text in name, id, description, owner, reference or tags
  -sort FIELD        name (default), type, status, severity, createdAt, lastUsedAt,
                     lastRotatedAt, expiresAt, updatedAt; -FIELD (as -sort=-expiresAt) for descending
  -limit N           credentials per page, 1-500 (default 50)
  -all               follow every page (default: the first page)

  vaultpilot credentials list -finding credential-expired,credential-expiring-imminent -sort expiresAt`,
    options: {
      ...Object.fromEntries(LIST_FILTERS.map((name) => [name, { type: 'string' } as const])),
      all: { type: 'boolean' },
    },
    async run(context) {
      noPositionals(context);
      const api = await context.api();
      const credentials: CredentialView[] = [];
      let cursor: string | undefined;
      let total = 0;
      do {
        const answer = await api.call('GET', '/credentials', CredentialListResponse, {
          query: {
            ...Object.fromEntries(LIST_FILTERS.map((name) => [name, stringValue(context.args.values, name)])),
            cursor,
          },
        });
        credentials.push(...answer.data.credentials);
        total = answer.data.total;
        cursor = context.args.values.all === true ? answer.data.nextCursor : undefined;
      } while (cursor !== undefined);
      if (context.format === 'json') printJson(context.io, credentials);
      else {
        printTable(
          context.io,
          ['ID', 'Type', 'Name', 'Status', 'Expires', 'Last rotated'],
          credentials.map((c) => [c.id, c.type, c.name, c.status, c.expiresAt, c.lastRotatedAt]),
        );
        if (total > credentials.length)
          context.io.stderr.write(`${credentials.length} of ${total} shown; -all for every page\n`);
      }
      return EXIT_OK;
    },
  },
  {
    words: ['credentials', 'show'],
    summary: 'one credential with its findings and history',
    help: `Usage: vaultpilot credentials show [-format table|json] ID`,
    options: {},
    async run(context) {
      const id = onlyPositional(context, 'a credential id');
      const { data } = await (
        await context.api()
      ).call('GET', `/credentials/${encodeURIComponent(id)}`, CredentialResponse);
      if (context.format === 'json') printJson(context.io, data);
      else printCredential(context.io, data);
      return EXIT_OK;
    },
  },
  {
    words: ['credentials', 'register'],
    summary: 'register a managed credential (its facts, never its value)',
    help: `Usage: vaultpilot credentials register -from (@FILE.json | -)
       vaultpilot credentials register -type TYPE -name NAME [-secret-path PATH] [-interval-days N]
                                       [-generator-length N -generator-field FIELD] [-policy NAME]

Registers a credential (POST /credentials). -from takes the whole request body as JSON (see
the OpenAPI document, RegisterCredentialRequest); the other options build a simple one, such as
a vault-secret whose value VaultPilot generates on each rotation:

  vaultpilot credentials register -type vault-secret -name "API token" -secret-path prod/api \\
    -generator-length 48 -generator-field token -interval-days 30

Prints the registered credential.

  -from SOURCE           @FILE.json or - (stdin): the request body
  -type TYPE             credential type
  -name NAME             display name
  -secret-path PATH      secret-store path of the current value (rotated types)
  -policy NAME           a rotation policy by name
  -interval-days N       an inline rotation policy: rotate every N days
  -generator-length N    vault-secret: length of generated values
  -generator-field F     vault-secret: the field they are written to`,
    options: {
      from: { type: 'string' },
      type: { type: 'string' },
      name: { type: 'string' },
      'secret-path': { type: 'string' },
      policy: { type: 'string' },
      'interval-days': { type: 'string' },
      'generator-length': { type: 'string' },
      'generator-field': { type: 'string' },
    },
    async run(context) {
      noPositionals(context);
      const values = context.args.values;
      const from = stringValue(values, 'from');
      let body: Record<string, unknown>;
      if (from !== undefined) {
        if (stringValue(values, 'type') !== undefined || stringValue(values, 'name') !== undefined)
          throw new CliUsageError('-from takes the whole body; give the other options inside it');
        body = await readJsonBody(context, from);
      } else {
        const type = stringValue(values, 'type');
        const name = stringValue(values, 'name');
        if (type === undefined || name === undefined)
          throw new CliUsageError('-type and -name are required (or -from)');
        const secretPath = stringValue(values, 'secret-path');
        const policy = stringValue(values, 'policy');
        const interval = integerValue(values, 'interval-days', 1);
        const length = integerValue(values, 'generator-length', 1);
        const field = stringValue(values, 'generator-field');
        if (policy !== undefined && interval !== undefined)
          throw new CliUsageError('give -policy or -interval-days, not both');
        body = {
          type,
          name,
          ...(secretPath === undefined ? {} : { secretPath }),
          ...(policy === undefined ? {} : { rotationPolicy: policy }),
          ...(interval === undefined ? {} : { rotationPolicy: { intervalDays: interval } }),
          ...(length === undefined && field === undefined
            ? {}
            : {
                generator: {
                  ...(length === undefined ? {} : { length }),
                  ...(field === undefined ? {} : { field }),
                },
              }),
        };
      }
      const { data } = await (await context.api()).call('POST', '/credentials', CredentialResponse, { body });
      if (context.format === 'json') printJson(context.io, data);
      else printCredential(context.io, data);
      return EXIT_OK;
    },
  },
  {
    words: ['credentials', 'rotate'],
    summary: 'start a rotation (and -watch it)',
    help: `Usage: vaultpilot credentials rotate [-watch] ID

Starts a rotation of credential ID and prints its rotation id (stdout). With -watch, follows it
as 'credentials watch' does and exits as it does.

  -watch             follow the rotation until it ends
${WATCH_HELP}`,
    options: { watch: { type: 'boolean' }, ...WATCH_OPTIONS },
    async run(context) {
      const id = onlyPositional(context, 'a credential id');
      const interval = seconds(context, 'interval', 1);
      const timeout = seconds(context, 'timeout', 900);
      const api = await context.api();
      const { data } = await api.call(
        'POST',
        `/credentials/${encodeURIComponent(id)}/rotate`,
        RotationAccepted,
        // The same key starts one rotation, whatever happens to this request on the way.
        { headers: { 'idempotency-key': randomUUID() } },
      );
      if (context.args.values.watch !== true) {
        if (context.format === 'json') printJson(context.io, data);
        else context.io.stdout.write(`${data.rotationId}\n`);
        context.io.stderr.write(
          `Rotation ${data.rotationId} ${data.state}; follow it with: vaultpilot credentials watch ${data.rotationId}\n`,
        );
        return EXIT_OK;
      }
      return watchRotation(context, api, data.rotationId, interval * 1000, timeout * 1000);
    },
  },
  {
    words: ['credentials', 'watch'],
    summary: "follow a rotation's steps until it ends (exit 0 only if it succeeded)",
    help: `Usage: vaultpilot credentials watch ROTATION_ID

Prints the rotation's state and each step change (create, set, test, finish, ...) as it happens,
until it ends. Exits 0 when it succeeded, 1 when it failed or was rolled back.

${WATCH_HELP}`,
    options: WATCH_OPTIONS,
    async run(context) {
      const id = onlyPositional(context, 'a rotation id');
      return watchRotation(
        context,
        await context.api(),
        id,
        seconds(context, 'interval', 1) * 1000,
        seconds(context, 'timeout', 900) * 1000,
      );
    },
  },
  {
    words: ['credentials', 'rollback'],
    summary: 'restore the value from before a rotation',
    help: `Usage: vaultpilot credentials rollback ROTATION_ID

Restores the value the rotation replaced (POST /rotations/{id}/rollback), while the previous
version still exists. Prints the rotation.`,
    options: {},
    async run(context) {
      const id = onlyPositional(context, 'a rotation id');
      const answer = await (
        await context.api()
      ).call('POST', `/rotations/${encodeURIComponent(id)}/rollback`, RotationResponse);
      if (context.format === 'json') printJson(context.io, answer.data);
      else context.io.stderr.write(`Rotation ${id} rolled back: ${answer.data.state}\n`);
      return EXIT_OK;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Discovery

export const DISCOVERY_COMMANDS: readonly ClientCommand[] = [
  {
    words: ['discovery', 'run'],
    summary: 'run discovery now and follow its progress',
    help: `Usage: vaultpilot discovery run [-no-wait] [-format table|json]

Starts a discovery run (POST /discovery/runs), prints its progress on stderr until it ends,
then its counts on stdout. Exits 0 when it succeeded (or partly: some sources failed, named
on stderr), 1 when it failed.

  -no-wait           print the queued run and return
${WATCH_HELP}`,
    options: { 'no-wait': { type: 'boolean' }, ...WATCH_OPTIONS },
    async run(context) {
      noPositionals(context);
      const interval = seconds(context, 'interval', 1) * 1000;
      const deadline = Date.now() + seconds(context, 'timeout', 900) * 1000;
      const api = await context.api();
      let { data: run } = await api.call('POST', '/discovery/runs', DiscoveryRunResponse);
      context.io.stderr.write(`Discovery run ${run.id} ${run.status}\n`);
      let last = `${run.status}`;
      while (
        context.args.values['no-wait'] !== true &&
        (run.status === 'queued' || run.status === 'running')
      ) {
        if (Date.now() > deadline)
          throw new CommandFailedError(`discovery run ${run.id} is still ${run.status}; stopped waiting`);
        await sleep(interval);
        ({ data: run } = await api.call(
          'GET',
          `/discovery/runs/${encodeURIComponent(run.id)}`,
          DiscoveryRunResponse,
        ));
        const progress = `${run.status}, ${run.counts.seen} seen`;
        if (progress !== last) context.io.stderr.write(`${clock()}  ${progress}\n`);
        last = progress;
      }
      if (run.notice !== undefined) context.io.stderr.write(`${run.notice}\n`);
      for (const error of run.errors)
        context.io.stderr.write(`  ${error.source}: ${error.code}: ${error.message}\n`);
      if (context.format === 'json') printJson(context.io, run);
      else printPairs(context.io, [['id', run.id], ['status', run.status], ...Object.entries(run.counts)]);
      return run.status === 'failed' ? EXIT_FAILURE : EXIT_OK;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Audit (the API's; the data-directory variants stay in lambdas/local/cli.ts)

/** What GET /audit/export answers for each format (its route's mediaTypes). */
const EXPORT_MEDIA_TYPES = { ndjson: 'application/x-ndjson', csv: 'text/csv' } as const;

export const AUDIT_COMMANDS: readonly ClientCommand[] = [
  {
    words: ['audit', 'query'],
    summary: 'audit events, newest first, filtered',
    help: `Usage: vaultpilot audit query [-actor ID] [-action A] [-target T] [-outcome O] [-from T] [-to T]
                          [-limit N] [-format table|json]

Lists audit events of the tenant (GET /audit), newest first.

  -actor ID          who acted: a user's subject or a client id (the table names users;
                     --json shows each event's actor.id)
  -action A          such as secret.read, credential.rotate
  -target T          a secret path or credential id
  -outcome O         attempted, allowed, denied or failed
  -from, -to TIME    ISO-8601 bounds
  -limit N           events to show (1-1000, default 100)`,
    options: {
      actor: { type: 'string' },
      action: { type: 'string' },
      target: { type: 'string' },
      outcome: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
    },
    async run(context) {
      noPositionals(context);
      const values = context.args.values;
      const answer = await (
        await context.api()
      ).call('GET', '/audit', AuditEventsResponse, {
        query: {
          actor: stringValue(values, 'actor'),
          action: stringValue(values, 'action'),
          target: stringValue(values, 'target'),
          outcome: stringValue(values, 'outcome'),
          from: stringValue(values, 'from'),
          to: stringValue(values, 'to'),
          limit: integerValue(values, 'limit', 1),
        },
      });
      if (context.format === 'json') printJson(context.io, answer);
      else
        printTable(
          context.io,
          ['Time', 'Actor', 'Action', 'Target', 'Outcome'],
          answer.events.map((event) => [
            event.time,
            `${event.actor.kind}:${event.actor.name ?? event.actor.id}`,
            event.action,
            event.target.path ?? event.target.credentialId ?? event.target.policy,
            event.outcome,
          ]),
        );
      return EXIT_OK;
    },
  },
  {
    words: ['audit', 'verify'],
    summary: "verify the tenant's audit chain on the server",
    help: `Usage: vaultpilot audit verify [-format table|json]

Asks the API to verify the tenant's hash chain against its signed digests (GET /audit/verify)
and prints whether it is intact, or the first bad sequence number and why. Exits 0 when intact,
1 when not. (With --file or --tenant, 'vaultpilot audit verify' checks an export or a local data
directory offline instead: 'vaultpilot audit verify --file X --help'.)`,
    options: {},
    async run(context) {
      noPositionals(context);
      const result = await (await context.api()).call('GET', '/audit/verify', AuditVerifyResponse);
      if (context.format === 'json') printJson(context.io, result);
      else context.io.stdout.write(describeServerVerification(result));
      return result.ok ? EXIT_OK : EXIT_FAILURE;
    },
  },
  {
    words: ['audit', 'export'],
    summary: "export the tenant's audit chain from the server",
    help: `Usage: vaultpilot audit export [-format ndjson|csv] [-out FILE]

Writes the chain as GET /audit/export serves it: NDJSON (entries, signed digests, public key;
what 'vaultpilot audit verify --file' checks offline) or CSV, to stdout or FILE (mode 0600).
(With --tenant, it exports from a local data directory instead.)

  -format FORMAT     ndjson (default) or csv
  -out FILE          write to FILE instead of stdout`,
    options: { format: { type: 'string' }, out: { type: 'string' } },
    async run(context) {
      noPositionals(context);
      const type = stringValue(context.args.values, 'format') ?? 'ndjson';
      if (type !== 'ndjson' && type !== 'csv') throw new CliUsageError('-format must be ndjson or csv');
      const text = await (
        await context.api()
      ).text('GET', '/audit/export', [EXPORT_MEDIA_TYPES[type]], { query: { format: type } });
      const out = stringValue(context.args.values, 'out');
      if (out === undefined) context.io.stdout.write(text);
      else {
        const file = resolve(context.io.cwd ?? process.cwd(), out);
        await writeFile(file, text, { mode: 0o600 });
        context.io.stderr.write(`Wrote ${Buffer.byteLength(text, 'utf8')} bytes to ${file}\n`);
      }
      return EXIT_OK;
    },
  },
];
