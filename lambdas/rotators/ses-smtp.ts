/**
 * `ses-smtp`: Amazon SES SMTP credentials of an IAM user allowed `ses:SendRawEmail`. The IAM side
 * is the `aws-iam-access-key` rotator's (./aws-iam-access-key.ts): the same new key, the same
 * room-making, crash clean-up, retirement after the grace periods and the non-use gate, the same
 * rollback. This rotator adds what SMTP needs:
 *
 * - `create` stores, next to `accessKeyId` and `secretAccessKey`, the SMTP user name
 *   (`smtpUsername`, the access key id) and for each configured region its password
 *   (`smtpPassword.<region>`, derived with AWS's algorithm: ./ses-smtp-password.ts) and endpoint
 *   (`smtpEndpoint.<region>`, `host:port`). Fields of regions no longer configured are dropped.
 * - `test` logs in with SMTP AUTH over STARTTLS at every region's endpoint, retrying while IAM's
 *   eventual consistency still refuses the new key; a login still refused after
 *   `consistencyAttempts` fails the test (the engine rolls back: the new key is deleted, the old
 *   one keeps working). A server that cannot be reached is a transient failure the engine retries.
 *
 * The endpoint is `email-smtp.<region>.amazonaws.com:587` unless the deployment sets another
 * template (`endpointTemplate`, `{region}` replaced) or the credential names one (`smtp.endpoint`,
 * for a VPC endpoint): a credential may only name a host under `.amazonaws.com`, or one of the
 * deployment's `allowedEndpointHosts`, so nobody can make VaultPilot send a password elsewhere.
 */
import * as z from 'zod';
import { DependencyUnavailableError } from '../core/errors.js';
import {
  RotationTestFailedError,
  type Rotator,
  type RotatorContext,
  type WithPending,
} from '../core/rotation/rotator.js';
import type { SecretData } from '../core/secrets/kv-service.js';
import {
  createIamAccessKeyRotator,
  type IamKeyRotatorOptions,
  type IamKeySettings,
} from './aws-iam-access-key.js';
import { sesSmtpHost, sesSmtpPassword } from './ses-smtp-password.js';
import { invalidSettings, parseRotatorSection, settingsFields } from './settings.js';
import { type SmtpAuthCheck, smtpAuthCheck, SmtpUnreachableError } from './smtp-auth.js';

const TYPE = 'ses-smtp';
const DEFAULT_PORT = 587;
const PASSWORD_FIELD = 'smtpPassword.';
const ENDPOINT_FIELD = 'smtpEndpoint.';

const Region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'expected an AWS region such as eu-west-1');
/** `host[:port]`; `{region}` in the host is replaced by each region. */
const EndpointTemplate = z
  .string()
  .max(253)
  .regex(
    /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.{}-]+)(:\d{1,5})?$/,
    'expected host[:port], where the host may contain {region}',
  );

export const SesSmtpOptionsSchema = z.strictObject({
  /** The regions to derive a password for (a password works in one region only). */
  regions: z
    .array(Region)
    .min(1)
    .max(30)
    .refine((regions) => new Set(regions).size === regions.length, 'each region once'),
  /** The SMTP endpoint to test and store instead of SES's own (e.g. a VPC endpoint). */
  endpoint: EndpointTemplate.optional(),
});

export type SesSmtpSettings = IamKeySettings & { readonly smtp: z.output<typeof SesSmtpOptionsSchema> };

export interface SesSmtpRotatorOptions {
  /** The IAM side, as for `aws-iam-access-key` (its Secrets Manager copy is not used here). */
  readonly iam: IamKeyRotatorOptions;
  /** Regions when a credential names none (the deployment's region). */
  readonly defaultRegion: string;
  /** The deployment's endpoint template (default `email-smtp.{region}.amazonaws.com:587`). */
  readonly endpointTemplate?: string | undefined;
  /** Hosts a credential's `smtp.endpoint` may name besides `*.amazonaws.com` (lower case). */
  readonly allowedEndpointHosts?: readonly string[] | undefined;
  /** The SMTP login check (default: nodemailer, STARTTLS required). */
  readonly smtp?: SmtpAuthCheck | undefined;
  /** Logins per region while IAM has not yet propagated the new key (default 12). */
  readonly consistencyAttempts?: number | undefined;
  readonly baseDelayMs?: number | undefined;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
}

interface Endpoint {
  readonly host: string;
  readonly port: number;
}

