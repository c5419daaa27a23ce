/**
 * The limits of every path parameter of the API, checked by the request middleware before any
 * use case runs (so before any storage call): a parameter outside them is a 400 that names it.
 * Well-formed ids that do not exist still answer 404 from their use case. A route whose path
 * names a parameter that is missing here fails its first request and the route-table test.
 */
import * as z from 'zod';
import { ROLES } from '../core/principal.js';

/** Policy and rotation-policy names: the same rule as the stores apply. */
const NAME = /^[A-Za-z0-9._-]{1,128}$/;
/** Credential (`cr_…`), rotation (`rot_…`) and discovery-run ids are all within this. */
const ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** A machine client's OAuth client id. */
const CLIENT_ID = /^[\w+]{1,128}$/;

export const PATH_PARAMETERS: Readonly<Record<string, z.ZodType<string>>> = {
  name: z.string().regex(NAME, "A name is 1 to 128 letters, digits, '.', '_' or '-'"),
  id: z.string().regex(ID, "An id is 1 to 128 letters, digits, '.', '_', ':' or '-'"),
  group: z.enum(ROLES, { error: `A group is one of ${ROLES.join(', ')}` }),
  clientId: z.string().regex(CLIENT_ID, "A client id is 1 to 128 letters, digits, '_' or '+'"),
  // A secret path: its segments and lengths are checked by the core's path parser, which runs
  // first in every secret operation, with messages that say which segment is wrong.
  path: z.string().min(1),
  // A Vault mount (`/v1/{mount}/...`); which one is served is checked against the configuration.
  mount: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "A mount is 1 to 64 letters, digits, '_' or '-'")
    .meta({
      description:
        'The one KV version 2 mount of the deployment: `secret` unless set at deploy time (`-c vaultMount=…`) or before `npm start` (`VAULTPILOT_VAULT_MOUNT`). Any other mount answers 404 {"errors":[]}.',
    }),
  // The rest of a `/v1/` path no route serves (`/v1/{proxy+}`): it is only matched against the
  // route table, never used to reach anything, so any path is taken.
  proxy: z.string().min(1),
};
