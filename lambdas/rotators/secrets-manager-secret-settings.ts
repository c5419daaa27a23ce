/**
 * The settings of `secrets-manager-secret` credentials, apart from the rotator (which calls the
 * Secrets Manager client): the credentials API checks registrations with this and bundles no SDK
 * client; the rotator checks with the very same function.
 */
import * as z from 'zod';
import { type GeneratorSpec, parseGenerator } from '../core/rotation/generator.js';
import { parseRotatorSection } from './settings-section.js';

const TYPE = 'secrets-manager-secret';

export const SecretsManagerSettingsSchema = z.strictObject({
  /** The secret's ARN or name. */
  secretId: z
    .string()
    .min(1)
    .max(2048)
    .regex(/^[A-Za-z0-9/_+=.@:-]+$/, 'expected a secret ARN or name'),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
    .optional(),
});

export interface SecretsManagerSecretSettings {
  readonly secretId: string;
  readonly region: string | undefined;
  readonly generator: GeneratorSpec;
}

export function parseSecretsManagerSecretSettings(raw: unknown): SecretsManagerSecretSettings {
  const section = parseRotatorSection(TYPE, raw, 'secretsManager', SecretsManagerSettingsSchema);
  const generator = (raw as Record<string, unknown> | undefined)?.generator;
  return {
    secretId: section.secretId,
    region: section.region,
    generator: parseGenerator(generator, { field: 'password' }),
  };
}
