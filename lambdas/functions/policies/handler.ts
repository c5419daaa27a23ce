/** The policy admin API: thin mapping of each operation onto `PolicyAdministration`. */
import type { StoredPolicy } from '../../core/access/policy-store.js';
import { ValidationError } from '../../core/errors.js';
import { isRole } from '../../core/principal.js';
import { apiHandler, callerOf, pathParameter } from '../../shared/api-handler.js';
import { policies } from './compose.js';
import { POLICIES_ROUTES } from './routes.js';

const NO_CONTENT = { statusCode: 204, body: null } as const;

function policyBody(stored: StoredPolicy) {
  return {
    name: stored.policy.name,
    rules: stored.policy.rules.map((rule) => ({ path: rule.path, capabilities: [...rule.capabilities] })),
    revision: stored.revision,
    updated_at: stored.updatedAt,
  };
}

export const handler = apiHandler(POLICIES_ROUTES, () => policies().api, {
  listPolicies: async (request) => ({
    body: { data: { policies: (await policies().administration.list(callerOf(request))).map(policyBody) } },
  }),
  readPolicy: async (request) => ({
    body: {
      data: policyBody(
        await policies().administration.get(callerOf(request), pathParameter(request, 'name')),
      ),
    },
  }),
  putPolicy: async (request) => {
    const stored = await policies().administration.put(
      callerOf(request),
      { name: pathParameter(request, 'name'), rules: request.body.rules },
      request.body.revision,
    );
    return { body: { data: policyBody(stored) } };
  },
  deletePolicy: async (request) => {
    await policies().administration.delete(
      callerOf(request),
      pathParameter(request, 'name'),
      request.query.revision,
    );
    return NO_CONTENT;
  },
  listPolicyAttachments: async (request) => {
    const names = await policies().administration.attachments(callerOf(request));
    return { body: { data: { groups: names.groups, clients: names.clients } } };
  },
  attachPoliciesToGroup: async (request) => {
    const group = pathParameter(request, 'group');
    if (!isRole(group)) throw new ValidationError('group must be one of admin, operator, auditor, viewer');
    await policies().administration.attach(callerOf(request), { group }, request.body.policies);
    return NO_CONTENT;
  },
  attachPoliciesToClient: async (request) => {
    await policies().administration.attach(
      callerOf(request),
      { clientId: pathParameter(request, 'clientId') },
      request.body.policies,
    );
    return NO_CONTENT;
  },
});
