/** The rotators, by credential type, with the AWS clients the IAM key rotator calls. */
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import type { RotatorRegistry } from '../../core/rotation/engine.js';
import { createRotators } from '../../rotators/index.js';
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

export function rotators(config: FunctionConfig): RotatorRegistry {
  // No endpoint or credentials of our own: the SDK's standard configuration applies
  // (credential chain, AWS_REGION, AWS_ENDPOINT_URL_IAM / _STS / _SECRETS_MANAGER). The rotator
  // retries throttling itself, hence one attempt per SDK call.
  return createRotators({
    iam: {
      iam: new IAMClient({ region: config.region, maxAttempts: 1 }),
      sts: (credentials) => new STSClient({ region: config.region, maxAttempts: 1, credentials }),
      secretsManager: {
        client: new SecretsManagerClient({ region: config.region, maxAttempts: 1 }),
        prefix: config.rotation.iamKeyCopyPrefix,
      },
    },
    sesSmtp: {
      defaultRegion: config.region,
      endpointTemplate: config.rotation.sesSmtpEndpoint,
      // Locally a credential may point its SMTP test at a server on this machine.
      allowedEndpointHosts: config.runtime === 'local' ? LOOPBACK_HOSTS : [],
    },
    // Locally a webhook receiver may listen on plain HTTP on this machine; in AWS only HTTPS.
    webhook: { allowHttpLoopback: config.runtime === 'local' },
    github: { allowHttpLoopback: config.runtime === 'local' },
    secretsManager: { client: (region) => secretsManagerIn(region ?? config.region) },
  });
}
