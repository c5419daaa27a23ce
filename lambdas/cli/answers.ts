/**
 * What the client expects the server to answer, and the check that an answer is that.
 *
 * A server's answer is input to the client like any other (it may come from an older or newer
 * deployment, a proxy's error page, or a wrong -address), so every request names the schema of
 * its answer and the answer is parsed with it before a command reads a field of it.
 *
 * The commands that read secrets (kv, run) and the sign-in's token answers are checked with the
 * zod/mini schemas below: the API's contracts (lambdas/shared/contracts) are written with the full
 * zod, which would add more to a `kv get` than its request costs (docs/cli.md). These mirror
 * contracts/secrets.ts and contracts/identity.ts field for field; test/unit/cli-answers.test.ts
 * proves that they accept what the contracts accept (same JSON Schema), so the two cannot drift
 * apart unnoticed. The other command groups load and use the contracts themselves.
 *
 * Each schema is built on its first use (`once`): building a zod schema runs code, and a command
 * uses one or two of them; a `kv get` builds ReadSecretAnswer only (the refusal's on a refusal).
 */
import * as z from 'zod/mini';
import { ApiError, MalformedAnswerError, mediaType, printable, requestIdOf } from './errors.js';
import type { HttpAnswer } from './http.js';

/** Any zod schema, mini or full (both are built on zod's core). */
export type AnswerSchema = z.core.$ZodType;

/** A value built on the first call and kept. */
function once<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

// --- The secret store (contracts/secrets.ts) ----------------------------------------------------

const versionMetadata = once(() =>
  z.object({
    version: z.int().check(z.positive()),
    created_time: z.string(),
    created_by: z.string(),
    deletion_time: z.string(),
    destroyed: z.boolean(),
    custom_metadata: z.nullable(z.record(z.string(), z.string())),
  }),
);
export type VersionMetadata = z.infer<ReturnType<typeof versionMetadata>>;

export const ReadSecretAnswer = once(() =>
  z.object({
    data: z.object({
      data: z.record(z.string().check(z.minLength(1), z.maxLength(256)), z.string()),
      metadata: versionMetadata(),
    }),
  }),
);

export const WriteSecretAnswer = once(() => z.object({ data: versionMetadata() }));

export const ListSecretsAnswer = once(() =>
  z.object({ data: z.object({ keys: z.array(z.string()), next_cursor: z.optional(z.string()) }) }),
);

export const SecretMetadataAnswer = once(() =>
  z.object({
    data: z.object({
      cas_required: z.boolean(),
      created_time: z.string(),
      updated_time: z.string(),
      current_version: z.int(),
      oldest_version: z.int(),
      max_versions: z.int(),
      custom_metadata: z.nullable(z.record(z.string(), z.string())),
      versions: z.record(
        z.string(),
        z.object({
          created_time: z.string(),
          created_by: z.string(),
          deletion_time: z.string(),
          destroyed: z.boolean(),
        }),
      ),
    }),
  }),
);

/** A 204: no body at all (an empty answer is parsed as null). */
export const NoContent = once(() => z.null());

// --- Signing in (contracts/identity.ts, and OAuth 2.0 token endpoints) ----------------------------

/** The local runtime's `POST /auth/token`. */
export const PasswordLoginAnswer = once(() =>
  z.object({
    accessToken: z.string(),
    idToken: z.string(),
    expiresIn: z.int(),
    tokenType: z.literal('Bearer'),
  }),
);

/**
 * A token endpoint's success (RFC 6749 §5.1): Cognito's or the local issuer's. Only what the
 * client uses is required; Cognito adds id_token, the local issuer scope.
 */
export const OAuthTokenAnswer = once(() =>
  z.object({
    access_token: z.string().check(z.minLength(1)),
    token_type: z.string().check(z.regex(/^bearer$/i)),
    expires_in: z.optional(z.int().check(z.positive())),
    refresh_token: z.optional(z.string().check(z.minLength(1))),
  }),
);

/** A token endpoint's refusal (RFC 6749 §5.2). */
export const OAuthErrorAnswer = once(() =>
  z.object({ error: z.string(), error_description: z.optional(z.string()) }),
);

/** The local runtime names its password sign-in in its OpenID discovery document. */
export const OpenIdConfigurationAnswer = once(() =>
  z.object({ 'x-vaultpilot-sign-in-endpoint': z.optional(z.url({ protocol: /^https?$/ })) }),
);

// --- Refusals ------------------------------------------------------------------------------------

/**
 * The API's error body (contracts/common.ts ErrorBody, DESIGN.md Errors), with the zod issues of a
 * 400 in `details`; and API Gateway's own answers (`{"message": "Forbidden"}`).
 */
const ErrorBody = once(() =>
  z.object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      requestId: z.optional(z.string()),
      details: z.optional(z.unknown()),
    }),
  }),
);
const GatewayErrorBody = once(() => z.object({ message: z.string() }));
const IssueDetails = once(() =>
  z.array(z.object({ path: z.optional(z.array(z.union([z.string(), z.number()]))), message: z.string() })),
);

/** The issues of a 400 (path and message of each), when `details` holds zod issues. */
export function issueLines(details: unknown): readonly string[] {
  if (details === undefined) return [];
  const parsed = z.safeParse(IssueDetails(), details);
  if (!parsed.success) return [];
  return parsed.data.map((issue) => {
    const path = (issue.path ?? []).join('.');
    return printable(`${path}${path === '' ? '' : ': '}${issue.message}`, 200);
  });
}