function parseEndpoint(template: string, region: string): Endpoint {
  const filled = template.replaceAll('{region}', region);
  const match = /^(\[[0-9a-fA-F:]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(filled);
  const host = (match?.[1] ?? filled).replace(/^\[(.*)\]$/, '$1');
  const port = match?.[2] === undefined ? DEFAULT_PORT : Number(match[2]);
  return { host, port };
}

function endpointText(endpoint: Endpoint): string {
  return `${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}

/** The SMTP fields of `value`'s key for `regions`, replacing any SMTP fields it had. */
export function withSmtpFields(
  value: SecretData,
  regions: readonly string[],
  endpointOf: (region: string) => Endpoint,
): SecretData {
  const accessKeyId = value.accessKeyId;
  const secretAccessKey = value.secretAccessKey;
  if (accessKeyId === undefined || secretAccessKey === undefined) return value;
  const kept = Object.entries(value).filter(
    ([field]) => !field.startsWith(PASSWORD_FIELD) && !field.startsWith(ENDPOINT_FIELD),
  );
  const smtp = regions.flatMap((region) => [
    [`${PASSWORD_FIELD}${region}`, sesSmtpPassword(secretAccessKey, region)] as const,
    [`${ENDPOINT_FIELD}${region}`, endpointText(endpointOf(region))] as const,
  ]);
  return Object.fromEntries([...kept, ['smtpUsername', accessKeyId], ...smtp]);
}

export function createSesSmtpRotator(options: SesSmtpRotatorOptions): Rotator<SesSmtpSettings> {
  const consistencyAttempts = options.consistencyAttempts ?? 12;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const login = options.smtp ?? smtpAuthCheck();
  const allowed = new Set((options.allowedEndpointHosts ?? []).map((host) => host.toLowerCase()));
  // The IAM key's life cycle, shared: this rotator never asks for a Secrets Manager copy.
  const iam = createIamAccessKeyRotator({ ...options.iam, secretsManager: undefined });

  function endpointOf(settings: SesSmtpSettings, region: string): Endpoint {
    const template =
      settings.smtp.endpoint ?? options.endpointTemplate ?? `${sesSmtpHost('{region}')}:${DEFAULT_PORT}`;
    return parseEndpoint(template, region);
  }

  function iamContext<C extends RotatorContext<SesSmtpSettings>>(
    context: C,
  ): C & RotatorContext<IamKeySettings> {
    return context;
  }

  /** One region's login, retried while the new key is not yet known everywhere. */
  async function loginIn(region: string, endpoint: Endpoint, value: SecretData): Promise<void> {
    const username = value.smtpUsername;
    const password = value[`${PASSWORD_FIELD}${region}`];
    if (username === undefined || password === undefined) {
      throw new RotationTestFailedError(`The pending value has no SMTP password for ${region}`);
    }
    for (let attempt = 1; attempt <= consistencyAttempts; attempt += 1) {
      let outcome;
      try {
        outcome = await login({ host: endpoint.host, port: endpoint.port, username, password });
      } catch (error: unknown) {
        if (error instanceof SmtpUnreachableError) {
          throw new DependencyUnavailableError(
            `The SMTP endpoint ${endpointText(endpoint)} could not be reached (${error.code})`,
            60,
            { cause: error },
          );
        }
        throw error;
      }
      if (outcome === 'accepted') return;
      if (attempt < consistencyAttempts) await sleep(Math.min(10_000, baseDelayMs * 2 ** (attempt - 1)));
    }
    throw new RotationTestFailedError(
      `The SMTP endpoint ${endpointText(endpoint)} refused the new SMTP credentials after ${consistencyAttempts} attempts`,
    );
  }

  return {
    type: 'ses-smtp',

    parseSettings(raw) {
      const base = iam.parseSettings({ userName: settingsFields(raw).userName });
      const smtp = parseRotatorSection(TYPE, raw, 'smtp', SesSmtpOptionsSchema, {
        regions: [options.defaultRegion],
      });
      const endpoint = smtp.endpoint;
      if (endpoint !== undefined) {
        const host = parseEndpoint(endpoint, 'us-east-1').host.toLowerCase();
        if (!host.endsWith('.amazonaws.com') && !allowed.has(host)) {
          throw invalidSettings(TYPE, [
            {
              path: 'smtp.endpoint',
              code: 'custom',
              message: 'expected a host under .amazonaws.com (or one this deployment allows)',
            },
          ]);
        }
      }
      return { ...base, secretsManagerCopy: false, smtp };
    },

    async preflight(context) {
      const notes = await iam.preflight(iamContext(context));
      const regions = context.settings.smtp.regions;
      return [
        ...notes.map((note) =>
          note === 'would create a new key and test it with STS'
            ? `would create a new key and test its SMTP password in ${regions.join(', ')}`
            : note,
        ),
        ...regions.map(
          (region) => `${region}: SMTP AUTH at ${endpointText(endpointOf(context.settings, region))}`,
        ),
      ];
    },

    async create(context) {
      const created = await iam.create(iamContext(context));
      const { regions } = context.settings.smtp;
      return {
        ...created,
        pending: withSmtpFields(created.pending, regions, (region) => endpointOf(context.settings, region)),
      };
    },

    set(context) {
      return iam.set(iamContext(context));
    },

    async test(context: WithPending<SesSmtpSettings>) {
      for (const region of context.settings.smtp.regions) {
        await loginIn(region, endpointOf(context.settings, region), context.pending);
      }
      return {};
    },

    finish(context) {
      return iam.finish(iamContext(context));
    },

    retire(context, phase, ref) {
      return iam.retire(iamContext(context), phase, ref);
    },

    discard(context) {
      return iam.discard(iamContext(context));
    },

    restore(context) {
      return iam.restore(iamContext(context));
    },
  };
}
