/**
 * `vault-secret`: a generated secret kept in VaultPilot's own store (an API token VaultPilot hands
 * out, a shared key). The store is the provider, so `set` has nothing to do, `test` checks the
 * pending value against its generator, and `finish` (the engine's promotion) makes it current.
 * Fields the generator does not name are carried over unchanged. At a path that holds no version
 * yet, the first rotation writes version 1 with the generated fields only.
 */
import { ValidationError } from '../core/errors.js';
import {
  type GeneratorSpec,
  generateSecret,
  matchesGenerator,
  parseGenerator,
} from '../core/rotation/generator.js';
import { RotationTestFailedError, type Rotator } from '../core/rotation/rotator.js';

export interface VaultSecretSettings {
  readonly generator: GeneratorSpec;
}

export const VAULT_SECRET_DEFAULT_FIELD = 'value';

export function createVaultSecretRotator(): Rotator<VaultSecretSettings> {
  return {
    type: 'vault-secret',
    // A first rotation at an empty path creates version 1 from the generator alone.
    generatesFirstValue: true,

    parseSettings(raw) {
      if (typeof raw !== 'object' || raw === null) throw new ValidationError('Settings must be an object');
      const generator = (raw as Record<string, unknown>).generator;
      return { generator: parseGenerator(generator, { field: VAULT_SECRET_DEFAULT_FIELD }) };
    },

    async preflight(context) {
      return [`would generate ${Object.keys(context.settings.generator.fields).join(', ')}`];
    },

    async create(context) {
      return { pending: generateSecret(context.settings.generator, context.current) };
    },

    async set() {
      return {};
    },

    async test(context) {
      const fields = context.settings.generator.fields;
      for (const [field, generator] of Object.entries(fields)) {
        const value = context.pending[field];
        if (value === undefined || !matchesGenerator(value, generator)) {
          throw new RotationTestFailedError(
            `The pending value of field ${field} does not match its generator`,
          );
        }
      }
      for (const [field, value] of Object.entries(context.current)) {
        if (!(field in fields) && context.pending[field] !== value) {
          throw new RotationTestFailedError(
            `The pending value changed field ${field}, which is not generated`,
          );
        }
      }
      return {};
    },

    async finish() {
      return {};
    },

    async retire() {
      return { status: 'done' };
    },

    async discard() {
      return {};
    },

    async restore() {
      return {};
    },
  };
}
