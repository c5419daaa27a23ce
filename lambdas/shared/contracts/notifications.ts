/**
 * Contracts of the notifications API (docs/notifications.md). Request shapes are checked here for
 * types only; the rules (https:// URLs, addresses, event types, severities, dates) are the
 * domain's (core/notify), which answers 400 with `details.field` naming the field. Responses
 * never hold a channel secret: a channel shows whether it has one and a masked hint.
 */
import * as z from 'zod';

/** The domain's lists (core/notify), repeated because the dashboard bundles contracts; a unit test keeps them equal. */
export const CHANNEL_KIND_VALUES = ['email', 'slack', 'sns', 'webhook'] as const;
export const CHANNEL_STATE_VALUES = ['active', 'failing'] as const;
export const DELIVERY_STATUS_VALUES = ['sending', 'sent', 'retrying', 'failed', 'skipped'] as const;
export const SEVERITY_VALUES = ['critical', 'high', 'medium', 'low'] as const;
export const ROUTABLE_EVENT_TYPE_VALUES = [
  'rotation.failed',
  'rotation.succeeded',
  'rotation.rolled-back',
  'rotation.overdue',
  'credential.expiring',
  'credential.expired',
  'credential.finding.opened',
  'audit.integrity.failed',
  'discovery.run.finished',
  'rotation.awaiting-input',
  'rotation.reminder',
  'notification.channel.failing',
] as const;

const text = (max: number) => z.string().max(max);

const channelFields = {
  name: text(128).optional(),
  recipients: z.array(text(254)).max(50).optional().describe('email: the addresses alerts go to'),
  topicArn: text(300).optional().describe('sns: the topic ARN (any account)'),
  webhookUrl: text(2048).optional().describe('slack: the incoming-webhook URL (kept in the secret store)'),
  botToken: text(256).optional().describe('slack: a bot token xoxb-… (kept in the secret store)'),
  channelId: text(32).optional().describe('slack: the channel id chat.postMessage posts to (with botToken)'),
  apiUrl: text(2048).optional().describe('slack: where chat.postMessage is sent (a local stand-in only)'),
  url: text(2048).optional().describe('webhook: the https:// endpoint (kept in the secret store)'),
  signingKey: text(512)
    .optional()
    .describe('webhook: the HMAC-SHA256 key, 32+ characters (kept in the secret store)'),
  digest: z.boolean().optional().describe('Whether the channel takes the daily digest'),
};

export const CreateChannelRequest = z
  .object({ kind: z.enum(CHANNEL_KIND_VALUES), ...channelFields })
  .strict()
  .meta({ id: 'CreateChannelRequest' });

export const UpdateChannelRequest = z
  .object({
    kind: z.enum(CHANNEL_KIND_VALUES).optional().describe('Cannot change; given, it must be the same'),
    ...channelFields,
    /** Optimistic concurrency: the revision the caller last read. */
    revision: z.number().int().min(1).optional(),
  })
  .strict()
  .meta({ id: 'UpdateChannelRequest' });

export const ChannelView = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(CHANNEL_KIND_VALUES),
    recipients: z.array(z.string()).optional(),
    topicArn: z.string().optional(),
    slack: z
      .object({
        mode: z.enum(['webhook', 'bot']),
        channelId: z.string().optional(),
        apiUrl: z.string().optional(),
      })
      .optional(),
    secret: z.object({
      set: z.boolean(),
      /** Scheme and host of a URL, or a token's prefix: never the secret itself. */
      hint: z.string().optional(),
    }),
    digest: z.boolean(),
    state: z.enum(CHANNEL_STATE_VALUES),
    failure: z.object({ reason: z.string(), since: z.string() }).optional(),
    revision: z.number().int(),
  })
  .meta({ id: 'NotificationChannel' });

export const ChannelResponse = z.object({ data: ChannelView }).meta({ id: 'ChannelResponse' });
export const ChannelListResponse = z
  .object({ data: z.object({ channels: z.array(ChannelView) }) })
  .meta({ id: 'ChannelListResponse' });

export const ChannelTestResponse = z
  .object({
    data: z.object({
      status: z.enum(['sent', 'failed']),
      /** Why it failed, classified (`slack_no_service`, `smtp_550`, `ses_MessageRejected`). */
      reason: z.string().optional(),
      eventId: z.string(),
      channel: ChannelView,
    }),
  })
  .meta({ id: 'ChannelTestResponse' });

