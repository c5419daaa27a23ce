/** The notifications API: thin mapping of each operation onto `NotificationAdministration`. */
import type { Channel } from '../../core/notify/channel.js';
import type { DeliveryEntry } from '../../core/notify/delivery-log.js';
import type { Route } from '../../core/notify/routing.js';
import type { AlertHold } from '../../core/notify/suppression.js';
import { apiHandler, callerOf, pathParameter } from '../../shared/api-handler.js';
import { notifications } from './compose.js';
import { NOTIFICATIONS_ROUTES } from './routes.js';

const NO_CONTENT = { statusCode: 204, body: null } as const;

/** What a caller sees of a channel: settings, state, and only a hint of its secret. */
function channelBody(channel: Channel) {
  const { settings } = channel;
  return {
    id: channel.id,
    name: channel.name,
    kind: settings.kind,
    ...(settings.kind === 'email' ? { recipients: [...settings.recipients] } : {}),
    ...(settings.kind === 'sns' ? { topicArn: settings.topicArn } : {}),
    ...(settings.kind === 'slack'
      ? {
          slack: {
            mode: settings.mode,
            ...(settings.channelId === undefined ? {} : { channelId: settings.channelId }),
            ...(settings.apiUrl === undefined ? {} : { apiUrl: settings.apiUrl }),
          },
        }
      : {}),
    secret: {
      set: channel.hasSecret,
      ...(channel.secretHint === undefined ? {} : { hint: channel.secretHint }),
    },
    digest: channel.digest,
    state: channel.state,
    ...(channel.failure === undefined ? {} : { failure: { ...channel.failure } }),
    revision: channel.revision,
  };
}

function routeBody(route: Route) {
  return {
    id: route.id,
    name: route.name,
    eventTypes: [...route.eventTypes],
    minSeverity: route.minSeverity,
    match: {
      ...(route.match.tags === undefined ? {} : { tags: { ...route.match.tags } }),
      ...(route.match.owner === undefined ? {} : { owner: route.match.owner }),
      ...(route.match.pathPrefix === undefined ? {} : { pathPrefix: route.match.pathPrefix }),
    },
    channels: route.channels === 'all' ? ('all' as const) : [...route.channels],
    notifyOwner: route.notifyOwner,
    enabled: route.enabled,
    builtIn: route.id.startsWith('default-'),
  };
}

function deliveryBody(entry: DeliveryEntry) {
  return {
    eventId: entry.eventId,
    eventType: entry.eventType,
    eventTime: entry.eventTime,
    channelId: entry.channelId,
    channelKind: entry.channelKind,
    status: entry.status,
    attempts: entry.attempts,
    ...(entry.reason === undefined ? {} : { reason: entry.reason }),
    ...(entry.credentialId === undefined ? {} : { credentialId: entry.credentialId }),
    updatedAt: entry.updatedAt,
  };
}

function holdBody(hold: AlertHold) {
  return {
    credentialId: hold.credentialId,
    kind: hold.kind,
    ...(hold.until === undefined ? {} : { until: hold.until }),
    conditions: { ...hold.conditions },
    by: hold.by,
    at: hold.at,
    ...(hold.note === undefined ? {} : { note: hold.note }),
  };
}

const admin = () => notifications().administration;

export const handler = apiHandler(NOTIFICATIONS_ROUTES, () => notifications().api, {
  listNotificationDeliveries: async (request) => {
    const { channel, credential, from, to, ...rest } = request.query;
    const page = await admin().deliveries(callerOf(request), {
      ...rest,
      channelId: channel,
      credentialId: credential,
      // Sort keys start with the event time in UTC: compare in the same form.
      from: from === undefined ? undefined : new Date(from).toISOString(),
      to: to === undefined ? undefined : new Date(to).toISOString(),
    });
    return {
      body: {
        data: {
          deliveries: page.entries.map(deliveryBody),
          ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
        },
      },
    };
  },
  listNotificationChannels: async (request) => ({
    body: { data: { channels: (await admin().listChannels(callerOf(request))).map(channelBody) } },
  }),
  createNotificationChannel: async (request) => ({
    statusCode: 201,
    body: { data: channelBody(await admin().createChannel(callerOf(request), request.body)) },
  }),
  getNotificationChannel: async (request) => ({
    body: { data: channelBody(await admin().getChannel(callerOf(request), pathParameter(request, 'id'))) },
  }),
  updateNotificationChannel: async (request) => {
    const { revision, ...patch } = request.body;
    const channel = await admin().updateChannel(
      callerOf(request),
      pathParameter(request, 'id'),
      patch,
      revision,
    );
    return { body: { data: channelBody(channel) } };
  },
  deleteNotificationChannel: async (request) => {
    await admin().deleteChannel(callerOf(request), pathParameter(request, 'id'));
    return NO_CONTENT;
  },
  testNotificationChannel: async (request) => {
    const result = await admin().testChannel(callerOf(request), pathParameter(request, 'id'));
    return {
      body: {
        data: {
          status: result.status,
          ...(result.reason === undefined ? {} : { reason: result.reason }),
          eventId: result.eventId,
          channel: channelBody(result.channel),
        },
      },
    };
  },
  listNotificationRoutes: async (request) => {
    const list = await admin().listRoutes(callerOf(request));
    return { body: { data: { routes: list.routes.map(routeBody), usingDefaults: list.usingDefaults } } };
  },
  createNotificationRoute: async (request) => ({
    statusCode: 201,
    body: { data: routeBody(await admin().createRoute(callerOf(request), request.body)) },
  }),
  getNotificationRoute: async (request) => ({
    body: { data: routeBody(await admin().getRoute(callerOf(request), pathParameter(request, 'id'))) },
  }),
  putNotificationRoute: async (request) => ({
    body: {
      data: routeBody(await admin().putRoute(callerOf(request), pathParameter(request, 'id'), request.body)),
    },
  }),
  deleteNotificationRoute: async (request) => {
    await admin().deleteRoute(callerOf(request), pathParameter(request, 'id'));
    return NO_CONTENT;
  },
  listAlertHolds: async (request) => ({
    body: { data: { holds: (await admin().listHolds(callerOf(request))).map(holdBody) } },
  }),
  getAlertHold: async (request) => ({
    body: { data: holdBody(await admin().getHold(callerOf(request), pathParameter(request, 'id'))) },
  }),
  putAlertHold: async (request) => ({
    body: {
      data: holdBody(await admin().putHold(callerOf(request), pathParameter(request, 'id'), request.body)),
    },
  }),
  deleteAlertHold: async (request) => {
    await admin().deleteHold(callerOf(request), pathParameter(request, 'id'));
    return NO_CONTENT;
  },
});
