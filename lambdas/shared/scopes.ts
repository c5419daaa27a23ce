/**
 * OAuth scopes of the `vaultpilot` resource server (Cognito) and of the local issuer. Machine
 * clients are granted a subset; people are authorized by their groups (roles).
 */
export const RESOURCE_SERVER_ID = 'vaultpilot';

export const SCOPES = {
  read: `${RESOURCE_SERVER_ID}/read`,
  write: `${RESOURCE_SERVER_ID}/write`,
  audit: `${RESOURCE_SERVER_ID}/audit`,
  admin: `${RESOURCE_SERVER_ID}/admin`,
} as const;

export const SCOPE_DESCRIPTIONS: Readonly<Record<keyof typeof SCOPES, string>> = {
  read: 'Read metadata and secret values allowed by policy',
  write: 'Create, update and delete secrets allowed by policy',
  audit: 'Query, export and verify the audit log',
  admin: 'Manage policies, settings and clients',
};

export const ALL_SCOPES: readonly string[] = Object.values(SCOPES);

/** The scope every Cognito user access token carries (SRP / USER_PASSWORD_AUTH sign-in). */
export const COGNITO_USER_SCOPE = 'aws.cognito.signin.user.admin';
