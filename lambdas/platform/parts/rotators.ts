/**
 * The rotators, by credential type, with the AWS clients the IAM key rotator calls; and their
 * settings checks alone, for the API functions, which run no rotation step and so bundle no
 * provider code (no IAM, STS or Secrets Manager client, no PostgreSQL driver, no SMTP client).
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import type { RotatorRegistry } from '../../core/rotation/engine.js';
import type { Rotator, RotatorSettings } from '../../core/rotation/rotator.js';
import { createRotators } from '../../rotators/index.js';
import {
  createRotatorSettings,
  type RotatorSettingsByType,
  type RotatorSettingsOptions,
} from '../../rotators/settings.js';
import type { SesSmtpSettingsOptions } from '../../rotators/ses-smtp-settings.js';
import type { FunctionConfig } from '../../shared/config.js';

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

const secretsManagerClients = new Map<string, SecretsManagerClient>();
/** One client per region, made on first use (adopted secrets may live in other regions). */
function secretsManagerIn(region: string): SecretsManagerClient {
  let client = secretsManagerClients.get(region);
  if (client === undefined) {
    client = new SecretsManagerClient({ region, maxAttempts: 1 });
    secretsManagerClients.set(region, client);
  }
  return client;
}

/** What the rotators' settings checks depend on, the same in the worker and the API functions. */
function settingsOptions(
  config: FunctionConfig,
): Required<RotatorSettingsOptions> & { sesSmtp: SesSmtpSettingsOptions } {
  return {
    iamKeyCopyPrefix: config.rotation.iamKeyCopyPrefix,
    sesSmtp: {
      defaultRegion: config.region,
      // Locally a credential may point its SMTP test at a server on this machine.
      allowedEndpointHosts: config.runtime === 'local' ? LOOPBACK_HOSTS : [],
    },
    // Locally a webhook receiver may listen on plain HTTP on this machine; in AWS only HTTPS.
    webhook: { allowHttpLoopback: config.runtime === 'local' },
    github: { allowHttpLoopback: config.runtime === 'local' },
  };
}

/** The rotators with their provider clients: only the rotation worker runs them. */
export function rotators(config: FunctionConfig): RotatorRegistry {
  const options = settingsOptions(config);
  // No endpoint or credentials of our own: the SDK's standard configuration applies
  // (credential chain, AWS_REGION, AWS_ENDPOINT_URL_IAM / _STS / _SECRETS_MANAGER). The rotator
  // retries throttling itself, hence one attempt per SDK call.
  return createRotators({
    iam: {
      iam: new IAMClient({ region: config.region, maxAttempts: 1 }),
      sts: (credentials) => new STSClient({ region: config.region, maxAttempts: 1, credentials }),
      secretsManager: {
        client: new SecretsManagerClient({ region: config.region, maxAttempts: 1 }),
        prefix: options.iamKeyCopyPrefix,
      },
    },
    sesSmtp: { ...options.sesSmtp, endpointTemplate: config.rotation.sesSmtpEndpoint },
    webhook: options.webhook,
    github: options.github,
    secretsManager: { client: (region) => secretsManagerIn(region ?? config.region) },
  });
}

/** The settings checks, for the functions that register credentials (the credentials API). */
export function rotatorSettings(config: FunctionConfig): RotatorSettingsByType {
  return createRotatorSettings(settingsOptions(config));
}

/**
 * For a function that starts rotations but runs none of their steps (the rotations API: the
 * worker runs them): each rotator's settings check, and steps that refuse, as the engine's
 * secret store does there. Starting needs only the settings check.
 */
export function startOnlyRotators(config: FunctionConfig): RotatorRegistry {
  return Object.fromEntries(
    Object.values(rotatorSettings(config)).map((settings) => [settings.type, startOnly(settings)]),
  );
}

function startOnly(settings: RotatorSettings): Rotator<unknown> {
  const refuse = (): Promise<never> =>
    Promise.reject(
      new Error(`The rotation API runs no ${settings.type} rotation steps; the rotation worker does`),
    );
  return {
    ...settings,
    preflight: refuse,
    create: refuse,
    set: refuse,
    test: refuse,
    finish: refuse,
    retire: refuse,
    discard: refuse,
    restore: refuse,
  };
}
