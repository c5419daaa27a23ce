/**
 * `vaultpilot` as a client of any deployment: login, kv, run, credentials, discovery, audit.
 * bin/vaultpilot-cli.cjs sends these commands here and the data-directory commands (users,
 * clients, rewrap, audit with --file/--tenant) to lambdas/local/cli.ts.
 *
 * This module imports only its own folder and the API contracts, never the runtime, so the
 * command starts fast (docs/cli.md). Exit codes: 0 success, 1 failure (the API said no, the
 * server is down or answered what the API does not, a rotation failed), 2 usage error; `run`
 * passes on its command's.
 */
import { issueLines } from './answers.js';
import { ApiClient, FixedToken } from './api.js';
import { parseArguments, stringValue, type OptionSpecs, type ParsedArguments } from './args.js';
import { Session } from './auth.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type ClientCommand, type CommandContext } from './command.js';
import {
  ApiError,
  CliUsageError,
  CommandFailedError,
  MalformedAnswerError,
  NotSignedInError,
  ProfileError,
  ServerUnreachableError,
} from './errors.js';
import type { ClientIo } from './io.js';
import { KV_COMMANDS } from './kv.js';
import type { OutputFormat } from './output.js';
import { configDirectory, PROFILE_NAME, ProfileStore } from './profiles.js';
import { RUN_COMMAND } from './run.js';

export type { ClientIo } from './io.js';

export interface CommandGroup {
  /** The first words of its commands. */
  readonly words: readonly string[];
  load(): Promise<readonly ClientCommand[]>;
}

/**
 * The commands, by group. The commands that read secrets (kv, run) are part of the entry; the
 * others load when one of their words starts the command line (all of them for the usage text
 * and completion), so a `$(vaultpilot kv get …)` neither loads nor compiles login, rotations or
 * audit. (Lazy kv and run measured slower: each group chunk drags in its own small shared chunks,
 * and every ES module costs its load.)
 */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  {
    words: ['login', 'logout', 'whoami', 'profiles'],
    load: async () => (await import('./login.js')).SESSION_COMMANDS,
  },
  { words: ['kv'], load: async () => KV_COMMANDS },
  { words: ['run'], load: async () => [RUN_COMMAND] },
  {
    words: ['credentials', 'discovery', 'audit'],
    load: async () => {
      const { CREDENTIAL_COMMANDS, DISCOVERY_COMMANDS, AUDIT_COMMANDS } = await import('./operations.js');
      return [...CREDENTIAL_COMMANDS, ...DISCOVERY_COMMANDS, ...AUDIT_COMMANDS];
    },
  },
  {
    words: ['completion'],
    load: async () => [(await import('./completion.js')).completionCommand(allCommands)],
  },
];

/** Every command, in the order of the usage text. */
export async function allCommands(): Promise<readonly ClientCommand[]> {
  return (await Promise.all(COMMAND_GROUPS.map((group) => group.load()))).flat();
}

