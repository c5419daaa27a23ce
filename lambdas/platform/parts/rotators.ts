/** The rotators, by credential type, with the AWS clients the IAM key rotator calls. */
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import type { RotatorRegistry } from '../../core/rotation/engine.js';
import { createRotators } from '../../rotators/index.js';
import type { FunctionConfig } from '../../shared/config.js';

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
  });
}
