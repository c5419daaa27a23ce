/**
 * `vaultpilot kv …`: the secret store (`/secrets/*` of the API) with the Vault CLI's habits.
 * A value reaches stdout only as the output of `kv get` (all fields, or `-field`).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ListSecretsAnswer,
  NoContent,
  ReadSecretAnswer,
  SecretMetadataAnswer,
  WriteSecretAnswer,
  type VersionMetadata,
} from './answers.js';
import { encodePath, type ApiClient } from './api.js';
import { integerValue, listValue, stringValue, versionList } from './args.js';
import { EXIT_OK, type ClientCommand, type CommandContext } from './command.js';
import { CliUsageError, CommandFailedError } from './errors.js';
import { readStdin, type ClientIo } from './io.js';
import { printJson, printPairs, printTable } from './output.js';

/** The service refuses values over 64 KiB; a little slack for JSON punctuation. */
const MAX_VALUE_BYTES = 80 * 1024;

function secretPath(context: CommandContext, position = 0): string {
  const path = context.args.positionals[position];
  if (path === undefined || path.length === 0) throw new CliUsageError('a secret path is required');
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  if (
    trimmed.length === 0 ||
    trimmed.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')
  )
    throw new CliUsageError(`'${path}' is not a secret path (no empty, . or .. segments)`);
  return trimmed;
}

function noMorePositionals(context: CommandContext, count: number): void {
  const extra = context.args.positionals[count];
  if (extra !== undefined) throw new CliUsageError(`unexpected argument '${extra}'`);
}

function stringFields(value: unknown, source: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CliUsageError(`${source} must hold a JSON object of string fields`);
  const fields: Record<string, string> = {};
  for (const [key, field] of Object.entries(value)) {
    if (typeof field !== 'string')
      throw new CliUsageError(`${source}: field '${key}' is not a string (the store keeps string fields)`);
    fields[key] = field;
  }
  return fields;
}

async function readValueFile(io: ClientIo, name: string): Promise<string> {
  const file = resolve(io.cwd ?? process.cwd(), name);
  try {
    // node:fs, not node:fs/promises: that module loads a dozen more of Node's at every start.
    const text = readFileSync(file, 'utf8');
    if (Buffer.byteLength(text, 'utf8') > MAX_VALUE_BYTES)
      throw new CliUsageError(`${name} is larger than ${MAX_VALUE_BYTES} bytes`);
    return text;
  } catch (error: unknown) {
    if (error instanceof CliUsageError) throw error;
    throw new CliUsageError(`cannot read ${name}`, { cause: error });
  }
}

/**
 * The fields of `put`/`patch`: `-` (a JSON object on stdin), `@file.json` (a JSON object in a
 * file), `key=@file` (the file's content), `key=-` (stdin) or `key=value` (warned: shell history).
 */
export async function secretFields(io: ClientIo, words: readonly string[]): Promise<Record<string, string>> {
  const fields: Record<string, string> = {};
  let stdinUsed = false;
  let literal = false;
  const stdin = async (what: string): Promise<string> => {
    if (stdinUsed) throw new CliUsageError('stdin can be read only once');
    stdinUsed = true;
    try {
      return await readStdin(io, MAX_VALUE_BYTES, what);
    } catch (error: unknown) {
      throw new CliUsageError(error instanceof Error ? error.message : String(error));
    }
  };
  const parseJson = (text: string, source: string): Record<string, string> => {
    try {
      return stringFields(JSON.parse(text), source);
    } catch (error: unknown) {
      if (error instanceof CliUsageError) throw error;
      throw new CliUsageError(`${source} is not valid JSON`);
    }
  };
  for (const word of words) {
    if (word === '-') Object.assign(fields, parseJson(await stdin('a JSON object'), 'stdin'));
    else if (word.startsWith('@'))
      Object.assign(fields, parseJson(await readValueFile(io, word.slice(1)), word));
    else {
      const equals = word.indexOf('=');
      if (equals <= 0)
        throw new CliUsageError(`'${word}' is not key=value, key=@file, key=-, @file.json or -`);
      const key = word.slice(0, equals);
      const value = word.slice(equals + 1);
      if (key.length > 256)
        throw new CliUsageError(`field name '${key.slice(0, 20)}…' is longer than 256 characters`);
      if (value === '-') fields[key] = (await stdin('a value')).replace(/\r?\n$/, '');
      else if (value.startsWith('@')) fields[key] = await readValueFile(io, value.slice(1));
      else {
        fields[key] = value;
        literal = true;
      }
    }
  }
  if (literal)
    io.stderr.write(
      'Warning: values given as key=value stay in your shell history and are visible in ps; prefer key=@file or key=- (stdin).\n',
    );
  return fields;
}

