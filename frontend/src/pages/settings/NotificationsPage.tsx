/**
 * Alerts (docs/notifications.md): the channels they go out through (add, send a test, delete),
 * the routes that decide which events reach which channels, and the latest deliveries. Channel
 * secrets (Slack and webhook URLs, bot tokens, signing keys) go to the API once and are never
 * shown again: a channel answers only whether it has one and a hint (scheme and host, a prefix).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';

import {
  CHANNEL_KIND_VALUES,
  ChannelListResponse,
  ChannelResponse,
  ChannelTestResponse,
  DeliveryLogResponse,
  RouteListResponse,
  RouteResponse,
} from '../../../../lambdas/shared/contracts/notifications.js';
import type { NotificationChannel as Channel, NotificationRoute as Route } from '../../api/resources.js';
import { useApi, useIdentity } from '../../app/context.js';
import { RouteForm, routeRequest, ROUTES_KEY } from '../../components/RouteForm.js';
import {
  Badge,
  CheckboxField,
  ConfirmButton,
  ErrorAlert,
  Loading,
  PageHeader,
  SelectField,
  TextField,
  Time,
  toneOf,
} from '../../components/ui.js';

type Kind = (typeof CHANNEL_KIND_VALUES)[number];

const CHANNELS_KEY = ['notifications', 'channels'] as const;
const DELIVERIES_SHOWN = 20;

const KIND_LABELS: Readonly<Record<Kind, string>> = {
  email: 'Email',
  slack: 'Slack',
  sns: 'Amazon SNS',
  webhook: 'Webhook',
};

export function NotificationsPage() {
  const { can } = useIdentity();
  return (
    <>
      <PageHeader title="Notifications" />
      <p className="muted -mt-2 mb-3 text-sm">
        Alerts (expiry warnings, failed rotations, integrity failures, …) go out through channels; routes
        decide which events reach which channels. Secrets of a channel are kept in the secret store and never
        shown again.
      </p>
      {can.readNotifications ? (
        <div className="space-y-6">
          <Channels />
          <Routes />
          <Deliveries />
        </div>
      ) : (
        <p className="text-sm">Notification settings are shown to auditors and admins.</p>
      )}
    </>
  );
}

function useChannels() {
  const api = useApi();
  return useQuery({
    queryKey: CHANNELS_KEY,
    queryFn: ({ signal }) =>
      api.request({
        path: '/notifications/channels',
        schema: ChannelListResponse,
        action: 'list notification channels',
        signal,
      }),
  });
}

/** Channel names by id, for the routes and deliveries that name channels by id. */
function useChannelNames(): ReadonlyMap<string, string> {
  const channels = useChannels();
  return new Map((channels.data?.data.channels ?? []).map((channel) => [channel.id, channel.name]));
}

/** Where a channel's messages go, as far as it may be shown. */
function destinationOf(channel: Channel): string {
  switch (channel.kind) {
    case 'email':
      return (channel.recipients ?? []).join(', ');
    case 'sns':
      return channel.topicArn ?? '';
    case 'slack':
      return channel.slack?.mode === 'bot'
        ? `bot token ${channel.secret.hint ?? ''}, channel ${channel.slack.channelId ?? ''}`
        : `incoming webhook ${channel.secret.hint ?? ''}`;
    case 'webhook':
      return channel.secret.hint ?? '';
  }
}

