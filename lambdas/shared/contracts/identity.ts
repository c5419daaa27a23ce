import * as z from 'zod';

export const HealthResponse = z
  .object({
    status: z.literal('ok'),
    service: z.literal('vaultpilot'),
    version: z.string(),
    runtime: z.enum(['aws', 'local']),
    time: z.iso.datetime(),
  })
  .meta({ id: 'HealthResponse' });
export type HealthResponse = z.infer<typeof HealthResponse>;

export const MeResponse = z
  .object({
    subject: z.string(),
    kind: z.enum(['user', 'machine']),
    username: z.string().optional(),
    tenant: z.string(),
    roles: z.array(z.enum(['admin', 'operator', 'auditor', 'viewer'])),
    scopes: z.array(z.string()),
    clientId: z.string(),
  })
  .meta({ id: 'MeResponse' });
export type MeResponse = z.infer<typeof MeResponse>;

/** Local runtime only: `POST /auth/token` (in AWS, Cognito's own endpoints sign users in). */
export const PasswordLoginRequest = z
  .object({
    username: z.string().min(1).max(128),
    password: z.string().min(1).max(256),
  })
  .strict()
  .meta({ id: 'PasswordLoginRequest' });

export const PasswordLoginResponse = z
  .object({
    accessToken: z.string(),
    idToken: z.string(),
    expiresIn: z.number().int(),
    tokenType: z.literal('Bearer'),
  })
  .meta({ id: 'PasswordLoginResponse' });

/** Local runtime only: `POST /oauth2/token`, shaped like Cognito's token endpoint. */
export const ClientCredentialsResponse = z
  .object({
    access_token: z.string(),
    expires_in: z.number().int(),
    token_type: z.literal('Bearer'),
  })
  .meta({ id: 'ClientCredentialsResponse' });
