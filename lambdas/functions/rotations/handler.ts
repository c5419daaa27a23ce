/** The rotation API: thin mapping of each operation onto `RotationAccess`. */
import type { Context } from 'aws-lambda';
import type * as z from 'zod';
import type { StoredRotationPolicy } from '../../core/rotation/policy.js';
import type { RotationRecord } from '../../core/rotation/rotation.js';
import { apiHandler, callerOf, pathParameter } from '../../shared/api-handler.js';
import type { Rotation } from '../../shared/contracts/rotations.js';
import { ANSWER_RESERVE_MS, deadlineBefore } from '../../shared/deadline.js';
import { headerValue } from '../../shared/http-headers.js';
import { rotations } from './compose.js';
import { ROTATIONS_ROUTES } from './routes.js';

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

/**
 * A submission's deadline: the worker honours it, and what is left after it carries the worker's
 * answer back (Lambda Invoke), the call's audit outcome and the queued run, and the answer.
 */
function answerDeadline(context: Context): Date {
  return deadlineBefore(context, ANSWER_RESERVE_MS);
}

function policyBody(stored: StoredRotationPolicy) {
  const { name, ...policy } = stored.policy;
  return { name, policy, revision: stored.revision, updatedAt: stored.updatedAt };
}

export const handler = apiHandler(ROTATIONS_ROUTES, () => rotations().api, {
  rotateCredential: async (request) => {
    const key = headerValue(request.event.headers, 'idempotency-key');
    const record = await rotations().access.request(callerOf(request), pathParameter(request, 'id'), key);
    return { statusCode: 202, body: { data: { rotationId: record.rotationId, state: record.state } } };
  },
  listCredentialRotations: async (request) => {
    const page = await rotations().access.list(
      callerOf(request),
      pathParameter(request, 'id'),
      request.query,
    );
    return {
      body: {
        data: {
          rotations: page.items.map(rotationBody),
          ...(page.cursor === undefined ? {} : { nextCursor: page.cursor }),
        },
      },
    };
  },
  getRotation: async (request) => ({
    body: {
      data: rotationBody(await rotations().access.get(callerOf(request), pathParameter(request, 'id'))),
    },
  }),
  rollbackRotation: async (request) => ({
    body: {
      data: rotationBody(await rotations().access.rollback(callerOf(request), pathParameter(request, 'id'))),
    },
  }),
  submitRotation: async (request) => ({
    body: {
      data: rotationBody(
        await rotations().access.submit(
          callerOf(request),
          pathParameter(request, 'id'),
          request.body.value,
          answerDeadline(request.context),
        ),
      ),
    },
  }),
  listRotationPolicies: async (request) => ({
    body: { data: { policies: (await rotations().access.listPolicies(callerOf(request))).map(policyBody) } },
  }),
  getRotationPolicy: async (request) => ({
    body: {
      data: policyBody(await rotations().access.getPolicy(callerOf(request), pathParameter(request, 'name'))),
    },
  }),
  putRotationPolicy: async (request) => {
    const stored = await rotations().access.putPolicy(
      callerOf(request),
      pathParameter(request, 'name'),
      request.body.policy,
      request.body.revision,
    );
    return { body: { data: policyBody(stored) } };
  },
  deleteRotationPolicy: async (request) => {
    await rotations().access.deletePolicy(
      callerOf(request),
      pathParameter(request, 'name'),
      request.query.revision,
    );
    return { statusCode: 204, body: null };
  },
});
