/** The credential inventory API: thin mapping of each operation onto `CredentialInventory`. */
import type { z } from 'zod';
import type { Credential } from '../../core/credentials/credential.js';
import type { CredentialChange } from '../../core/credentials/credential-store.js';
import { findingRule } from '../../core/credentials/findings.js';
import { apiHandler, type ApiResult, callerOf, pathParameter } from '../../shared/api-handler.js';
import { container } from '../../shared/container.js';
import type {
  Credential as CredentialBody,
  ListCredentialsQuery,
  UnregisterCredentialQuery,
} from '../../shared/contracts/credentials.js';

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

const NO_CONTENT: ApiResult = { statusCode: 204, body: null };

export const handler = apiHandler(async (request) => {
  const inventory = container().credentialInventory();
  const caller = callerOf(request);
  switch (request.route.operationId) {
    case 'listCredentials': {
      const query = request.query as z.infer<typeof ListCredentialsQuery>;
      const page = await inventory.list(caller, query);
      return {
        body: {
          data: {
            credentials: page.items.map(credentialBody),
            total: page.total,
            ...(page.cursor === undefined ? {} : { nextCursor: page.cursor }),
          },
        },
      };
    }
    case 'getCredential': {
      const { credential, history } = await inventory.get(caller, pathParameter(request, 'id'));
      return { body: { data: { ...credentialBody(credential), history: history.map(changeBody) } } };
    }
    case 'registerCredential': {
      const credential = await inventory.register(caller, request.body);
      return {
        statusCode: 201,
        headers: { Location: `/credentials/${credential.id}` },
        body: { data: credentialBody(credential) },
      };
    }
    case 'updateCredential':
      return {
        body: {
          data: credentialBody(await inventory.update(caller, pathParameter(request, 'id'), request.body)),
        },
      };
    case 'unregisterCredential': {
      const { revision } = request.query as z.infer<typeof UnregisterCredentialQuery>;
      await inventory.unregister(caller, pathParameter(request, 'id'), revision);
      return NO_CONTENT;
    }
    default:
      throw new Error(`The credentials handler does not serve ${request.route.operationId}`);
  }
});