function Channels() {
  const api = useApi();
  const { can } = useIdentity();
  const queryClient = useQueryClient();
  const channels = useChannels();
  const [tested, setTested] = useState<Record<string, string>>({});
  const test = useMutation({
    mutationFn: (channel: Channel) =>
      api.request({
        method: 'POST',
        path: `/notifications/channels/${encodeURIComponent(channel.id)}/test`,
        schema: ChannelTestResponse,
        action: `send a test to ${channel.name}`,
      }),
    onSuccess: ({ data }) => {
      setTested((previous) => ({
        ...previous,
        [data.channel.id]:
          data.status === 'sent' ? 'Test sent.' : `Test failed: ${data.reason ?? 'no reason given'}.`,
      }));
      void queryClient.invalidateQueries({ queryKey: ['notifications'] });
    },
  });
  const remove = useMutation({
    mutationFn: (channel: Channel) =>
      api.request({
        method: 'DELETE',
        path: `/notifications/channels/${encodeURIComponent(channel.id)}`,
        schema: null,
        action: `delete the channel ${channel.name}`,
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['notifications'] }),
  });
  const list = channels.data?.data.channels ?? [];
  return (
    <section aria-labelledby="channels-heading" className="panel">
      <h2 id="channels-heading">Channels</h2>
      <ErrorAlert error={channels.error ?? test.error ?? remove.error} />
      {channels.isPending ? (
        <Loading what="channels" />
      ) : channels.isError ? null : list.length === 0 ? (
        <p className="muted text-sm">No channel yet: alerts have nowhere to go.</p>
      ) : (
        <table className="table mt-2" aria-label="Notification channels">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Destination</th>
              <th>Daily digest</th>
              <th>State</th>
              {can.configure && <th>Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.map((channel) => (
              <tr key={channel.id}>
                <td>{channel.name}</td>
                <td>{KIND_LABELS[channel.kind]}</td>
                <td className="break-all">{destinationOf(channel)}</td>
                <td>{channel.digest ? 'yes' : 'no'}</td>
                <td>
                  <Badge tone={toneOf(channel.state)}>{channel.state}</Badge>
                  {channel.failure !== undefined && (
                    <p className="muted mt-1 text-xs">
                      {channel.failure.reason} since <Time value={channel.failure.since} />
                    </p>
                  )}
                  {tested[channel.id] !== undefined && (
                    <p role="status" className="mt-1 text-xs">
                      {tested[channel.id]}
                    </p>
                  )}
                </td>
                {can.configure && (
                  <td>
                    <div className="flex flex-wrap gap-2">
                      <button
                        type="button"
                        className="btn"
                        disabled={test.isPending}
                        onClick={() => test.mutate(channel)}
                      >
                        Send test
                      </button>
                      <ConfirmButton
                        label="Delete"
                        confirmLabel="Delete channel"
                        question={`Delete ${channel.name}? Routes stop sending to it.`}
                        disabled={remove.isPending}
                        onConfirm={() => remove.mutate(channel)}
                      />
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {can.configure && <NewChannelForm />}
    </section>
  );
}

interface ChannelDraft {
  kind: Kind;
  name: string;
  recipients: string;
  topicArn: string;
  webhookUrl: string;
  url: string;
  signingKey: string;
  digest: boolean;
}

const EMPTY_DRAFT: ChannelDraft = {
  kind: 'email',
  name: '',
  recipients: '',
  topicArn: '',
  webhookUrl: '',
  url: '',
  signingKey: '',
  // As the API's default: the daily digest is asked for, not sent to every new channel.
  digest: false,
};

/** The request body for a draft: only the fields of its kind (the API checks the rules). */
function channelBody(draft: ChannelDraft): Record<string, unknown> {
  const common = {
    kind: draft.kind,
    digest: draft.digest,
    ...(draft.name === '' ? {} : { name: draft.name }),
  };
  switch (draft.kind) {
    case 'email':
      return {
        ...common,
        recipients: draft.recipients
          .split(',')
          .map((address) => address.trim())
          .filter((address) => address !== ''),
      };
    case 'sns':
      return { ...common, topicArn: draft.topicArn.trim() };
    case 'slack':
      return { ...common, webhookUrl: draft.webhookUrl.trim() };
    case 'webhook':
      return { ...common, url: draft.url.trim(), signingKey: draft.signingKey };
  }
}

function NewChannelForm() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<ChannelDraft>(EMPTY_DRAFT);
  const set = (change: Partial<ChannelDraft>) => setDraft((previous) => ({ ...previous, ...change }));
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api.request({
        method: 'POST',
        path: '/notifications/channels',
        body,
        schema: ChannelResponse,
        action: 'add a notification channel',
      }),
    onSuccess: () => {
      // The secrets typed here are not kept in the page once the API has them (the kind stays).
      setDraft((previous) => ({ ...EMPTY_DRAFT, kind: previous.kind }));
      void queryClient.invalidateQueries({ queryKey: ['notifications'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(channelBody(draft));
  };
  return (
    <form onSubmit={submit} className="panel mt-3 space-y-2" aria-labelledby="new-channel-heading">
      <h3 id="new-channel-heading">New channel</h3>
      <div className="grid gap-2 md:grid-cols-3">
        <SelectField
          label="Kind"
          value={draft.kind}
          onChange={(kind) => set({ kind: kind as Kind })}
          options={CHANNEL_KIND_VALUES.map((kind) => ({ value: kind, label: KIND_LABELS[kind] }))}
        />
        <TextField
          label="Name"
          value={draft.name}
          onChange={(name) => set({ name })}
          hint="Optional; defaults to the kind and destination"
        />
        <CheckboxField
          className="self-end text-sm"
          label="Takes the daily digest"
          checked={draft.digest}
          onChange={(digest) => set({ digest })}
        />
      </div>
      {draft.kind === 'email' && (
        <TextField
          label="Recipients"
          value={draft.recipients}
          onChange={(recipients) => set({ recipients })}
          hint="Addresses, comma-separated"
          required
        />
      )}
      {draft.kind === 'sns' && (
        <TextField
          label="Topic ARN"
          value={draft.topicArn}
          onChange={(topicArn) => set({ topicArn })}
          hint="arn:aws:sns:<region>:<account>:<topic>; the topic's policy must let VaultPilot publish"
          required
        />
      )}
      {draft.kind === 'slack' && (
        <TextField
          label="Incoming-webhook URL"
          type="password"
          value={draft.webhookUrl}
          onChange={(webhookUrl) => set({ webhookUrl })}
          hint="https://hooks.slack.com/services/…; kept in the secret store (bot tokens: through the API)"
          required
        />
      )}
      {draft.kind === 'webhook' && (
        <div className="grid gap-2 md:grid-cols-2">
          <TextField
            label="Endpoint URL"
            type="password"
            value={draft.url}
            onChange={(url) => set({ url })}
            hint="https://…; kept in the secret store"
            required
          />
          <TextField
            label="Signing key"
            type="password"
            value={draft.signingKey}
            onChange={(signingKey) => set({ signingKey })}
            hint="32+ characters; each message is signed with HMAC-SHA256"
            required
          />
        </div>
      )}
      <ErrorAlert error={create.error} />
      <button type="submit" className="btn btn-primary" disabled={create.isPending}>
        Add channel
      </button>
    </form>
  );
}

function Routes() {
  const api = useApi();
  const { can } = useIdentity();
  const queryClient = useQueryClient();
  const names = useChannelNames();
  /** The route being changed (its id), 'new' for a new one, or none. */
  const [editing, setEditing] = useState<string | undefined>();
  // Turning a route off or on is a PUT of the whole route (a default keeps its id and becomes the
  // tenant's own, with the other defaults).
  const toggle = useMutation({
    mutationFn: (route: Route) =>
      api.request({
        method: 'PUT',
        path: `/notifications/routes/${encodeURIComponent(route.id)}`,
        body: { ...routeRequest(route), enabled: !route.enabled },
        schema: RouteResponse,
        action: `${route.enabled ? 'turn off' : 'turn on'} the route ${route.name}`,
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ROUTES_KEY }),
  });
  const remove = useMutation({
    mutationFn: (route: Route) =>
      api.request({
        method: 'DELETE',
        path: `/notifications/routes/${encodeURIComponent(route.id)}`,
        schema: null,
        action: `delete the route ${route.name}`,
      }),
    onSuccess: (_answer, route) => {
      // A form open on the deleted route would otherwise turn into a new route's form.
      setEditing((current) => (current === route.id ? undefined : current));
      return queryClient.invalidateQueries({ queryKey: ROUTES_KEY });
    },
  });
  const routes = useQuery({
    queryKey: ROUTES_KEY,
    queryFn: ({ signal }) =>
      api.request({
        path: '/notifications/routes',
        schema: RouteListResponse,
        action: 'list notification routes',
        signal,
      }),
  });
  return (
    <section aria-labelledby="routes-heading" className="panel">
      <h2 id="routes-heading">Routes</h2>
      <p className="muted text-sm">
        Which events reach which channels, for which credentials (docs/notifications.md).
        {routes.data?.data.usingDefaults === true &&
          ' No route of your own yet: the defaults below apply (changing one makes them yours).'}
      </p>
      <ErrorAlert error={routes.error ?? toggle.error ?? remove.error} />
      {routes.isPending ? (
        <Loading what="routes" />
      ) : routes.isError ? null : (
        <table className="table mt-2" aria-label="Notification routes">
          <thead>
            <tr>
              <th>Name</th>
              <th>Events</th>
              <th>From severity</th>
              <th>Channels</th>
              <th>Owner email</th>
              <th>Enabled</th>
              {can.configure && <th>Actions</th>}
            </tr>
          </thead>
          <tbody>
            {(routes.data?.data.routes ?? []).map((route) => (
              <tr key={route.id}>
                <td>
                  {route.name}
                  {route.builtIn && (
                    <>
                      {' '}
                      <Badge>default</Badge>
                    </>
                  )}
                </td>
                <td className="text-xs">{route.eventTypes.join(', ')}</td>
                <td>
                  <Badge tone={toneOf(route.minSeverity)}>{route.minSeverity}</Badge>
                </td>
                <td>
                  {route.channels === 'all'
                    ? 'all channels'
                    : route.channels.map((id) => names.get(id) ?? id).join(', ')}
                </td>
                <td>{route.notifyOwner ? 'yes' : 'no'}</td>
                <td>{route.enabled ? 'yes' : 'no'}</td>
                {can.configure && (
                  <td>
                    <div className="flex flex-wrap gap-2">
                      <button
                        type="button"
                        className="btn whitespace-nowrap"
                        disabled={toggle.isPending}
                        aria-label={`${route.enabled ? 'Turn off' : 'Turn on'} ${route.name}`}
                        onClick={() => toggle.mutate(route)}
                      >
                        {route.enabled ? 'Turn off' : 'Turn on'}
                      </button>
                      <button
                        type="button"
                        className="btn whitespace-nowrap"
                        aria-label={`Change ${route.name}`}
                        aria-expanded={editing === route.id}
                        onClick={() => setEditing(editing === route.id ? undefined : route.id)}
                      >
                        Change
                      </button>
                      <ConfirmButton
                        label="Delete"
                        confirmLabel="Delete route"
                        question={`Delete ${route.name}? Its events stop reaching its channels.`}
                        disabled={remove.isPending}
                        onConfirm={() => remove.mutate(route)}
                      />
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {can.configure && editing === undefined && routes.isSuccess && (
        <button type="button" className="btn mt-2" onClick={() => setEditing('new')}>
          New route
        </button>
      )}
      {editing !== undefined && (
        <RouteForm
          key={editing}
          route={routes.data?.data.routes.find((route) => route.id === editing)}
          channelNames={names}
          onDone={() => setEditing(undefined)}
        />
      )}
    </section>
  );
}

function Deliveries() {
  const api = useApi();
  const names = useChannelNames();
  const deliveries = useQuery({
    queryKey: ['notifications', 'deliveries'],
    queryFn: ({ signal }) =>
      api.request({
        path: '/notifications',
        query: { limit: DELIVERIES_SHOWN },
        schema: DeliveryLogResponse,
        action: 'read the delivery log',
        signal,
      }),
  });
  const list = deliveries.data?.data.deliveries ?? [];
  return (
    <section aria-labelledby="deliveries-heading" className="panel">
      <h2 id="deliveries-heading">Latest deliveries</h2>
      <ErrorAlert error={deliveries.error} />
      {deliveries.isPending ? (
        <Loading what="deliveries" />
      ) : deliveries.isError ? null : list.length === 0 ? (
        <p className="muted text-sm">Nothing sent yet.</p>
      ) : (
        <table className="table mt-2" aria-label="Latest deliveries">
          <thead>
            <tr>
              <th>Event time</th>
              <th>Event</th>
              <th>Channel</th>
              <th>Status</th>
              <th>Attempts</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            {list.map((delivery) => (
              <tr key={`${delivery.eventId}:${delivery.channelId}`}>
                <td>
                  <Time value={delivery.eventTime} />
                </td>
                <td>
                  <code>{delivery.eventType}</code>
                </td>
                <td>{names.get(delivery.channelId) ?? `${delivery.channelKind} ${delivery.channelId}`}</td>
                <td>
                  <Badge tone={toneOf(delivery.status)}>{delivery.status}</Badge>
                </td>
                <td>{delivery.attempts}</td>
                <td className="text-xs">{delivery.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
