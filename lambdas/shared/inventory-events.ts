/**
 * The events of the credential inventory and the discovery engine, with their detail schemas
 * (part of `EVENT_DEFINITIONS` in `./events.ts`). Their details carry ids, names and rule ids,
 * never a credential's value.
 */
import * as z from 'zod';
import { CREDENTIAL_SOURCES, CREDENTIAL_TYPES } from '../core/credentials/credential.js';
import { CREDENTIAL_EVENT_TYPES } from '../core/credentials/credential-events.js';
import { FINDING_RULE_IDS, SEVERITIES } from '../core/credentials/findings.js';
import { DISCOVERY_EVENT_TYPES } from '../core/discovery/engine.js';
import { RUN_STATUSES, RUN_TRIGGERS } from '../core/discovery/run.js';
import type { EventDefinition } from './events.js';

/** The event that starts a requested discovery run (CDK routes it to the discovery function). */
export const DISCOVERY_RUN_REQUESTED = DISCOVERY_EVENT_TYPES.runRequested;

const credential = {
  credentialId: z.string().regex(/^cr_[0-9a-f]{24}$/),
  credentialType: z.enum(CREDENTIAL_TYPES),
  credentialName: z.string().min(1).max(2048),
  source: z.enum(CREDENTIAL_SOURCES),
  account: z
    .string()
    .regex(/^\d{12}$/)
    .optional(),
  region: z.string().min(1).max(32).optional(),
  owner: z.string().min(1).max(256).optional(),
};

const finding = {
  ...credential,
  ruleId: z.enum(FINDING_RULE_IDS),
  severity: z.enum(SEVERITIES),
  title: z.string().min(1).max(256),
};

const count = z.number().int().min(0);

export const INVENTORY_EVENT_DEFINITIONS: Readonly<Record<string, EventDefinition>> = {
  [CREDENTIAL_EVENT_TYPES.discovered]: {
    description: 'Discovery found a credential the inventory did not have (or one it had marked gone).',
    detail: z.strictObject(credential),
  },
  [CREDENTIAL_EVENT_TYPES.gone]: {
    description: 'A discovered credential is no longer at its source; the inventory keeps it as gone.',
    detail: z.strictObject(credential),
  },
  [CREDENTIAL_EVENT_TYPES.findingOpened]: {
    description: 'A hygiene finding now holds for a credential (e.g. an access key older than 90 days).',
    detail: z.strictObject(finding),
  },
  [CREDENTIAL_EVENT_TYPES.findingResolved]: {
    description: 'A hygiene finding no longer holds for a credential.',
    detail: z.strictObject(finding),
  },
  [DISCOVERY_EVENT_TYPES.runRequested]: {
    description: 'Someone asked for a discovery run (POST /discovery/runs); the discovery engine starts it.',
    detail: z.strictObject({ runId: z.string().min(1).max(64) }),
  },
  [DISCOVERY_EVENT_TYPES.runFinished]: {
    description: 'A discovery run ended, with its status and counts.',
    detail: z.strictObject({
      runId: z.string().min(1).max(64),
      status: z.enum(RUN_STATUSES),
      trigger: z.enum(RUN_TRIGGERS),
      counts: z.strictObject({
        seen: count,
        created: count,
        updated: count,
        unchanged: count,
        gone: count,
        returned: count,
        findingsOpened: count,
        findingsResolved: count,
        historyLost: count,
        errors: count,
      }),
    }),
  },
};
