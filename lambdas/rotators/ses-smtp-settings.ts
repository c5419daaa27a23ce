/**
 * The settings of `ses-smtp` credentials and their SMTP endpoints, apart from the rotator
 * (./ses-smtp.ts) so that the API functions that only check settings bundle neither the SMTP
 * client nor the IAM and STS clients.
 */
import * as z from 'zod';
import { type IamKeySettings, parseIamKeySettings } from './aws-iam-access-key-settings.js';
import { invalidSettings, parseRotatorSection, settingsFields } from './settings-section.js';

const TYPE = 'ses-smtp';

export const DEFAULT_SMTP_PORT = 587;

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

export interface SmtpEndpoint {
  readonly host: string;
  readonly port: number;
}

export function parseEndpoint(template: string, region: string): SmtpEndpoint {
  const filled = template.replaceAll('{region}', region);
  const match = /^(\[[0-9a-fA-F:]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(filled);
  const host = (match?.[1] ?? filled).replace(/^\[(.*)\]$/, '$1');
  const port = match?.[2] === undefined ? DEFAULT_SMTP_PORT : Number(match[2]);
  return { host, port };
}

export interface SesSmtpSettingsOptions {
  /** Regions when a credential names none (the deployment's region). */
  readonly defaultRegion: string;
  /** Hosts a credential's `smtp.endpoint` may name besides `*.amazonaws.com` (lower case). */
  readonly allowedEndpointHosts?: readonly string[] | undefined;
}

/** Checks the settings of an SES SMTP rotation: the IAM user, and the regions and endpoint. */
export function parseSesSmtpSettings(raw: unknown, options: SesSmtpSettingsOptions): SesSmtpSettings {
  // The IAM key's life cycle is shared, but this rotator never asks for a Secrets Manager copy.
  const base = parseIamKeySettings({ userName: settingsFields(raw).userName }, undefined);
  const smtp = parseRotatorSection(TYPE, raw, 'smtp', SesSmtpOptionsSchema, {
    regions: [options.defaultRegion],
  });
  const endpoint = smtp.endpoint;
  if (endpoint !== undefined) {
    const host = parseEndpoint(endpoint, 'us-east-1').host.toLowerCase();
    const allowed = (options.allowedEndpointHosts ?? []).map((name) => name.toLowerCase());
    if (!host.endsWith('.amazonaws.com') && !allowed.includes(host)) {
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
}
