/**
 * Rotation: request one (queued; 202), read a credential's rotations and one rotation's steps,
 * roll back, and manage the tenant's rotation policies (admins; auditors and operators read).
 */
import {
  DeleteRotationPolicyQuery,
  ListRotationsQuery,
  PutRotationPolicyRequest,
  RotationAccepted,
  RotationListResponse,
  RotationPolicyListResponse,
  RotationPolicyResponse,
  RotationResponse,
  SubmitRotationRequest,
} from '../../shared/contracts/rotations.js';
import type { RouteSpec } from '../../shared/routes.js';
import { SCOPES } from '../../shared/scopes.js';

const read = [SCOPES.read, SCOPES.audit, SCOPES.admin];
const write = [SCOPES.write, SCOPES.admin];
const common = { handler: 'rotations', auth: 'token', tag: 'rotation' } as const;
export const ROTATIONS_ROUTES = [
  {
    ...common,
    method: 'POST',
    path: '/credentials/{id}/rotate',
    operationId: 'rotateCredential',
    scopes: write,
    summary:
      'Start a rotation (header Idempotency-Key: the same key starts one rotation); answers 202 with its rotationId',
    response: RotationAccepted,
    status: 202,
    errors: [404, 409, 503],
  },
  {
    ...common,
    method: 'GET',
    path: '/credentials/{id}/rotations',
    operationId: 'listCredentialRotations',
    scopes: read,
    summary: "A credential's rotations, newest first (paginated with limit and cursor)",
    request: { query: ListRotationsQuery },
    response: RotationListResponse,
    errors: [404],
  },
  {
    ...common,
    method: 'GET',
    path: '/rotations/{id}',
    operationId: 'getRotation',
    scopes: read,
    summary: 'One rotation: its state and each step with its times and outcome',
    response: RotationResponse,
    errors: [404],
  },
  {
    ...common,
    method: 'POST',
    path: '/rotations/{id}/rollback',
    operationId: 'rollbackRotation',
    scopes: write,
    summary: 'Restore the value before this rotation (the latest), while the previous version still exists',
    response: RotationResponse,
    errors: [404, 409, 503],
  },
  {
    ...common,
    method: 'POST',
    path: '/rotations/{id}/submit',
    operationId: 'submitRotation',
    scopes: write,
    summary:
      'Submit the new value of an assisted rotation that awaits input (github-pat: {"value": {"token": …}}); checked by the type\'s test (GitHub GET /user), then the rotation finishes. Answers the rotation as far as it got: `succeeded`, or `in-progress` when storage refused a later step or the request ran out of time (the value is taken; the rotation worker finishes it). A 503 means the value was not taken (retry it); the same value submitted again after the rotation moved on answers the rotation. A refused value answers 400 with the reason and the rotation stays open',
    request: { body: SubmitRotationRequest },
    response: RotationResponse,
    errors: [400, 404, 409, 503],
  },
  {
    ...common,
    method: 'GET',
    path: '/rotation-policies',
    operationId: 'listRotationPolicies',
    scopes: [SCOPES.admin, SCOPES.audit],
    summary: "The tenant's rotation policies",
    response: RotationPolicyListResponse,
  },
  {
    ...common,
    method: 'GET',
    path: '/rotation-policies/{name}',
    operationId: 'getRotationPolicy',
    scopes: [SCOPES.admin, SCOPES.audit],
    summary: 'One rotation policy with its revision',
    response: RotationPolicyResponse,
    errors: [404],
  },
  {
    ...common,
    method: 'PUT',
    path: '/rotation-policies/{name}',
    operationId: 'putRotationPolicy',
    scopes: [SCOPES.admin],
    summary:
      'Create or replace a rotation policy (optional revision for check-and-set); invalid policies answer 400',
    request: { body: PutRotationPolicyRequest },
    response: RotationPolicyResponse,
    errors: [409],
  },
  {
    ...common,
    method: 'DELETE',
    path: '/rotation-policies/{name}',
    operationId: 'deleteRotationPolicy',
    scopes: [SCOPES.admin],
    summary: 'Delete a rotation policy (optional ?revision=N)',
    request: { query: DeleteRotationPolicyQuery },
    response: RotationPolicyResponse,
    status: 204,
    errors: [404, 409],
  },
] as const satisfies readonly RouteSpec[];
