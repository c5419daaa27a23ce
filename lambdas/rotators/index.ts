/**
 * The rotators VaultPilot ships, by credential type. The container builds them once with the
 * clients they need; the engine looks them up by the credential's type.
 */
import type { RotatorRegistry } from '../core/rotation/engine.js';
import { createGithubAppTokenRotator, type GithubAppRotatorOptions } from './github-app-token.js';
import { createGithubPatRotator } from './github-pat.js';
import { createIamAccessKeyRotator, type IamKeyRotatorOptions } from './aws-iam-access-key.js';
import { createPostgresPasswordRotator, type PostgresRotatorOptions } from './postgres-password.js';
import { DependencyUnavailableError } from '../core/errors.js';
import {
  createSecretsManagerSecretRotator,
  type SecretsManagerRotatorOptions,
} from './secrets-manager-secret.js';
import { createSesSmtpRotator, type SesSmtpRotatorOptions } from './ses-smtp.js';
import { createVaultSecretRotator } from './vault-secret.js';
import { createWebhookTokenRotator, type WebhookRotatorOptions } from './webhook-token.js';

export interface RotatorDependencies {
  readonly iam: IamKeyRotatorOptions;
  readonly postgres?: PostgresRotatorOptions;
  /** ses-smtp shares the IAM clients of `iam`; these are its own settings. */
  readonly sesSmtp?: Omit<SesSmtpRotatorOptions, 'iam'>;
  readonly webhook?: WebhookRotatorOptions;
  readonly github?: GithubAppRotatorOptions;
  readonly secretsManager?: SecretsManagerRotatorOptions;
}

export function createRotators(dependencies: RotatorDependencies): RotatorRegistry {
  return {
    'vault-secret': createVaultSecretRotator(),
    'postgres-password': createPostgresPasswordRotator(dependencies.postgres),
    'aws-iam-access-key': createIamAccessKeyRotator(dependencies.iam),
    'ses-smtp': createSesSmtpRotator({
      defaultRegion: 'us-east-1',
      ...dependencies.sesSmtp,
      iam: dependencies.iam,
    }),
    'webhook-token': createWebhookTokenRotator(dependencies.webhook),
    'github-app-token': createGithubAppTokenRotator(dependencies.github),
    // The same GitHub options (base-URL rule, fetch): a personal token talks to the same API.
    'github-pat': createGithubPatRotator(dependencies.github),
    'secrets-manager-secret': createSecretsManagerSecretRotator(
      dependencies.secretsManager ?? {
        client: () => {
          throw new DependencyUnavailableError('No Secrets Manager client is configured', 60);
        },
      },
    ),
  };
}
