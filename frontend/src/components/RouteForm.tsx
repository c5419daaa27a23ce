/**
 * A notification route's form (docs/notifications.md): which events, from which severity, about
 * which credentials (owner, path prefix, tags), to which channels. New routes are a POST; a
 * changed one is a PUT of the whole route (a default keeps its id and becomes the tenant's own).
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';

import { SEVERITY_VALUES } from '../../../lambdas/shared/contracts/credentials.js';
import {
  ROUTABLE_EVENT_TYPE_VALUES,
  RouteResponse,
} from '../../../lambdas/shared/contracts/notifications.js';
import type { NotificationRoute as Route } from '../api/resources.js';
import { useApi } from '../app/context.js';
import { CheckboxField, ErrorAlert, FormButtons, SelectField, TextField } from './ui.js';

/** The query of the tenant's routes, which a saved route makes stale. */
export const ROUTES_KEY = ['notifications', 'routes'] as const;

/** A route as `PUT /notifications/routes/{id}` takes it back (all of it: a PUT replaces). */
export function routeRequest(route: Route): Record<string, unknown> {
  const { id: _id, builtIn: _builtIn, ...request } = route;
  return request;
}

interface RouteDraft {
  readonly name: string;
  readonly eventTypes: readonly string[];
  readonly minSeverity: string;
  readonly allChannels: boolean;
  readonly channels: readonly string[];
  readonly owner: string;
  readonly pathPrefix: string;
  /** `key=value` pairs, comma-separated. */
  readonly tags: string;
  readonly notifyOwner: boolean;
  readonly enabled: boolean;
}

function draftOf(route: Route | undefined): RouteDraft {
  return {
    name: route?.name ?? '',
    eventTypes: route?.eventTypes ?? [],
    minSeverity: route?.minSeverity ?? 'low',
    allChannels: route === undefined || route.channels === 'all',
    channels: route === undefined || route.channels === 'all' ? [] : route.channels,
    owner: route?.match.owner ?? '',
    pathPrefix: route?.match.pathPrefix ?? '',
    tags: Object.entries(route?.match.tags ?? {})
      .map(([key, value]) => `${key}=${value}`)
      .join(', '),
    notifyOwner: route?.notifyOwner ?? false,
    enabled: route?.enabled ?? true,
  };
}

/** The tags of the draft, or the problem with them. */
function parseTags(text: string): Record<string, string> | string {
  const tags: Record<string, string> = {};
  for (const pair of text.split(',').map((part) => part.trim())) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    if (at <= 0) return `Tags are key=value pairs, comma-separated ("${pair}" has no key=value)`;
    tags[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return tags;
}

function toggled(values: readonly string[], value: string, on: boolean): string[] {
  return on ? [...new Set([...values, value])] : values.filter((candidate) => candidate !== value);
}

export function RouteForm({
  route,
  channelNames,
  onDone,
}: {
  /** The route to change; undefined for a new one. */
  route?: Route | undefined;
  channelNames: ReadonlyMap<string, string>;
  onDone: () => void;
}) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<RouteDraft>(() => draftOf(route));
  const [problem, setProblem] = useState<string | undefined>();
  const set = (patch: Partial<RouteDraft>) => setDraft((current) => ({ ...current, ...patch }));
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api.request({
        method: route === undefined ? 'POST' : 'PUT',
        path:
          route === undefined
            ? '/notifications/routes'
            : `/notifications/routes/${encodeURIComponent(route.id)}`,
        body,
        schema: RouteResponse,
        action: route === undefined ? 'add a route' : `change the route ${route.name}`,
      }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ROUTES_KEY });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const tags = parseTags(draft.tags);
    if (typeof tags === 'string') return setProblem(tags);
    if (draft.eventTypes.length === 0) return setProblem('Choose at least one event');
    if (!draft.allChannels && draft.channels.length === 0)
      return setProblem('Choose at least one channel, or all channels');
    setProblem(undefined);
    const match = {
      ...(draft.owner.trim() === '' ? {} : { owner: draft.owner.trim() }),
      ...(draft.pathPrefix.trim() === '' ? {} : { pathPrefix: draft.pathPrefix.trim() }),
      ...(Object.keys(tags).length === 0 ? {} : { tags }),
    };
    save.mutate({
      name: draft.name.trim(),
      eventTypes: draft.eventTypes,
      minSeverity: draft.minSeverity,
      match,
      channels: draft.allChannels ? 'all' : draft.channels,
      notifyOwner: draft.notifyOwner,
      enabled: draft.enabled,
    });
  };
  const heading = route === undefined ? 'New route' : `Change ${route.name}`;
  const headingId = `route-form-${route?.id ?? 'new'}`;
  return (
    <form onSubmit={submit} className="panel mt-3 space-y-3" aria-labelledby={headingId}>
      <h3 id={headingId}>{heading}</h3>
      <div className="grid gap-2 md:grid-cols-2">
        <TextField label="Name" value={draft.name} onChange={(name) => set({ name })} required />
        <SelectField
          label="From severity"
          value={draft.minSeverity}
          onChange={(minSeverity) => set({ minSeverity })}
          options={SEVERITY_VALUES.map((severity) => ({ value: severity, label: severity }))}
        />
      </div>
      <fieldset>
        <legend className="text-sm font-medium">Events</legend>
        <div className="grid gap-x-4 gap-y-3 text-sm sm:grid-cols-2 lg:grid-cols-3">
          {ROUTABLE_EVENT_TYPE_VALUES.map((type) => (
            <CheckboxField
              key={type}
              label={<code>{type}</code>}
              checked={draft.eventTypes.includes(type)}
              onChange={(on) => set({ eventTypes: toggled(draft.eventTypes, type, on) })}
            />
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend className="text-sm font-medium">Channels</legend>
        <div className="grid gap-x-4 gap-y-3 text-sm sm:grid-cols-2 lg:grid-cols-3">
          <CheckboxField
            label="All channels"
            checked={draft.allChannels}
            onChange={(allChannels) => set({ allChannels })}
          />
          {[...channelNames].map(([id, name]) => (
            <CheckboxField
              key={id}
              label={name}
              disabled={draft.allChannels}
              checked={!draft.allChannels && draft.channels.includes(id)}
              onChange={(on) => set({ channels: toggled(draft.channels, id, on) })}
            />
          ))}
        </div>
      </fieldset>
      <div className="grid gap-2 md:grid-cols-3">
        <TextField
          label="Owner"
          value={draft.owner}
          onChange={(owner) => set({ owner })}
          hint="Only credentials of this owner (optional)"
        />
        <TextField
          label="Path prefix"
          value={draft.pathPrefix}
          onChange={(pathPrefix) => set({ pathPrefix })}
          hint="Only secrets under this path, as prod/ (optional)"
        />
        <TextField
          label="Tags"
          value={draft.tags}
          onChange={(tags) => set({ tags })}
          hint="key=value, comma-separated: all must match (optional)"
        />
      </div>
      <div className="flex flex-wrap gap-4 text-sm">
        <CheckboxField
          label="Also email the credential’s owner (when it is an address)"
          checked={draft.notifyOwner}
          onChange={(notifyOwner) => set({ notifyOwner })}
        />
        <CheckboxField label="Enabled" checked={draft.enabled} onChange={(enabled) => set({ enabled })} />
      </div>
      {problem !== undefined && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {problem}
        </p>
      )}
      <ErrorAlert error={save.error} />
      <FormButtons
        submitLabel={route === undefined ? 'Add route' : 'Save route'}
        pending={save.isPending}
        onCancel={onDone}
      />
    </form>
  );
}
