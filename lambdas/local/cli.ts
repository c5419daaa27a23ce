/**
 * The `vaultpilot` command: manages the local runtime's users and machine clients in the data
 * directory (`VAULTPILOT_DATA_DIR`, default `.vaultpilot`), whether or not the server runs; a
 * running server re-reads the identity store on every sign-in, so changes apply at once.
 *
 * Subcommands are rows of `COMMANDS`; a new one (`audit verify`, `rewrap`, ...) is one more row.
 * Exit codes: 0 success, 1 a problem with the local state or configuration (or a conflict),
 * 2 a usage or validation error. Expected errors print one message, never a stack trace.
 */
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DomainError, ValidationError } from '../core/errors.js';
import { ROLES, TENANT_PATTERN } from '../core/principal.js';
import { ConfigError, parseLocalRuntimeConfig, readEnvironment } from '../shared/config.js';
import { ALL_SCOPES } from '../shared/scopes.js';
import {
  IdentityStore,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  type ScryptCost,
} from './identity-store.js';
import { LocalStateError } from './local-state-error.js';
import { rewrapDataDir } from './rewrap.js';
import { publicKeyFingerprint } from '../core/audit/audit-digest.js';
import { verificationSummary } from '../core/audit/chain-verifier.js';
import {
  describeVerification,
  exportLocalChain,
  localPublicKey,
  readPublicKey,
  verifyExportFile,
  verifyLocalChain,
} from './audit-cli.js';

export interface CliIo {
  readonly stdin: AsyncIterable<string | Buffer> & { readonly isTTY?: boolean };
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where relative paths (the data dir, the config file) resolve; defaults to process.cwd(). */
  readonly cwd?: string;
}

