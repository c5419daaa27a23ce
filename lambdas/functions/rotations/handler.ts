/** The rotation API: thin mapping of each operation onto `RotationAccess`. */
import type { z } from 'zod';
import type { StoredRotationPolicy } from '../../core/rotation/policy.js';
import type { RotationRecord } from '../../core/rotation/rotation.js';
import { apiHandler, type ApiResult, callerOf, pathParameter } from '../../shared/api-handler.js';
import { container } from '../../shared/container.js';
import type {
  DeleteRotationPolicyQuery,
  ListRotationsQuery,
  PutRotationPolicyRequest,
  Rotation,
} from '../../shared/contracts/rotations.js';
import { headerValue } from '../../shared/http-headers.js';

/** A rotation as the API shows it: no lease, no provider identifiers, never a value. */
function rotationBody(record: RotationRecord): z.infer<typeof Rotation> {
  return {
    rotationId: record.rotationId,
    credentialId: record.credentialId,
    credentialType: record.credentialType,
    state: record.state,
    trigger: record.trigger,
    requestedBy: record.requestedBy,
    policyName: record.policyName,
    dryRun: record.dryRun,
    steps: record.steps.map((step) => ({ ...step })),
    failure: record.failure,
    retirement:
      record.retirement === undefined
        ? undefined
        : {
            status: record.retirement.status,
            nextPhase: record.retirement.nextPhase,
            dueAt: record.retirement.dueAt,
            deactivatedAt: record.retirement.deactivatedAt,
            retiredAt: record.retirement.retiredAt,
            note: record.retirement.note,
          },
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    finishedAt: record.finishedAt,
  };
}

function policyBody(stored: StoredRotationPolicy) {
  const { name, ...policy } = stored.policy;
  return { name, policy, revision: stored.revision, updatedAt: stored.updatedAt };
}

export const handler = apiHandler(async (request): Promise<ApiResult> => {
  const rotation = container().rotation().access;
  const caller = callerOf(request);
  switch (request.route.operationId) {
    case 'rotateCredential': {
      const key = headerValue(request.event.headers, 'idempotency-key');
      const record = await rotation.request(caller, pathParameter(request, 'id'), key);
      return { statusCode: 202, body: { data: { rotationId: record.rotationId, state: record.state } } };
    }
    case 'listCredentialRotations': {
      const query = request.query as z.infer<typeof ListRotationsQuery>;
      const page = await rotation.list(caller, pathParameter(request, 'id'), query);
      return {
        body: {
          data: {
            rotations: page.items.map(rotationBody),
            ...(page.cursor === undefined ? {} : { nextCursor: page.cursor }),
          },
        },
      };
    }
    case 'getRotation':
      return { body: { data: rotationBody(await rotation.get(caller, pathParameter(request, 'id'))) } };
    case 'rollbackRotation':
      return { body: { data: rotationBody(await rotation.rollback(caller, pathParameter(request, 'id'))) } };
    case 'listRotationPolicies':
      return { body: { data: { policies: (await rotation.listPolicies(caller)).map(policyBody) } } };
    case 'getRotationPolicy':
      return { body: { data: policyBody(await rotation.getPolicy(caller, pathParameter(request, 'name'))) } };
    case 'putRotationPolicy': {
      const body = request.body as z.infer<typeof PutRotationPolicyRequest>;
      const stored = await rotation.putPolicy(
        caller,
        pathParameter(request, 'name'),
        body.policy,
        body.revision,
      );
      return { body: { data: policyBody(stored) } };
    }
    case 'deleteRotationPolicy': {
      const { revision } = request.query as z.infer<typeof DeleteRotationPolicyQuery>;
      await rotation.deletePolicy(caller, pathParameter(request, 'name'), revision);
      return { statusCode: 204, body: null };
    }
    default:
      throw new Error(`The rotations handler does not serve ${request.route.operationId}`);
  }
});
