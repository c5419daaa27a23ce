/** The policy admin API: admins manage path policies and attach them to groups and clients. */
import {
  AttachPoliciesRequest,
  AttachmentsResponse,
  DeletePolicyQuery,
  PolicyListResponse,
  PolicyResponse,
  PutPolicyRequest,
} from '../../shared/contracts/policies.js';
import type { RouteSpec } from '../../shared/routes.js';
import { SCOPES } from '../../shared/scopes.js';

const read = [SCOPES.admin, SCOPES.audit];
const manage = [SCOPES.admin];
const common = { handler: 'policies', auth: 'token', tag: 'policies' } as const;
export const POLICIES_ROUTES = [
  {
    ...common,
    method: 'GET',
    path: '/policies',
    operationId: 'listPolicies',
    scopes: read,
    summary: "List the tenant's path policies (admins and auditors)",
    response: PolicyListResponse,
  },
  {
    ...common,
    method: 'GET',
    path: '/policies/attachments',
    operationId: 'listPolicyAttachments',
    scopes: read,
    summary: 'Which policies are attached to which groups and machine clients',
    response: AttachmentsResponse,
  },
  {
    ...common,
    method: 'PUT',
    path: '/policies/attachments/groups/{group}',
    operationId: 'attachPoliciesToGroup',
    scopes: manage,
    summary: 'Set the policies of a group (admin, operator, auditor or viewer)',
    request: { body: AttachPoliciesRequest },
    response: AttachmentsResponse,
    status: 204,
  },
  {
    ...common,
    method: 'PUT',
    path: '/policies/attachments/clients/{clientId}',
    operationId: 'attachPoliciesToClient',
    scopes: manage,
    summary: 'Set the policies of a machine client',
    request: { body: AttachPoliciesRequest },
    response: AttachmentsResponse,
    status: 204,
  },
  {
    ...common,
    method: 'GET',
    path: '/policies/{name}',
    operationId: 'readPolicy',
    scopes: read,
    summary: 'Read one policy with its revision',
    response: PolicyResponse,
    errors: [404],
  },
  {
    ...common,
    method: 'PUT',
    path: '/policies/{name}',
    operationId: 'putPolicy',
    scopes: manage,
    summary: 'Create or replace a policy (optional `revision` for check-and-set)',
    request: { body: PutPolicyRequest },
    response: PolicyResponse,
    errors: [409],
  },
  {
    ...common,
    method: 'DELETE',
    path: '/policies/{name}',
    operationId: 'deletePolicy',
    scopes: manage,
    summary: 'Delete a policy (optional `?revision=N` for check-and-set)',
    request: { query: DeletePolicyQuery },
    response: PolicyResponse,
    status: 204,
    errors: [404, 409],
  },
] as const satisfies readonly RouteSpec[];
