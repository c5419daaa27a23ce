/** The policy admin API: thin mapping of each operation onto `PolicyAdministration`. */
import type { z } from 'zod';
import type { StoredPolicy } from '../../core/access/policy-store.js';
import { ValidationError } from '../../core/errors.js';
import { isRole } from '../../core/principal.js';
import { apiHandler, type ApiResult, callerOf, pathParameter } from '../../shared/api-handler.js';
import { container } from '../../shared/container.js';
import type {
  AttachPoliciesRequest,
  DeletePolicyQuery,
  PutPolicyRequest,
} from '../../shared/contracts/policies.js';

const NO_CONTENT: ApiResult = { statusCode: 204, body: null };

function policyBody(stored: StoredPolicy) {
  return {
    name: stored.policy.name,
    rules: stored.policy.rules.map((rule) => ({ path: rule.path, capabilities: [...rule.capabilities] })),
    revision: stored.revision,
    updated_at: stored.updatedAt,
  };
}

export const handler = apiHandler(async (request) => {
  const admin = container().policyAdministration();
  const caller = callerOf(request);
  switch (request.route.operationId) {
    case 'listPolicies':
      return { body: { data: { policies: (await admin.list(caller)).map(policyBody) } } };
    case 'readPolicy':
      return { body: { data: policyBody(await admin.get(caller, pathParameter(request, 'name'))) } };
    case 'putPolicy': {
      const body = request.body as z.infer<typeof PutPolicyRequest>;
      const stored = await admin.put(
        caller,
        { name: pathParameter(request, 'name'), rules: body.rules as never },
        body.revision,
      );
      return { body: { data: policyBody(stored) } };
    }
    case 'deletePolicy': {
      const { revision } = request.query as z.infer<typeof DeletePolicyQuery>;
      await admin.delete(caller, pathParameter(request, 'name'), revision);
      return NO_CONTENT;
    }
    case 'listPolicyAttachments': {
      const names = await admin.attachments(caller);
      return { body: { data: { groups: names.groups, clients: names.clients } } };
    }
    case 'attachPoliciesToGroup': {
      const group = pathParameter(request, 'group');
      if (!isRole(group)) throw new ValidationError('group must be one of admin, operator, auditor, viewer');
      const { policies } = request.body as z.infer<typeof AttachPoliciesRequest>;
      await admin.attach(caller, { group }, policies);
      return NO_CONTENT;
    }
    case 'attachPoliciesToClient': {
      const { policies } = request.body as z.infer<typeof AttachPoliciesRequest>;
      await admin.attach(caller, { clientId: pathParameter(request, 'clientId') }, policies);
      return NO_CONTENT;
    }
    default:
      throw new Error(`The policies handler does not serve ${request.route.operationId}`);
  }
});
