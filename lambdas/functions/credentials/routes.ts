/**
 * The credential inventory (ADR 0005): everyone reads it; operators and admins register managed
 * credentials and change owner, tags, expiry and rotation. Roles are checked in the domain;
 * the scopes here gate machine clients.
 */
import {
  CredentialListResponse,
  CredentialResponse,
  ListCredentialsQuery,
  RegisterCredentialRequest,
  UnregisterCredentialQuery,
  UpdateCredentialRequest,
} from '../../shared/contracts/credentials.js';
import type { RouteSpec } from '../../shared/routes.js';
import { SCOPES } from '../../shared/scopes.js';

const read = [SCOPES.read, SCOPES.audit, SCOPES.admin];
const write = [SCOPES.write, SCOPES.admin];
const common = { handler: 'credentials', auth: 'token', tag: 'credentials' } as const;
export const CREDENTIALS_ROUTES = [
  {
    ...common,
    method: 'GET',
    path: '/credentials',
    operationId: 'listCredentials',
    scopes: read,
    summary:
      'The inventory with findings; filter by type, status, severity, finding, source, owner, tag, account, text',
    request: { query: ListCredentialsQuery },
    response: CredentialListResponse,
  },
  {
    ...common,
    method: 'POST',
    path: '/credentials',
    operationId: 'registerCredential',
    scopes: write,
    summary: 'Register a managed credential (its facts and expiry, never its value)',
    request: { body: RegisterCredentialRequest },
    response: CredentialResponse,
    status: 201,
  },
  {
    ...common,
    method: 'GET',
    path: '/credentials/{id}',
    operationId: 'getCredential',
    scopes: read,
    summary: 'One credential with its findings and its history of changes',
    response: CredentialResponse,
    errors: [404],
  },
  {
    ...common,
    method: 'PATCH',
    path: '/credentials/{id}',
    operationId: 'updateCredential',
    scopes: write,
    summary:
      'Change owner, tags, expiry, rotation policy or rotation settings (optional `revision` for check-and-set)',
    request: { body: UpdateCredentialRequest },
    response: CredentialResponse,
    errors: [404, 409],
  },
  {
    ...common,
    method: 'DELETE',
    path: '/credentials/{id}',
    operationId: 'unregisterCredential',
    scopes: write,
    summary: 'Unregister a managed credential (or a discovered one that is gone)',
    request: { query: UnregisterCredentialQuery },
    response: CredentialResponse,
    status: 204,
    errors: [404, 409],
  },
] as const satisfies readonly RouteSpec[];