const COMMON_OPTIONS: OptionSpecs = {
  profile: { type: 'string' },
  address: { type: 'string' },
  format: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const COMMON_HELP = `Options of every command (-name, --name, -name=value and --name=value all work):
  -profile NAME      the profile (env VAULTPILOT_PROFILE, default 'default')
  -address URL       the API instead of the profile's (env VAULTPILOT_ADDR)
  -format FORMAT     table (default) or json; --json is short for -format=json
  -h, --help         show the help of the command

Environment: VAULTPILOT_TOKEN, a bearer token to use instead of the profile's sign-in (CI).`;

/** The data-directory commands of lambdas/local/cli.ts, listed in the one usage text. */
const LOCAL_COMMANDS = `Local data directory (--data-dir, env VAULTPILOT_DATA_DIR):
  users add | users list | clients add | clients list | rewrap | audit public-key
  audit verify --file EXPORT | --tenant TENANT    verify offline (an export, or the data directory)
  audit export --tenant TENANT                    export from the data directory`;

export async function clientUsage(): Promise<string> {
  const commands = await allCommands();
  const width = Math.max(...commands.map((command) => command.words.join(' ').length)) + 3;
  const lines = commands.map((command) => `  ${command.words.join(' ').padEnd(width)}${command.summary}`);
  return `Usage: vaultpilot <command> [options]

A client of any VaultPilot deployment, and the administrator of the local runtime's data.

Commands:
${lines.join('\n')}

${LOCAL_COMMANDS}

${COMMON_HELP}

Exit codes: 0 success, 1 failure (refused by the API, server unreachable, an answer that is not
the API's, rotation failed, audit chain broken), 2 usage error; 'run' exits with its command's code.
Run 'vaultpilot <command> --help' for the options of a command. Docs: docs/cli.md.
`;
}

async function findCommand(
  argv: readonly string[],
): Promise<{ command: ClientCommand; rest: string[] } | undefined> {
  const group = COMMAND_GROUPS.find((candidate) => candidate.words.includes(argv[0] ?? ''));
  if (group === undefined) return undefined;
  const matches = (await group.load()).filter((command) =>
    command.words.every((word, index) => argv[index] === word),
  );
  const command = matches.sort((a, b) => b.words.length - a.words.length)[0];
  return command === undefined ? undefined : { command, rest: argv.slice(command.words.length) };
}

/**
 * The usage of the subcommands under the command words `argv` starts with (`credentials`,
 * `kv metadata`); undefined when no command has them as a prefix.
 */
async function subcommandsUsage(argv: readonly string[]): Promise<string | undefined> {
  const leading: string[] = [];
  for (const word of argv) {
    if (word.startsWith('-')) break;
    leading.push(word);
  }
  const group = COMMAND_GROUPS.find((candidate) => candidate.words.includes(leading[0] ?? ''));
  if (group === undefined) return undefined;
  const commands = await group.load();
  for (let length = leading.length; length >= 1; length -= 1) {
    const prefix = leading.slice(0, length);
    const under = commands.filter(
      (command) =>
        command.words.length > length && prefix.every((word, index) => command.words[index] === word),
    );
    if (under.length === 0) continue;
    const name = prefix.join(' ');
    const width = Math.max(...under.map((command) => command.words.join(' ').length)) + 3;
    const lines = under.map((command) => `  ${command.words.join(' ').padEnd(width)}${command.summary}`);
    return `Usage: vaultpilot ${name} <subcommand> [options]

Subcommands:
${lines.join('\n')}

Run 'vaultpilot ${name} <subcommand> --help' for its options.
`;
  }
  return undefined;
}

function outputFormat(args: ParsedArguments, commandOwnsFormat: boolean): OutputFormat {
  if (args.values.json === true) return 'json';
  if (commandOwnsFormat) return 'table';
  const format = stringValue(args.values, 'format') ?? 'table';
  if (format !== 'table' && format !== 'json')
    throw new CliUsageError(`-format must be table or json, not '${format}'`);
  return format;
}

function describeFailure(error: unknown): string {
  if (error instanceof ApiError) {
    const request = error.requestId === undefined ? '' : ` (request id ${error.requestId})`;
    const details = issueLines(error.details)
      .slice(0, 5)
      .map((line) => `\n  ${line}`)
      .join('');
    if (error.status === 403) return `permission denied: ${error.message}${request}`;
    if (error.status === 409) return `conflict: ${error.message}${request}`;
    return `${error.status} ${error.code}: ${error.message}${request}${details}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs one client invocation and returns its exit code. Takes its streams and environment as
 * arguments, so tests run it in-process.
 */
export async function runClient(argv: readonly string[], io: ClientIo): Promise<number> {
  const [first] = argv;
  if (first === undefined) {
    io.stderr.write(await clientUsage());
    return EXIT_USAGE;
  }
  if (first === 'help' || first === '--help' || first === '-h') {
    const topic = await findCommand(argv.slice(1));
    io.stdout.write(
      topic === undefined
        ? ((await subcommandsUsage(argv.slice(1))) ?? (await clientUsage()))
        : `${topic.command.help}\n\n${COMMON_HELP}\n`,
    );
    return EXIT_OK;
  }
  const found = await findCommand(argv);
  if (found === undefined) {
    const subcommands = await subcommandsUsage(argv);
    if (subcommands !== undefined && argv.some((word) => word === '--help' || word === '-h')) {
      io.stdout.write(subcommands);
      return EXIT_OK;
    }
    const known = COMMAND_GROUPS.some((group) => group.words.includes(first));
    io.stderr.write(
      `vaultpilot: ${known ? `'${argv.join(' ')}' needs a subcommand` : `unknown command '${first}'`}\n\n${subcommands ?? (await clientUsage())}`,
    );
    return EXIT_USAGE;
  }
  const { command, rest } = found;
  const name = command.words.join(' ');
  try {
    const args = parseArguments(rest, { ...COMMON_OPTIONS, ...command.options });
    if (args.values.help === true) {
      io.stdout.write(`${command.help}\n\n${COMMON_HELP}\n`);
      return EXIT_OK;
    }
    if (args.rest !== undefined && name !== 'run')
      throw new CliUsageError(`unexpected '--' (only 'vaultpilot run' takes a command)`);
    const format = outputFormat(args, Object.hasOwn(command.options, 'format'));
    const profileName = stringValue(args.values, 'profile') ?? io.env.VAULTPILOT_PROFILE ?? 'default';
    if (!PROFILE_NAME.test(profileName))
      throw new CliUsageError('-profile takes 1-64 letters, digits, dots, dashes or underscores');
    const profiles = new ProfileStore(configDirectory(io.env));
    let api: ApiClient | undefined;
    const context: CommandContext = {
      io,
      args,
      format,
      profileName,
      profiles,
      async api() {
        if (api !== undefined) return api;
        const address = stringValue(args.values, 'address') ?? io.env.VAULTPILOT_ADDR;
        const token = io.env.VAULTPILOT_TOKEN;
        if (token !== undefined && token.length > 0) {
          const base = address ?? (await profiles.profile(profileName))?.apiUrl;
          if (base === undefined)
            throw new CliUsageError('VAULTPILOT_TOKEN is set: give the API with -address or VAULTPILOT_ADDR');
          api = new ApiClient(base, new FixedToken(token));
          return api;
        }
        const profile = await profiles.profile(profileName);
        if (profile === undefined)
          throw new NotSignedInError(
            `no profile '${profileName}': run 'vaultpilot login -address URL' first`,
          );
        // The profile's token goes only to the API it was issued for: an -address (or a stray
        // VAULTPILOT_ADDR) pointing elsewhere would hand it to another server.
        if (address !== undefined && address.replace(/\/+$/, '') !== profile.apiUrl.replace(/\/+$/, ''))
          throw new CliUsageError(
            `profile '${profileName}' is signed in to ${profile.apiUrl}, not ${address}: sign in there with another -profile, or use VAULTPILOT_TOKEN`,
          );
        api = new ApiClient(profile.apiUrl, new Session(profiles, profileName, profile.auth, io.env));
        return api;
      },
    };
    return await command.run(context);
  } catch (error: unknown) {
    if (error instanceof CliUsageError) {
      io.stderr.write(
        `vaultpilot ${name}: ${error.message}\nRun 'vaultpilot ${name} --help' for its options.\n`,
      );
      return EXIT_USAGE;
    }
    if (
      error instanceof ApiError ||
      error instanceof ServerUnreachableError ||
      error instanceof NotSignedInError ||
      error instanceof ProfileError ||
      error instanceof CommandFailedError ||
      error instanceof MalformedAnswerError
    ) {
      io.stderr.write(`vaultpilot ${name}: ${describeFailure(error)}\n`);
      return EXIT_FAILURE;
    }
    // Unexpected: still one line, no stack; inputs and values are never part of these messages.
    io.stderr.write(
      `vaultpilot ${name}: unexpected error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`,
    );
    return EXIT_FAILURE;
  }
}