export const RouteRequest = z
  .object({
    name: text(128),
    eventTypes: z
      .array(text(64))
      .max(20)
      .describe(`Any of: ${ROUTABLE_EVENT_TYPE_VALUES.join(', ')}`),
    minSeverity: text(16)
      .optional()
      .describe(`One of ${SEVERITY_VALUES.join(', ')} (default low)`),
    match: z
      .object({
        tags: z.record(text(128), text(256)).optional(),
        owner: text(256).optional(),
        pathPrefix: text(1024).optional(),
      })
      .strict()
      .optional(),
    channels: z.union([z.literal('all'), z.array(text(64)).max(50)]).describe('Channel ids, or "all"'),
    notifyOwner: z.boolean().optional().describe("Also email the credential's owner when it is an address"),
    enabled: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'RouteRequest' });

export const RouteView = z
  .object({
    id: z.string(),
    name: z.string(),
    eventTypes: z.array(z.string()),
    minSeverity: z.enum(SEVERITY_VALUES),
    match: z.object({
      tags: z.record(z.string(), z.string()).optional(),
      owner: z.string().optional(),
      pathPrefix: z.string().optional(),
    }),
    channels: z.union([z.literal('all'), z.array(z.string())]),
    notifyOwner: z.boolean(),
    enabled: z.boolean(),
    /** One of the day-one defaults (`default-critical`, `default-expiry`), possibly changed. */
    builtIn: z.boolean(),
  })
  .meta({ id: 'NotificationRoute' });

export const RouteResponse = z.object({ data: RouteView }).meta({ id: 'RouteResponse' });
export const RouteListResponse = z
  .object({
    data: z.object({
      routes: z.array(RouteView),
      /** True while the tenant has no routes of its own: the day-one defaults listed apply. */
      usingDefaults: z.boolean(),
    }),
  })
  .meta({ id: 'RouteListResponse' });

export const DeliveryLogQuery = z
  .object({
    channel: text(64).optional().describe('A channel id (or "owner" for direct owner emails)'),
    status: z.enum(DELIVERY_STATUS_VALUES).optional(),
    eventType: text(64).optional(),
    credential: text(128).optional().describe('A credential id'),
    from: z.iso.datetime({ offset: true }).optional().describe('Events at or after this time'),
    to: z.iso.datetime({ offset: true }).optional().describe('Events at or before this time'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: text(2048).optional().describe('The cursor of the previous page'),
  })
  .strict()
  .meta({ id: 'DeliveryLogQuery' });

export const DeliveryView = z
  .object({
    eventId: z.string(),
    eventType: z.string(),
    eventTime: z.string(),
    channelId: z.string(),
    channelKind: z.string(),
    status: z.enum(DELIVERY_STATUS_VALUES),
    attempts: z.number().int(),
    reason: z.string().optional(),
    credentialId: z.string().optional(),
    updatedAt: z.string(),
  })
  .meta({ id: 'NotificationDelivery' });

export const DeliveryLogResponse = z
  .object({
    data: z.object({
      deliveries: z.array(DeliveryView),
      /** Pass as `cursor` for the next page; absent on the last page. */
      cursor: z.string().optional(),
    }),
  })
  .meta({ id: 'DeliveryLogResponse' });

export const AlertHoldRequest = z
  .object({
    kind: z.enum(['acknowledged', 'snoozed']),
    until: text(64).optional().describe('snoozed: an ISO time within the next 365 days'),
    note: text(512).optional(),
  })
  .strict()
  .meta({ id: 'AlertHoldRequest' });

export const AlertHoldView = z
  .object({
    credentialId: z.string(),
    kind: z.enum(['acknowledged', 'snoozed']),
    until: z.string().optional(),
    /** acknowledged: the conditions held (key → state); a new state is news again. */
    conditions: z.record(z.string(), z.string()),
    by: z.string(),
    at: z.string(),
    note: z.string().optional(),
  })
  .meta({ id: 'AlertHold' });

export const AlertHoldResponse = z.object({ data: AlertHoldView }).meta({ id: 'AlertHoldResponse' });
export const AlertHoldListResponse = z
  .object({ data: z.object({ holds: z.array(AlertHoldView) }) })
  .meta({ id: 'AlertHoldListResponse' });
