import type { APIGatewayProxyEvent } from 'aws-lambda';
/**
 * The secret store API (Vault KV v2 shapes). Thin: the route's body and query are already parsed
 * by the middleware; this maps each operation onto one `SecretAccess` use case and the result
 * onto Vault's response shape.
 */
import type * as z from 'zod';
import { ValidationError } from '../../core/errors.js';
import type { SecretMetadata, SecretVersionMetadata } from '../../core/secrets/kv-service.js';
import { apiHandler, callerOf } from '../../shared/api-handler.js';
import {
  type ListSecretsResponse,
  ListSecretsQuery,
  type SecretMetadataResponse,
} from '../../shared/contracts/secrets.js';
import { validationErrorFrom } from '../../shared/http-errors.js';
import { secrets } from './compose.js';
import { SECRETS_ROUTES, VAULT_ROUTES } from './routes.js';
import { vaultOperations } from './vault-operations.js';

const NO_CONTENT = { statusCode: 204, body: null } as const;

function versionMetadata(metadata: SecretVersionMetadata) {
  return {
    version: metadata.version,
    created_time: metadata.createdTime,
    created_by: metadata.createdBy,
    deletion_time: metadata.deletionTime ?? '',
    destroyed: metadata.destroyed,
    custom_metadata:
      Object.keys(metadata.customMetadata).length === 0 ? null : { ...metadata.customMetadata },
  };
}

function secretMetadata(metadata: SecretMetadata): z.infer<typeof SecretMetadataResponse> {
  return {
    data: {
      cas_required: metadata.casRequired,
      created_time: metadata.createdTime,
      updated_time: metadata.updatedTime,
      current_version: metadata.currentVersion,
      oldest_version: metadata.oldestVersion,
      max_versions: metadata.maxVersions,
      custom_metadata:
        Object.keys(metadata.customMetadata).length === 0 ? null : { ...metadata.customMetadata },
      versions: Object.fromEntries(
        Object.entries(metadata.versions).map(([version, state]) => [
          version,
          {
            created_time: state.createdTime,
            created_by: state.createdBy,
            deletion_time: state.deletionTime ?? '',
            destroyed: state.destroyed,
          },
        ]),
      ),
    },
  };
}

/** What the list and metadata reads need of a request. */
type SecretsRequest = Parameters<typeof callerOf>[0];

function pathOf(request: { readonly event: APIGatewayProxyEvent }): string {
  const path = request.event.pathParameters?.path;
  if (path === undefined || path.length === 0) throw new ValidationError('A secret path is required');
  return path;
}

/** `?list=true` (or the root): the keys under a prefix, paginated. */
async function listKeys(
  request: SecretsRequest,
  prefix: string,
): Promise<{ body: z.input<typeof ListSecretsResponse> }> {
  const parsed = ListSecretsQuery.safeParse(request.event.queryStringParameters ?? {});
  if (!parsed.success) throw validationErrorFrom(parsed.error, 'query parameters');
  const listed = await secrets().access.list(callerOf(request), prefix, {
    limit: parsed.data.limit,
    cursor: parsed.data.cursor,
  });
  return {
    body: {
      data: {
        keys: [...listed.keys],
        ...(listed.cursor === undefined ? {} : { next_cursor: listed.cursor }),
      },
    },
  };
}

/** `/secrets` and Vault's `/v1/` (vault-operations.ts): one function, the same use cases. */
const ROUTES = [...SECRETS_ROUTES, ...VAULT_ROUTES] as const;

export const handler = apiHandler(ROUTES, () => secrets().api, {
  ...vaultOperations,
  readSecret: async (request) => {
    const result = await secrets().access.read(callerOf(request), pathOf(request), request.query.version);
    return { body: { data: { data: { ...result.data }, metadata: versionMetadata(result.metadata) } } };
  },
  writeSecret: async (request) => {
    const { data, options } = request.body;
    const written = await secrets().access.write(callerOf(request), pathOf(request), data, {
      cas: options?.cas,
    });
    return { body: { data: versionMetadata(written) } };
  },
  softDeleteSecretVersions: async (request) => {
    await secrets().access.softDelete(callerOf(request), pathOf(request), request.body.versions);
    return NO_CONTENT;
  },
  undeleteSecretVersions: async (request) => {
    await secrets().access.undelete(callerOf(request), pathOf(request), request.body.versions);
    return NO_CONTENT;
  },
  destroySecretVersions: async (request) => {
    await secrets().access.destroy(callerOf(request), pathOf(request), request.body.versions);
    return NO_CONTENT;
  },
  listSecretsAtRoot: (request) => listKeys(request, ''),
  readSecretMetadata: async (request) => {
    const query = request.event.queryStringParameters ?? {};
    if (query.list !== undefined) return listKeys(request, pathOf(request));
    if (Object.keys(query).length > 0) {
      throw new ValidationError('Unknown query parameters; use ?list=true to list keys');
    }
    return { body: secretMetadata(await secrets().access.readMetadata(callerOf(request), pathOf(request))) };
  },
  writeSecretMetadata: async (request) => {
    const body = request.body;
    await secrets().access.writeMetadata(callerOf(request), pathOf(request), {
      maxVersions: body.max_versions,
      casRequired: body.cas_required,
      customMetadata: body.custom_metadata,
    });
    return NO_CONTENT;
  },
  deleteSecret: async (request) => {
    await secrets().access.deleteAll(callerOf(request), pathOf(request));
    return NO_CONTENT;
  },
});