/** Only for tests, which lower the scrypt cost to stay fast; the shim never passes it. */
export interface CliOptions {
  readonly scryptCost?: ScryptCost;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A mistake in how the command was called: printed with a pointer to the help, exit 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

type OptionValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

interface CommandContext {
  readonly io: CliIo;
  readonly values: OptionValues;
  /** Opens the identity store of the configured data directory. */
  readonly identityStore: () => Promise<IdentityStore>;
}

export interface CliCommand {
  /** The words that name it, e.g. ['users', 'add']. */
  readonly words: readonly string[];
  readonly summary: string;
  /** Synopsis and option lines shown by `vaultpilot <command> --help`. */
  readonly help: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(context: CommandContext): Promise<number>;
}

const COMMON_OPTIONS = {
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

const COMMON_HELP = `  --data-dir DIR     data directory (env VAULTPILOT_DATA_DIR, default .vaultpilot)
  -h, --help         show this help`;

/** Passwords are read from stdin only; anything longer than this is not a password. */
const MAX_STDIN_BYTES = 4096;

function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function requiredOption(values: OptionValues, name: string): string {
  const value = stringOption(values, name);
  if (value === undefined || value.length === 0) throw new CliUsageError(`--${name} is required`);
  return value;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Reads the whole of stdin and drops one trailing newline (as `echo` and here-strings add). */
async function readSecretFromStdin(io: CliIo): Promise<string> {
  if (io.stdin.isTTY === true) io.stderr.write('Enter the password, then press Enter and Ctrl-D:\n');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    size += buffer.length;
    if (size > MAX_STDIN_BYTES)
      throw new CliUsageError(`stdin holds more than ${MAX_STDIN_BYTES} bytes; expected one password`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export const COMMANDS: readonly CliCommand[] = [
  {
    words: ['users', 'add'],
    summary: 'add a user; the password is read from stdin',
    help: `Usage: vaultpilot users add --username NAME --tenant TENANT --groups GROUP[,GROUP] --password-stdin

Adds a user who signs in at POST /auth/token. Prints {"username","tenant","groups"}.

  --username NAME    1-128 letters, digits or . _ @ - (unique, case-insensitively)
  --tenant TENANT    1-63 lowercase letters, digits or dashes
  --groups LIST      comma-separated, from: ${ROLES.join(', ')}
  --password-stdin   read the password (${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters) from stdin; required,
                     since a password given as an argument ends up in shell history and ps
${COMMON_HELP}

Example:
  printf '%s' "$PASSWORD" | npx vaultpilot users add --username alice --tenant default \\
    --groups operator,viewer --password-stdin`,
    options: {
      username: { type: 'string' },
      tenant: { type: 'string' },
      groups: { type: 'string' },
      'password-stdin': { type: 'boolean' },
    },
    async run({ io, values, identityStore }) {
      const username = requiredOption(values, 'username');
      const tenant = requiredOption(values, 'tenant');
      const groups = list(requiredOption(values, 'groups'));
      if (values['password-stdin'] !== true) {
        throw new CliUsageError(
          '--password-stdin is required: pipe the password on stdin, never pass it as an argument',
        );
      }
      const store = await identityStore();
      const password = await readSecretFromStdin(io);
      const user = await store.addUser({ username, password, tenant, groups });
      printJson(io, { username: user.username, tenant: user.tenant, groups: user.groups });
      return EXIT_OK;
    },
  },
  {
    words: ['users', 'list'],
    summary: 'list users (JSON; no password hashes)',
    help: `Usage: vaultpilot users list

Prints the users as a JSON array of {"username","sub","tenant","groups","createdAt"}.

${COMMON_HELP}`,
    options: {},
    async run({ io, identityStore }) {
      printJson(io, await (await identityStore()).listUsers());
      return EXIT_OK;
    },
  },
  {
    words: ['clients', 'add'],
    summary: 'add a machine client; prints its id and secret, once',
    help: `Usage: vaultpilot clients add --tenant TENANT --scopes SCOPE[,SCOPE] [--name NAME]

Adds a machine client for the client-credentials grant at POST /oauth2/token and prints
{"clientId","clientSecret"}. The secret is shown only this once; only its hash is kept.

  --tenant TENANT    1-63 lowercase letters, digits or dashes
  --scopes LIST      comma-separated, from: ${ALL_SCOPES.join(', ')}
  --name NAME        optional label (letters, digits, spaces, . _ @ ( ) / -)
${COMMON_HELP}`,
    options: {
      tenant: { type: 'string' },
      scopes: { type: 'string' },
      name: { type: 'string' },
    },
    async run({ io, values, identityStore }) {
      const tenant = requiredOption(values, 'tenant');
      const scopes = list(requiredOption(values, 'scopes'));
      const name = stringOption(values, 'name');
      const store = await identityStore();
      const { clientId, clientSecret } = await store.addClient({
        tenant,
        scopes,
        ...(name === undefined ? {} : { name }),
      });
      printJson(io, { clientId, clientSecret });
      return EXIT_OK;
    },
  },
  {
    words: ['clients', 'list'],
    summary: 'list machine clients (JSON; no secrets)',
    help: `Usage: vaultpilot clients list

Prints the machine clients as a JSON array of {"clientId","name"?,"tenant","scopes","createdAt"}.

${COMMON_HELP}`,
    options: {},
    async run({ io, identityStore }) {
      printJson(io, await (await identityStore()).listClients());
      return EXIT_OK;
    },
  },
  {
    words: ['rewrap'],
    summary: 're-wrap every secret data key under the current key (server stopped)',
    help: `Usage: vaultpilot rewrap [--rotate-key] [--tenant TENANT] [--batch N] [--restart]

Re-wraps the data key of every stored secret version under the local keyring's current
key-encryption key, without decrypting any value, tenant by tenant, printing progress on
stderr and a JSON summary on stdout. It opens the data directory itself, so stop the server
first; while it runs, use POST /admin/rewrap with an admin token instead.

Resumable: the position is saved in <data dir>/rewrap-progress.json after every step, and a
new run under the same key continues there. Running it again from the start is also safe.

  --rotate-key       add a new key-encryption key and make it current first
  --tenant TENANT    only this tenant (default: every tenant with secrets)
  --batch N          versions per step, 1-1000 (default 100)
  --restart          ignore a saved position
${COMMON_HELP}`,
    options: {
      'rotate-key': { type: 'boolean' },
      tenant: { type: 'string' },
      batch: { type: 'string' },
      restart: { type: 'boolean' },
    },
    async run({ io, values }) {
      const batchText = stringOption(values, 'batch');
      const batch = batchText === undefined ? undefined : Number(batchText);
      if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 1000)) {
        throw new CliUsageError('--batch must be a whole number from 1 to 1000');
      }
      const tenant = stringOption(values, 'tenant');
      if (tenant !== undefined && !TENANT_PATTERN.test(tenant)) {
        throw new CliUsageError('--tenant must be 1-63 lowercase letters, digits or dashes');
      }
      const summary = await rewrapDataDir({
        dataDir: dataDirFrom(io, values),
        tenant,
        rotateKey: values['rotate-key'] === true,
        restart: values.restart === true,
        batch,
        progress: (line) => io.stderr.write(`${line}\n`),
      });
      printJson(io, summary);
      return EXIT_OK;
    },
  },
  ...auditCommands(),
];

/** `vaultpilot audit …`: verify an export offline, or the data directory's chain (ADR 0004). */
function auditCommands(): CliCommand[] {
  return [
    {
      words: ['audit', 'verify'],
      summary: 'verify an audit export (--file, offline) or a tenant chain (--tenant, server stopped)',
      help: `Usage: vaultpilot audit verify --file EXPORT.ndjson [--public-key KEY.pem] [--json]
       vaultpilot audit verify --tenant TENANT [--json]

Verifies a tenant's tamper-evident audit chain against its signed digests and prints whether it
is intact or the first bad sequence number and why (modified, missing, inserted, reordered,
truncated, bad-signature). Exits 0 when intact, 1 when not (or when the input is unusable).

--file verifies an NDJSON export (GET /audit/export?format=ndjson) offline: no server, no data
directory, no AWS account. Digests are checked with --public-key (a PEM file from
GET /audit/public-key, obtained apart from the export), else with the key inside the export,
which only proves the export is consistent with itself.

--tenant verifies the chain stored in the data directory; it opens the database, so stop the
server first (while it runs, use GET /audit/verify).

  --file FILE        the NDJSON export
  --public-key KEY   PEM file of the digest signing key
  --tenant TENANT    a tenant of the local data directory instead of a file
  --json             print what GET /audit/verify answers instead of text:
                     {"ok","checked","firstSeq","lastSeq","digestsVerified","firstBad":{"seq","reason"}|null}
${COMMON_HELP}`,
      options: {
        file: { type: 'string' },
        'public-key': { type: 'string' },
        tenant: { type: 'string' },
        json: { type: 'boolean' },
      },
      async run({ io, values }) {
        const file = stringOption(values, 'file');
        const tenant = stringOption(values, 'tenant');
        if ((file === undefined) === (tenant === undefined)) {
          throw new CliUsageError('give exactly one of --file or --tenant');
        }
        const keyArgument = stringOption(values, 'public-key');
        if (tenant !== undefined && keyArgument !== undefined) {
          throw new CliUsageError('--public-key applies to --file; a data directory uses its own key');
        }
        if (tenant !== undefined && !TENANT_PATTERN.test(tenant)) {
          throw new CliUsageError('--tenant must be 1-63 lowercase letters, digits or dashes');
        }
        const cwd = io.cwd ?? process.cwd();
        let result;
        let key: { fingerprint: string | undefined; fromExport: boolean };
        if (file !== undefined) {
          const publicKey =
            keyArgument === undefined ? undefined : await readPublicKey(resolve(cwd, keyArgument));
          result = await verifyExportFile(resolve(cwd, file), publicKey);
          key = {
            fingerprint: publicKey === undefined ? result.keyFingerprint : publicKeyFingerprint(publicKey),
            fromExport: publicKey === undefined,
          };
        } else {
          result = await verifyLocalChain(dataDirFrom(io, values), tenant ?? '');
          key = { fingerprint: result.fingerprint, fromExport: false };
        }
        if (values.json === true) {
          printJson(io, verificationSummary(result));
        } else {
          io.stdout.write(describeVerification(result, key));
        }
        return result.ok ? EXIT_OK : EXIT_FAILURE;
      },
    },
    {
      words: ['audit', 'export'],
      summary: "export a tenant's audit chain from the data directory (server stopped)",
      help: `Usage: vaultpilot audit export --tenant TENANT [--format ndjson|csv] [--out FILE]

Writes the tenant's audit chain, as GET /audit/export does: NDJSON (entries, signed digests and
the public key; what 'vaultpilot audit verify --file' reads) or CSV. It opens the database, so
stop the server first (while it runs, use GET /audit/export).

  --tenant TENANT    the tenant
  --format FORMAT    ndjson (default) or csv
  --out FILE         write to FILE (mode 0600) instead of stdout
${COMMON_HELP}`,
      options: {
        tenant: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
      },
      async run({ io, values }) {
        const tenant = requiredOption(values, 'tenant');
        if (!TENANT_PATTERN.test(tenant)) {
          throw new CliUsageError('--tenant must be 1-63 lowercase letters, digits or dashes');
        }
        const format = stringOption(values, 'format') ?? 'ndjson';
        if (format !== 'ndjson' && format !== 'csv')
          throw new CliUsageError('--format must be ndjson or csv');
        const out = stringOption(values, 'out');
        const cwd = io.cwd ?? process.cwd();
        await exportLocalChain(
          dataDirFrom(io, values),
          tenant,
          format,
          out === undefined ? undefined : resolve(cwd, out),
          (text) => io.stdout.write(text),
        );
        return EXIT_OK;
      },
    },
    {
      words: ['audit', 'public-key'],
      summary: 'print the local digest signing public key (PEM)',
      help: `Usage: vaultpilot audit public-key

Prints the public key the local runtime signs audit digests with (PEM), as GET /audit/public-key
serves it, for 'vaultpilot audit verify --file … --public-key'.

${COMMON_HELP}`,
      options: {},
      async run({ io, values }) {
        io.stdout.write(await localPublicKey(dataDirFrom(io, values)));
        return EXIT_OK;
      },
    },
  ];
}

export function usage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.words.join(' ').length), 'help'.length) + 3;
  const lines = COMMANDS.map((command) => `  ${command.words.join(' ').padEnd(width)}${command.summary}`);
  return `Usage: vaultpilot <command> [options]

Manages the local runtime's users and machine clients in the data directory
(VAULTPILOT_DATA_DIR, default .vaultpilot), whether or not the server runs, and
maintains its data (some commands need the server stopped; their help says so).

Commands:
${lines.join('\n')}
  ${'help'.padEnd(width)}show this help

Options of every command:
${COMMON_HELP}

Run 'vaultpilot <command> --help' for the options of a command.
`;
}