/** A refusal's body: its JSON; undefined when empty; the text itself when it is not JSON. */
export function refusalBody(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // A proxy's page: apiErrorFrom says it is not the API's, without showing it.
    return text;
  }
}

/**
 * A refusal as an ApiError: the API's error body, API Gateway's, or (a proxy's page, an empty
 * body) only the status, saying that the body was not the API's; nothing of such a body is shown.
 */
export function apiErrorFrom(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): ApiError {
  if (body === undefined || body === null)
    return new ApiError(status, `http_${status}`, `HTTP ${status}`, requestIdOf(headers));
  const api = z.safeParse(ErrorBody(), body);
  if (api.success) {
    const { code, message, requestId, details } = api.data.error;
    return new ApiError(
      status,
      printable(code, 64),
      printable(message),
      requestId === undefined ? requestIdOf(headers) : printable(requestId, 128),
      details,
    );
  }
  const gateway = z.safeParse(GatewayErrorBody(), body);
  const message = gateway.success
    ? printable(gateway.data.message)
    : `HTTP ${status}, and the body is not an API error (content-type ${mediaType(headers['content-type'])})`;
  return new ApiError(status, `http_${status}`, message, requestIdOf(headers));
}

// --- Checking an answer ----------------------------------------------------------------------------

/** The JSON type of what sits at `path` in `value` (never the value itself). */
function typeAt(value: unknown, path: readonly PropertyKey[]): string {
  let current: unknown = value;
  for (const key of path) {
    if (
      typeof current !== 'object' ||
      current === null ||
      typeof key === 'symbol' ||
      !Object.hasOwn(current, key)
    )
      return 'nothing';
    current = Reflect.get(current, key);
  }
  if (current === undefined) return 'nothing';
  if (current === null) return 'null';
  if (Array.isArray(current)) return 'an array';
  return typeof current === 'object' ? 'an object' : `a ${typeof current}`;
}

/** A key of the answer, fit for one line of a message: printable, bounded. */
function keyText(key: PropertyKey): string {
  const text = typeof key === 'symbol' ? '?' : String(key);
  // eslint-disable-next-line no-control-regex -- control characters are what is removed
  const printable = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return printable.length > 40 ? `${printable.slice(0, 40)}…` : printable;
}

/**
 * What is wrong with an answer, from zod's first issue: where (the field's path) and what was
 * expected. Built from the issue's code, never from its message or the answer's values: a
 * malformed answer may hold a secret in the wrong place.
 */
export function describeIssue(issue: z.core.$ZodIssue, answer: unknown): string {
  const where = issue.path.length === 0 ? 'the body' : issue.path.map(keyText).join('.');
  switch (issue.code) {
    case 'invalid_type': {
      const found = typeAt(answer, issue.path);
      return found === 'nothing'
        ? `${where} is missing (expected ${issue.expected})`
        : `${where} is ${found}, expected ${issue.expected}`;
    }
    case 'invalid_value':
      return typeAt(answer, issue.path) === 'nothing'
        ? `${where} is missing`
        : `${where} is not one of the expected values`;
    case 'invalid_format':
      return issue.format === 'regex'
        ? `${where} does not have the expected form`
        : `${where} is not a valid ${issue.format}`;
    case 'too_small':
    case 'too_big':
      return `${where} is out of range (${issue.code.replace('_', ' ')})`;
    case 'invalid_union':
      return `${where} matches none of the expected shapes`;
    case 'invalid_key':
      return `${where} has a key of the wrong form`;
    case 'invalid_element':
      return `${where} has an element of the wrong form`;
    case 'unrecognized_keys':
      return `${where} has unexpected fields`;
    default:
      return `${where} is not valid`;
  }
}

/**
 * The answer as `schema` describes it, or a MalformedAnswerError naming the request and the first
 * field that is wrong.
 */
export function parseAnswer<S extends AnswerSchema>(
  schema: S,
  answer: unknown,
  what: string,
): z.core.output<S> {
  const result = z.safeParse(schema, answer);
  if (result.success) return result.data;
  const [first, ...others] = result.error.issues;
  const more = others.length === 0 ? '' : ` (and ${others.length} more)`;
  throw new MalformedAnswerError(
    `${what} is not what the API answers: ${first === undefined ? 'invalid' : describeIssue(first, answer)}${more}`,
  );
}

/** A JSON answer parsed with `schema`: `parseJsonAnswer`, then `parseAnswer`. */
export function parseJsonReply<S extends AnswerSchema>(
  schema: S,
  reply: HttpAnswer,
  what: string,
): z.core.output<S> {
  return parseAnswer(schema, parseJsonAnswer(reply.text, reply.headers['content-type'], what), what);
}

/**
 * JSON text as a value, or a MalformedAnswerError (an HTML page from a proxy, a truncated body)
 * naming the request and the answer's media type. An empty answer is null (a 204).
 */
export function parseJsonAnswer(
  text: string,
  contentType: string | string[] | undefined,
  what: string,
): unknown {
  if (text.length === 0) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new MalformedAnswerError(
      `${what} is not JSON (content-type ${mediaType(contentType)}, ${Buffer.byteLength(text, 'utf8')} bytes): is the address that of a VaultPilot API?`,
    );
  }
}