function printVersion(context: CommandContext, metadata: VersionMetadata): void {
  if (context.format === 'json') printJson(context.io, metadata);
  else printPairs(context.io, Object.entries(metadata));
}

export function readSecret(api: ApiClient, path: string, version?: number) {
  return api.call('GET', `/secrets/data/${encodePath(path)}`, ReadSecretAnswer(), { query: { version } });
}

async function listAll(api: ApiClient, path: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  const base = path.length === 0 ? '/secrets/metadata' : `/secrets/metadata/${encodePath(path)}`;
  do {
    const answer = await api.call('GET', base, ListSecretsAnswer(), { query: { list: 'true', cursor } });
    keys.push(...answer.data.keys);
    cursor = answer.data.next_cursor;
  } while (cursor !== undefined);
  return keys;
}

const PATH_NOTE = 'PATH is a path in the secret store, such as prod/db (no mount prefix).';

export const KV_COMMANDS: readonly ClientCommand[] = [
  {
    words: ['kv', 'get'],
    summary: 'read a secret (all fields, or one with -field)',
    help: `Usage: vaultpilot kv get [-field NAME] [-version N] [-format table|json] PATH

Reads the latest version of a secret (or -version N). ${PATH_NOTE}
With -field, prints only that field's value, as it is (no trailing newline when piped),
so it can be captured: PASSWORD="$(vaultpilot kv get -field=password prod/db)".

  -field NAME        print only this field
  -version N         read version N instead of the latest`,
    options: { field: { type: 'string' }, version: { type: 'string' } },
    async run(context) {
      const path = secretPath(context);
      noMorePositionals(context, 1);
      const version = integerValue(context.args.values, 'version', 1);
      const field = stringValue(context.args.values, 'field');
      const answer = await readSecret(await context.api(), path, version);
      const { data, metadata } = answer.data;
      if (field !== undefined) {
        if (!Object.hasOwn(data, field))
          throw new CommandFailedError(
            `field '${field}' is not present in ${path} (version ${metadata.version})`,
          );
        context.io.stdout.write(data[field] ?? '');
        if (context.io.stdout.isTTY === true) context.io.stdout.write('\n');
        return EXIT_OK;
      }
      if (context.format === 'json') {
        printJson(context.io, { data, metadata });
        return EXIT_OK;
      }
      context.io.stdout.write('====== Metadata ======\n');
      printPairs(context.io, Object.entries(metadata));
      context.io.stdout.write('\n====== Data ======\n');
      printPairs(context.io, Object.entries(data));
      return EXIT_OK;
    },
  },
  {
    words: ['kv', 'put'],
    summary: 'write a new version of a secret',
    help: `Usage: vaultpilot kv put [-cas N] PATH (- | @FILE.json | KEY=@FILE | KEY=- | KEY=VALUE)...

Writes a new version holding exactly the given fields. ${PATH_NOTE}
Values come from stdin or files so they stay out of shell history:
  -                  a JSON object of string fields on stdin
  @FILE.json         a JSON object of string fields in a file
  KEY=@FILE          the content of FILE as the value of KEY
  KEY=-              stdin as the value of KEY (one trailing newline dropped)
  KEY=VALUE          a literal value (works, with a warning: it lands in shell history)

  -cas N             check-and-set: write only if the current version is N (0: only if new)

Example:
  printf '%s' "$DB_PASSWORD" | vaultpilot kv put prod/db username=app password=-`,
    options: { cas: { type: 'string' } },
    async run(context) {
      const path = secretPath(context);
      const words = context.args.positionals.slice(1);
      if (words.length === 0)
        throw new CliUsageError('no value given: pass KEY=@FILE, KEY=-, @FILE.json or - (stdin)');
      const cas = integerValue(context.args.values, 'cas', 0);
      const data = await secretFields(context.io, words);
      if (Object.keys(data).length === 0) throw new CliUsageError('the value has no fields');
      const answer = await (
        await context.api()
      ).call('POST', `/secrets/data/${encodePath(path)}`, WriteSecretAnswer(), {
        body: { data, ...(cas === undefined ? {} : { options: { cas } }) },
      });
      printVersion(context, answer.data);
      return EXIT_OK;
    },
  },
  {
    words: ['kv', 'patch'],
    summary: 'change some fields of a secret, keeping the others',
    help: `Usage: vaultpilot kv patch [-cas N] PATH (- | @FILE.json | KEY=@FILE | KEY=- | KEY=VALUE)...

Reads the latest version, sets the given fields and writes the result as a new version with
check-and-set on the version read (or -cas N), so a concurrent write is never lost: it fails
with a conflict instead. Values as for 'kv put'. ${PATH_NOTE}

  -cas N             write only if the current version is N`,
    options: { cas: { type: 'string' } },
    async run(context) {
      const path = secretPath(context);
      const words = context.args.positionals.slice(1);
      if (words.length === 0) throw new CliUsageError('no fields given to patch');
      const casOption = integerValue(context.args.values, 'cas', 1);
      const changes = await secretFields(context.io, words);
      const api = await context.api();
      const current = await readSecret(api, path);
      const cas = casOption ?? current.data.metadata.version;
      const answer = await api.call('POST', `/secrets/data/${encodePath(path)}`, WriteSecretAnswer(), {
        body: { data: { ...current.data.data, ...changes }, options: { cas } },
      });
      printVersion(context, answer.data);
      return EXIT_OK;
    },
  },
  {
    words: ['kv', 'list'],
    summary: 'list the keys under a path (folders end with /)',
    help: `Usage: vaultpilot kv list [-format table|json] [PATH]

Lists the keys directly under PATH (the top level without one); folders end with '/'.`,
    options: {},
    async run(context) {
      const raw = context.args.positionals[0];
      const path = raw === undefined || raw.replace(/^\/+|\/+$/g, '') === '' ? '' : secretPath(context);
      noMorePositionals(context, 1);
      const keys = await listAll(await context.api(), path);
      if (context.format === 'json') printJson(context.io, keys);
      else
        printTable(
          context.io,
          ['Keys'],
          keys.map((key) => [key]),
        );
      return EXIT_OK;
    },
  },
  {
    words: ['kv', 'delete'],
    summary: 'soft-delete the latest version, or -versions (reversible)',
    help: `Usage: vaultpilot kv delete [-versions N[,N...]] PATH

Soft-deletes the latest version of PATH, or the given versions; 'kv undelete' restores them.

  -versions LIST     comma-separated version numbers`,
    options: { versions: { type: 'string', multiple: true } },
    async run(context) {
      const path = secretPath(context);
      noMorePositionals(context, 1);
      const versions = versionList(context.args.values, 'versions');
      await (
        await context.api()
      ).call('POST', `/secrets/delete/${encodePath(path)}`, NoContent(), {
        body: versions === undefined ? {} : { versions },
      });
      context.io.stderr.write(`Success! Data deleted (if it existed) at: ${path}\n`);
      return EXIT_OK;
    },
  },
  ...(['undelete', 'destroy'] as const).map((verb): ClientCommand => ({
    words: ['kv', verb],
    summary:
      verb === 'undelete'
        ? 'restore soft-deleted versions'
        : 'destroy versions for good (their values are erased)',
    help: `Usage: vaultpilot kv ${verb} -versions N[,N...] PATH

${verb === 'undelete' ? 'Restores the given soft-deleted versions of PATH.' : 'Erases the values of the given versions of PATH for good (the metadata stays). Needs the admin scope.'}

  -versions LIST     comma-separated version numbers (required)`,
    options: { versions: { type: 'string', multiple: true } },
    async run(context) {
      const path = secretPath(context);
      noMorePositionals(context, 1);
      const versions = versionList(context.args.values, 'versions');
      if (versions === undefined) throw new CliUsageError('-versions is required');
      await (
        await context.api()
      ).call('POST', `/secrets/${verb}/${encodePath(path)}`, NoContent(), { body: { versions } });
      context.io.stderr.write(
        `Success! Versions ${versions.join(', ')} ${verb === 'undelete' ? 'restored' : 'destroyed'} at: ${path}\n`,
      );
      return EXIT_OK;
    },
  })),
  {
    words: ['kv', 'metadata', 'get'],
    summary: 'metadata of a secret and its versions',
    help: `Usage: vaultpilot kv metadata get [-format table|json] PATH

Prints the settings of PATH (max_versions, cas_required, custom_metadata) and its versions.`,
    options: {},
    async run(context) {
      const path = secretPath(context);
      noMorePositionals(context, 1);
      const answer = await (
        await context.api()
      ).call('GET', `/secrets/metadata/${encodePath(path)}`, SecretMetadataAnswer());
      if (context.format === 'json') {
        printJson(context.io, answer.data);
        return EXIT_OK;
      }
      const { versions, ...settings } = answer.data;
      context.io.stdout.write('======= Metadata =======\n');
      printPairs(context.io, Object.entries(settings));
      context.io.stdout.write('\n======= Versions =======\n');
      printTable(
        context.io,
        ['Version', 'Created', 'Created by', 'Deleted', 'Destroyed'],
        Object.entries(versions).map(([version, entry]) => [
          version,
          entry.created_time,
          entry.created_by,
          entry.deletion_time || '-',
          entry.destroyed,
        ]),
      );
      return EXIT_OK;
    },
  },
  {
    words: ['kv', 'metadata', 'put'],
    summary: 'set max-versions, cas-required and custom metadata',
    help: `Usage: vaultpilot kv metadata put [-max-versions N] [-cas-required=true|false] [-custom-metadata KEY=VALUE]... PATH

  -max-versions N           versions to keep (1-100)
  -cas-required BOOL        every write must give -cas
  -custom-metadata K=V      a custom metadata pair (repeatable; not for secrets)`,
    options: {
      'max-versions': { type: 'string' },
      'cas-required': { type: 'boolean' },
      'custom-metadata': { type: 'string', multiple: true },
    },
    async run(context) {
      const path = secretPath(context);
      noMorePositionals(context, 1);
      const maxVersions = integerValue(context.args.values, 'max-versions', 1);
      const casRequired = context.args.values['cas-required'];
      const pairs = listValue(context.args.values, 'custom-metadata');
      const custom: Record<string, string> = {};
      for (const pair of pairs) {
        const equals = pair.indexOf('=');
        if (equals <= 0) throw new CliUsageError(`-custom-metadata takes KEY=VALUE, not '${pair}'`);
        custom[pair.slice(0, equals)] = pair.slice(equals + 1);
      }
      const body = {
        ...(maxVersions === undefined ? {} : { max_versions: maxVersions }),
        ...(typeof casRequired === 'boolean' ? { cas_required: casRequired } : {}),
        ...(pairs.length === 0 ? {} : { custom_metadata: custom }),
      };
      if (Object.keys(body).length === 0) throw new CliUsageError('nothing to set: give at least one option');
      await (
        await context.api()
      ).call('POST', `/secrets/metadata/${encodePath(path)}`, NoContent(), { body });
      context.io.stderr.write(`Success! Metadata written at: ${path}\n`);
      return EXIT_OK;
    },
  },
  {
    words: ['kv', 'metadata', 'delete'],
    summary: 'delete a secret: every version and its metadata',
    help: `Usage: vaultpilot kv metadata delete PATH

Deletes every version of PATH and its metadata, for good. Needs the admin scope.`,
    options: {},
    async run(context) {
      const path = secretPath(context);
      noMorePositionals(context, 1);
      await (await context.api()).call('DELETE', `/secrets/metadata/${encodePath(path)}`, NoContent());
      context.io.stderr.write(`Success! Data deleted (if it existed) at: ${path}\n`);
      return EXIT_OK;
    },
  },
];