/** The command named by the leading words of `argv`, and the arguments after them. */
function findCommand(argv: readonly string[]): { command: CliCommand; rest: string[] } | undefined {
  const matches = COMMANDS.filter((command) => command.words.every((word, index) => argv[index] === word));
  const command = matches.sort((a, b) => b.words.length - a.words.length)[0];
  return command === undefined ? undefined : { command, rest: argv.slice(command.words.length) };
}

function dataDirFrom(io: CliIo, values: OptionValues): string {
  const cwd = io.cwd ?? process.cwd();
  const override = stringOption(values, 'data-dir');
  const config = parseLocalRuntimeConfig({
    ...readEnvironment(io.env, cwd),
    ...(override === undefined ? {} : { VAULTPILOT_DATA_DIR: override, VAULTPILOT_IN_MEMORY: 'false' }),
  });
  if (config.inMemory) {
    throw new ConfigError(
      'VAULTPILOT_IN_MEMORY is true: an in-memory server keeps its users in its own process, out of reach of this ' +
        'command. Unset it (or pass --data-dir) to manage a data directory',
    );
  }
  return resolve(cwd, config.dataDir);
}

function describeUnexpected(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Runs one `vaultpilot` invocation and returns its exit code. Takes its streams and environment
 * as arguments, so tests run it in-process.
 */
export async function runCli(argv: readonly string[], io: CliIo, options: CliOptions = {}): Promise<number> {
  const [first] = argv;
  if (first === undefined) {
    io.stderr.write(usage());
    return EXIT_USAGE;
  }
  if (first === 'help' || first === '--help' || first === '-h') {
    const topic = findCommand(argv.slice(1));
    io.stdout.write(topic === undefined ? usage() : `${topic.command.help}\n`);
    return EXIT_OK;
  }
  const found = findCommand(argv);
  if (found === undefined) {
    const known = COMMANDS.some((command) => command.words[0] === first);
    io.stderr.write(
      `vaultpilot: ${known ? `'${argv.join(' ')}' needs a subcommand` : `unknown command '${first}'`}\n\n${usage()}`,
    );
    return EXIT_USAGE;
  }
  const { command, rest } = found;
  const name = command.words.join(' ');

  try {
    if (rest.some((arg) => arg === '--password' || arg.startsWith('--password='))) {
      throw new CliUsageError(
        'a password is never taken as an argument (it would end up in shell history); use --password-stdin',
      );
    }
    let values: OptionValues;
    try {
      ({ values } = parseArgs({
        args: [...rest],
        options: { ...command.options, ...COMMON_OPTIONS },
        strict: true,
        allowPositionals: false,
      }));
    } catch (error: unknown) {
      throw new CliUsageError(error instanceof Error ? error.message : String(error));
    }
    if (values.help === true) {
      io.stdout.write(`${command.help}\n`);
      return EXIT_OK;
    }
    const context: CommandContext = {
      io,
      values,
      identityStore: () =>
        IdentityStore.open({
          dataDir: dataDirFrom(io, values),
          ...(options.scryptCost === undefined ? {} : { scryptCost: options.scryptCost }),
        }),
    };
    return await command.run(context);
  } catch (error: unknown) {
    if (error instanceof CliUsageError) {
      io.stderr.write(
        `vaultpilot ${name}: ${error.message}\nRun 'vaultpilot ${name} --help' for its options.\n`,
      );
      return EXIT_USAGE;
    }
    if (error instanceof ValidationError) {
      io.stderr.write(`vaultpilot ${name}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof DomainError) {
      // A conflict (the user exists) and the like: the call was well-formed, the state says no.
      io.stderr.write(`vaultpilot ${name}: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    if (error instanceof LocalStateError || error instanceof ConfigError) {
      io.stderr.write(`${error.message}\n`);
      return EXIT_FAILURE;
    }
    // Unexpected: still one line, no stack (no secret can be in it: inputs are never echoed).
    io.stderr.write(`vaultpilot ${name}: unexpected error: ${describeUnexpected(error)}\n`);
    return EXIT_FAILURE;
  }
}
