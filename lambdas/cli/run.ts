/**
 * `vaultpilot run --path PATH [--path …] -- command args`: the command runs with each secret's
 * fields as environment variables, in memory only (nothing is written to disk), and its exit
 * code (or the signal that ended it, as 128 + number) becomes ours.
 */
import { listValue } from './args.js';
import type { ClientCommand } from './command.js';
import { CliUsageError, CommandFailedError } from './errors.js';
import { readSecret } from './kv.js';

/** `db-password` → `DB_PASSWORD`: upper-cased, anything but A-Z 0-9 _ becomes _, no leading digit. */
export function environmentName(field: string): string {
  const name = field.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

export interface SecretFields {
  readonly path: string;
  readonly data: Readonly<Record<string, string>>;
}

/**
 * The variables of all secrets, or an error naming both origins of a name that two fields map
 * to (two paths, or two spellings in one path): one value silently winning would be a bug to find.
 */
export function secretEnvironment(secrets: readonly SecretFields[]): Record<string, string> {
  const variables: Record<string, string> = {};
  const origins = new Map<string, string>();
  for (const { path, data } of secrets) {
    for (const [field, value] of Object.entries(data)) {
      const name = environmentName(field);
      const origin = `${path} (field ${field})`;
      const previous = origins.get(name);
      if (previous !== undefined)
        throw new CommandFailedError(
          `${name} would come from both ${previous} and ${origin}; refusing to run`,
        );
      origins.set(name, origin);
      variables[name] = value;
    }
  }
  return variables;
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

export const RUN_COMMAND: ClientCommand = {
  words: ['run'],
  summary: "run a command with secrets' fields as environment variables",
  help: `Usage: vaultpilot run --path PATH [--path PATH]... -- COMMAND [ARGS]...

Reads the latest version of each PATH and runs COMMAND with their fields added to the
environment: names upper-cased, characters other than letters, digits and _ turned into _
(db-password -> DB_PASSWORD). Two fields that map to the same name are refused, naming both.
Nothing is written to disk. Signals (INT, TERM, HUP, QUIT) are passed on to the command, and
its exit code is vaultpilot's (128 + the signal number if a signal ended it).

  --path PATH        a secret to load (repeatable)

Example:
  vaultpilot run --path prod/db --path prod/api -- node server.js`,
  options: { path: { type: 'string', multiple: true } },
  async run(context) {
    const paths = listValue(context.args.values, 'path');
    if (paths.length === 0) throw new CliUsageError('--path is required');
    const command = context.args.rest ?? [];
    if (context.args.positionals.length > 0)
      throw new CliUsageError(
        `put the command after --: vaultpilot run --path PATH -- ${context.args.positionals.join(' ')}`,
      );
    const [program, ...programArgs] = command;
    if (program === undefined) throw new CliUsageError('no command given after --');
    const api = await context.api();
    const secrets: SecretFields[] = [];
    for (const path of paths) {
      const answer = await readSecret(api, path.replace(/^\/+|\/+$/g, ''));
      secrets.push({ path, data: answer.data.data });
    }
    const variables = secretEnvironment(secrets);
    // Loaded here: node:child_process (and os, for signal numbers) would be part of every start
    // otherwise (kv shares the bundle).
    const [{ spawn }, { constants }] = await Promise.all([import('node:child_process'), import('node:os')]);
    const child = spawn(program, programArgs, {
      stdio: 'inherit',
      env: { ...context.io.env, ...variables },
      cwd: context.io.cwd ?? process.cwd(),
    });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    try {
      return await new Promise<number>((resolve, reject) => {
        child.once('error', (error) =>
          reject(
            new CommandFailedError(
              `cannot run ${program}: ${'code' in error ? String(error.code) : error.message}`,
            ),
          ),
        );
        child.once('exit', (code, signal) => {
          if (signal !== null) resolve(128 + (constants.signals[signal] ?? 0));
          else resolve(code ?? 1);
        });
      });
    } finally {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    }
  },
};
