/** The credential inventory API: thin mapping of each operation onto `CredentialInventory`. */
import type * as z from 'zod';
import type { Credential } from '../../core/credentials/credential.js';
import type { CredentialChange } from '../../core/credentials/credential-store.js';
import { findingRule } from '../../core/credentials/findings.js';
import { apiHandler, callerOf, pathParameter } from '../../shared/api-handler.js';
import type { Credential as CredentialBody } from '../../shared/contracts/credentials.js';
import { credentials } from './compose.js';
import { CREDENTIALS_ROUTES } from './routes.js';

function credentialBody(credential: Credential): z.infer<typeof CredentialBody> {
  const { tenant: _tenant, scope: _scope, findings, ...rest } = credential;
  return {
    ...rest,
    reference: { ...credential.reference },
    findings: findings.map((finding) => {
      const rule = findingRule(finding.ruleId);
      return {
        ruleId: finding.ruleId,
        severity: finding.severity,
        title: rule?.title ?? finding.ruleId,
        remediation: rule?.remediation ?? '',
        since: finding.since,
      };
    }),
  };
}

function changeBody(change: CredentialChange) {
  return {
    ...change,
    findingsOpened: [...change.findingsOpened],
    findingsResolved: [...change.findingsResolved],
  };
}

export const handler = apiHandler(CREDENTIALS_ROUTES, () => credentials().api, {
  listCredentials: async (request) => {
    const page = await credentials().inventory.list(callerOf(request), request.query);
    return {
      body: {
        data: {
          credentials: page.items.map(credentialBody),
          total: page.total,
          ...(page.cursor === undefined ? {} : { nextCursor: page.cursor }),
        },
      },
    };
  },
  getCredential: async (request) => {
    const { credential, history } = await credentials().inventory.get(
      callerOf(request),
      pathParameter(request, 'id'),
    );
    return { body: { data: { ...credentialBody(credential), history: history.map(changeBody) } } };
  },
  registerCredential: async (request) => {
    const credential = await credentials().inventory.register(callerOf(request), request.body);
    return {
      statusCode: 201,
      headers: { Location: `/credentials/${credential.id}` },
      body: { data: credentialBody(credential) },
    };
  },
  updateCredential: async (request) => ({
    body: {
      data: credentialBody(
        await credentials().inventory.update(callerOf(request), pathParameter(request, 'id'), request.body),
      ),
    },
  }),
  unregisterCredential: async (request) => {
    await credentials().inventory.unregister(
      callerOf(request),
      pathParameter(request, 'id'),
      request.query.revision,
    );
    return { statusCode: 204, body: null };
  },
});
