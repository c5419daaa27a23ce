/**
 * The rotators' settings checks, by credential type, without their provider code: the API
 * functions that register credentials and start rotations check settings with these and bundle
 * no SDK client, PostgreSQL driver or SMTP client; only the rotation worker runs the rotators
 * themselves (./index.ts), which check their settings with the very same functions.
 */
import type { RotatorType } from '../core/rotation/policy.js';
import type { RotatorSettings } from '../core/rotation/rotator.js';
import { parseIamKeySettings } from './aws-iam-access-key-settings.js';
import { createGithubAppTokenRotator, type GithubAppRotatorOptions } from './github-app-token.js';
import { createGithubPatRotator } from './github-pat.js';
import { parsePostgresSettings } from './postgres-password-settings.js';
import { parseSecretsManagerSecretSettings } from './secrets-manager-secret-settings.js';
import { parseSesSmtpSettings, type SesSmtpSettingsOptions } from './ses-smtp-settings.js';
import { createVaultSecretRotator } from './vault-secret.js';
import { createWebhookTokenRotator, type WebhookRotatorOptions } from './webhook-token.js';

export interface RotatorSettingsOptions {
  /** The prefix of IAM keys' Secrets Manager copies; without it, copies are refused. */
  readonly iamKeyCopyPrefix?: string | undefined;
  readonly sesSmtp?: Partial<SesSmtpSettingsOptions>;
  readonly webhook?: WebhookRotatorOptions;
  readonly github?: GithubAppRotatorOptions;
}

/** Every rotator type has its settings check here: a new type without one is a type error. */
export type RotatorSettingsByType = { readonly [T in RotatorType]: RotatorSettings };

function settingsOf(rotator: RotatorSettings): RotatorSettings {
  return {
    type: rotator.type,
    ...(rotator.generatesFirstValue === undefined
      ? {}
      : { generatesFirstValue: rotator.generatesFirstValue }),
    ...(rotator.assisted === undefined ? {} : { assisted: rotator.assisted }),
    ...(rotator.dueBeforeExpiryMs === undefined
      ? {}
      : { dueBeforeExpiryMs: (settings: unknown) => rotator.dueBeforeExpiryMs?.(settings) }),
    parseSettings: (raw) => rotator.parseSettings(raw),
  };
}

export function createRotatorSettings(options: RotatorSettingsOptions = {}): RotatorSettingsByType {
  // vault-secret, webhook-token, github-app-token and github-pat call no SDK and no driver:
  // taken whole.
  return {
    'vault-secret': settingsOf(createVaultSecretRotator()),
    'postgres-password': { type: 'postgres-password', parseSettings: parsePostgresSettings },
    'aws-iam-access-key': {
      type: 'aws-iam-access-key',
      parseSettings: (raw) => parseIamKeySettings(raw, options.iamKeyCopyPrefix),
    },
    'ses-smtp': {
      type: 'ses-smtp',
      parseSettings: (raw) => parseSesSmtpSettings(raw, { defaultRegion: 'us-east-1', ...options.sesSmtp }),
    },
    'webhook-token': settingsOf(createWebhookTokenRotator(options.webhook)),
    'github-app-token': settingsOf(createGithubAppTokenRotator(options.github)),
    'github-pat': settingsOf(createGithubPatRotator(options.github)),
    'secrets-manager-secret': {
      type: 'secrets-manager-secret',
      generatesFirstValue: true,
      parseSettings: parseSecretsManagerSecretSettings,
    },
  };
}
