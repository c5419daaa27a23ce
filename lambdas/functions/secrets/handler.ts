/**
 * The secret store API (Vault KV v2 shapes). Thin: the route's body and query are already parsed
 * by the middleware; this maps each operation onto one `SecretAccess` use case and the result
 * onto Vault's response shape.
 */
import type { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import type { SecretMetadata, SecretVersionMetadata } from '../../core/secrets/kv-service.js';
import { apiHandler, type ApiRequest, type ApiResult, callerOf } from '../../shared/api-handler.js';
import { container } from '../../shared/container.js';
import {
  ListSecretsQuery,
  type ReadSecretQuery,
  type SecretMetadataResponse,
  type SoftDeleteRequest,
  type VersionsRequest,
  type WriteMetadataRequest,
  type WriteSecretRequest,
} from '../../shared/contracts/secrets.js';
import { validationErrorFrom } from '../../shared/http-errors.js';

const NO_CONTENT: ApiResult = { statusCode: 204, body: null };

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

function pathOf(request: ApiRequest): string {
  const path = request.event.pathParameters?.path;
  if (path === undefined || path.length === 0) throw new ValidationError('A secret path is required');
  return path;
}

async function listOrMetadata(request: ApiRequest, prefix: string | undefined): Promise<ApiResult> {
  const access = container().secretAccess();
  const query = request.event.queryStringParameters ?? {};
  if (prefix === undefined || query.list !== undefined) {
    const parsed = ListSecretsQuery.safeParse(query);
    if (!parsed.success) throw validationErrorFrom(parsed.error, 'query parameters');
    const listed = await access.list(callerOf(request), prefix ?? '', {
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
  if (Object.keys(query).length > 0) {
    throw new ValidationError('Unknown query parameters; use ?list=true to list keys');
  }
  return { body: secretMetadata(await access.readMetadata(callerOf(request), prefix)) };
}

export const handler = apiHandler(async (request) => {
  const access = container().secretAccess();
  const caller = callerOf(request);
  switch (request.route.operationId) {
    case 'readSecret': {
      const { version } = request.query as z.infer<typeof ReadSecretQuery>;
      const result = await access.read(caller, pathOf(request), version);
      return { body: { data: { data: { ...result.data }, metadata: versionMetadata(result.metadata) } } };
    }
    case 'writeSecret': {
      const body = request.body as z.infer<typeof WriteSecretRequest>;
      const written = await access.write(caller, pathOf(request), body.data, { cas: body.options?.cas });
      return { body: { data: versionMetadata(written) } };
    }
    case 'softDeleteSecretVersions': {
      const { versions } = request.body as z.infer<typeof SoftDeleteRequest>;
      await access.softDelete(caller, pathOf(request), versions);
      return NO_CONTENT;
    }
    case 'undeleteSecretVersions': {
      const { versions } = request.body as z.infer<typeof VersionsRequest>;
      await access.undelete(caller, pathOf(request), versions);
      return NO_CONTENT;
    }
    case 'destroySecretVersions': {
      const { versions } = request.body as z.infer<typeof VersionsRequest>;
      await access.destroy(caller, pathOf(request), versions);
      return NO_CONTENT;
    }
    case 'listSecretsAtRoot':
      return listOrMetadata(request, undefined);
    case 'readSecretMetadata':
      return listOrMetadata(request, pathOf(request));
    case 'writeSecretMetadata': {
      const body = request.body as z.infer<typeof WriteMetadataRequest>;
      await access.writeMetadata(caller, pathOf(request), {
        maxVersions: body.max_versions,
        casRequired: body.cas_required,
        customMetadata: body.custom_metadata,
      });
      return NO_CONTENT;
    }
    case 'deleteSecret':
      await access.deleteAll(caller, pathOf(request));
      return NO_CONTENT;
    default:
      throw new Error(`The secrets handler does not serve ${request.route.operationId}`);
  }
});
