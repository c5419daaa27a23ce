/**
 * The settings of `postgres-password` credentials, apart from the rotator (./postgres-password.ts)
 * so that the API functions that only check settings bundle no PostgreSQL driver.
 */
import * as z from 'zod';
import { ValidationError } from '../core/errors.js';
import { type FieldGenerator, parseGenerator } from '../core/rotation/generator.js';
import { parseSecretPath } from '../core/secrets/secret-path.js';
import { checkSettings } from './settings-section.js';

/** Characters a password must not contain by default: they need quoting in connection strings. */
const DEFAULT_EXCLUDE = `"'\`\\/@:?#%&;=+ `;
/** PostgreSQL's NAMEDATALEN - 1. */
const MAX_ROLE_NAME_BYTES = 63;

const RoleName = z
  .string()
  .min(1)
  .refine(
    (name) => Buffer.byteLength(name, 'utf8') <= MAX_ROLE_NAME_BYTES,
    'a role name has at most 63 bytes',
  )
  .refine((name) => !name.includes('\0'), 'a role name cannot contain NUL');

export const PostgresSettingsSchema = z.strictObject({
  connection: z.strictObject({
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535).default(5432),
    database: z.string().min(1).max(63),
    /** The managed role (for `alternating-users`, the base name; the clone adds `cloneSuffix`). */
    username: RoleName,
    /** `verify-full` (default) checks the server's certificate and name; `disable` is for loopback tests. */
    tls: z.enum(['disable', 'require', 'verify-full']).default('verify-full'),
    connectTimeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  }),
  strategy: z.enum(['single-user', 'alternating-users']),
  managingSecretPath: z.string().min(1).max(512),
  generator: z.unknown().optional(),
  cloneSuffix: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,16}$/)
    .default('_clone'),
  passwordEncryption: z.enum(['server', 'scram-sha-256']).default('server'),
});

export interface PostgresSettings {
  readonly connection: z.output<typeof PostgresSettingsSchema>['connection'];
  readonly strategy: 'single-user' | 'alternating-users';
  readonly managingSecretPath: string;
  readonly password: FieldGenerator;
  readonly cloneSuffix: string;
  readonly passwordEncryption: 'server' | 'scram-sha-256';
}

/** Checks the settings of a PostgreSQL password rotation, with its password generator. */
export function parsePostgresSettings(raw: unknown): PostgresSettings {
  const settings = checkSettings('postgres-password', raw, PostgresSettingsSchema);
  parseSecretPath(settings.managingSecretPath);
  const generator = parseGenerator(settings.generator, {
    field: 'password',
    generator: { exclude: DEFAULT_EXCLUDE },
  });
  const password = generator.fields.password;
  if (password === undefined || Object.keys(generator.fields).length !== 1) {
    throw new ValidationError('A postgres-password generator makes the password field only');
  }
  return {
    connection: settings.connection,
    strategy: settings.strategy,
    managingSecretPath: settings.managingSecretPath,
    password,
    cloneSuffix: settings.cloneSuffix,
    passwordEncryption: settings.passwordEncryption,
  };
}
