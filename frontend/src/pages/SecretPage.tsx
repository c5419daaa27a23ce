/**
 * One secret: versions with their state, a value only after an explicit, audited "Reveal" (kept
 * in this component's memory, never in the query cache, storage, the URL or the console), copy,
 * a new version with check-and-set, soft delete, undelete, destroy, metadata, and who read it.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, getRouteApi } from '@tanstack/react-router';
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import type { z } from 'zod';

import { AuditEventsResponse } from '../../../lambdas/shared/contracts/audit.js';
import {
  ReadSecretResponse,
  SecretMetadataResponse,
  WriteSecretResponse,
} from '../../../lambdas/shared/contracts/secrets.js';
import { ApiError } from '../api/errors.js';
import { encodePath } from '../api/client.js';
import { useApi, useIdentity } from '../app/context.js';
import { parseTags } from '../components/RegisterCredentialForm.js';
import {
  Badge,
  ConfirmButton,
  ErrorAlert,
  Facts,
  Loading,
  PageHeader,
  Time,
  toneOf,
} from '../components/ui.js';

const route = getRouteApi('/app/secrets/view');

type Metadata = z.infer<typeof SecretMetadataResponse>['data'];
type VersionInfo = Metadata['versions'][string];

export function versionState(metadata: Metadata, version: number, info: VersionInfo): string {
  if (info.destroyed) return 'destroyed';
  if (info.deletion_time !== '') return 'deleted';
  return version === metadata.current_version ? 'current' : 'previous';
}

export function SecretPage() {
  const api = useApi();
  const path = (route.useSearch().path ?? '').replace(/^\/+/, '');
  const metadata = useQuery({
    queryKey: ['secrets', 'metadata', path],
    queryFn: ({ signal }) =>
      api.request({
        path: `/secrets/metadata/${encodePath(path)}`,
        schema: SecretMetadataResponse,
        action: 'read this secret’s metadata',
        signal,
      }),
    enabled: path !== '',
  });
  const parent = path.includes('/') ? `${path.slice(0, path.lastIndexOf('/'))}/` : '';
  const missing = metadata.error instanceof ApiError && metadata.error.status === 404;

  return (
    <>
      <p className="mb-1 text-sm">
        <Link to="/secrets" search={parent === '' ? {} : { path: parent }}>
          Secrets{parent === '' ? '' : `: ${parent}`}
        </Link>
      </p>
      <PageHeader title={path === '' ? 'Secret' : path} />
      {path === '' && <p>No secret path given.</p>}
      {metadata.isPending && path !== '' && <Loading what="the secret" />}
      {missing ? (
        <>
          <p className="muted mb-3 text-sm">There is no secret you can see at this path yet.</p>
          <WriteVersion path={path} currentVersion={0} casRequired={false} />
        </>
      ) : (
        <ErrorAlert error={metadata.error} />
      )}
      {metadata.data !== undefined && <SecretDetail path={path} metadata={metadata.data.data} />}
    </>
  );
}

function SecretDetail({ path, metadata }: { path: string; metadata: Metadata }) {
  const { can } = useIdentity();
  const versions = Object.entries(metadata.versions)
    .map(([version, info]) => ({ version: Number(version), info }))
    .sort((a, b) => b.version - a.version);
  return (
    <div className="space-y-4">
      <Versions path={path} metadata={metadata} versions={versions} />
      {can.useSecretValues && (
        <WriteVersion
          path={path}
          currentVersion={metadata.current_version}
          casRequired={metadata.cas_required}
        />
      )}
      <MetadataPanel path={path} metadata={metadata} />
      {can.readAudit ? (
        <Readers path={path} />
      ) : (
        <section aria-labelledby="readers" className="panel">
          <h2 id="readers">Who read it</h2>
          <p className="muted text-sm">
            The audit log, and with it who read each version, is shown to auditors and admins.
          </p>
        </section>
      )}
    </div>
  );
}

function Versions({
  path,
  metadata,
  versions,
}: {
  path: string;
  metadata: Metadata;
  versions: { version: number; info: VersionInfo }[];
}) {
  const api = useApi();
  const { can } = useIdentity();
  const queryClient = useQueryClient();
  const act = useMutation({
    mutationFn: ({ kind, version }: { kind: 'delete' | 'undelete' | 'destroy'; version: number }) =>
      api.request({
        method: 'POST',
        path: `/secrets/${kind}/${encodePath(path)}`,
        body: { versions: [version] },
        schema: null,
        action: `${kind === 'delete' ? 'soft-delete' : kind} version ${version} of this secret`,
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['secrets'] }),
  });
  return (
    <section aria-labelledby="versions" className="panel">
      <h2 id="versions" className="mb-2">
        Versions
      </h2>
      <ErrorAlert error={act.error} />
      <table className="table">
        <caption className="sr-only">Versions of {path}, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">State</th>
            <th scope="col">Created</th>
            <th scope="col">By</th>
            <th scope="col">Value</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {versions.map(({ version, info }) => {
            const state = versionState(metadata, version, info);
            const readable = state === 'current' || state === 'previous';
            return (
              <tr key={version}>
                <td className="tabular-nums">{version}</td>
                <td>
                  <Badge tone={toneOf(state)}>{state}</Badge>
                  {info.deletion_time !== '' && !info.destroyed && (
                    <span className="muted block text-xs">
                      deleted <Time value={info.deletion_time} />
                    </span>
                  )}
                </td>
                <td>
                  <Time value={info.created_time} />
                </td>
                <td className="break-all">{info.created_by}</td>
                <td>
                  {can.useSecretValues && readable ? (
                    <RevealedValue path={path} version={version} />
                  ) : (
                    <span className="muted text-xs">
                      {readable ? 'Hidden (your role reads metadata only)' : '—'}
                    </span>
                  )}
                </td>
                <td>
                  <div className="flex flex-wrap gap-1">
                    {can.useSecretValues && readable && (
                      <ConfirmButton
                        label="Delete"
                        confirmLabel={`Delete version ${version}`}
                        question={`Soft-delete version ${version}? It can be undeleted.`}
                        onConfirm={() => act.mutate({ kind: 'delete', version })}
                      />
                    )}
                    {can.useSecretValues && state === 'deleted' && (
                      <button
                        type="button"
                        className="btn"
                        onClick={() => act.mutate({ kind: 'undelete', version })}
                      >
                        Undelete
                      </button>
                    )}
                    {can.destroySecrets && state !== 'destroyed' && (
                      <ConfirmButton
                        label="Destroy"
                        confirmLabel={`Destroy version ${version} for good`}
                        question={`Destroy version ${version}? Its value is erased and cannot be recovered.`}
                        onConfirm={() => act.mutate({ kind: 'destroy', version })}
                      />
                    )}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/**
 * Masked until "Reveal", which makes one audited read; "Hide" drops the value from memory. The
 * value never enters the query cache, so nothing else in the app can see or persist it.
 */
export function RevealedValue({ path, version }: { path: string; version: number }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [value, setValue] = useState<Record<string, string> | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const reveal = useMutation({
    mutationFn: () =>
      api.request({
        path: `/secrets/data/${encodePath(path)}`,
        query: { version },
        schema: ReadSecretResponse,
        action: 'read this secret’s value',
      }),
    onSuccess: (response) => {
      setValue(response.data.data);
      // The read is audited: "Who read it" now has one more entry.
      void queryClient.invalidateQueries({ queryKey: ['audit', 'reads', path] });
    },
  });
  // Leaving the page or switching secrets drops the value.
  useEffect(() => () => setValue(null), [path, version]);
  // Reveal and Hide replace each other: keep the keyboard focus on the one now shown.
  const revealRef = useRef<HTMLButtonElement>(null);
  const hideRef = useRef<HTMLButtonElement>(null);
  const toggled = useRef(false);
  useEffect(() => {
    if (!toggled.current) return;
    (value === null ? revealRef : hideRef).current?.focus();
  }, [value]);

  if (value === null) {
    return (
      <div>
        <span className="mono muted mr-2" aria-label="Value hidden">
          ••••••••
        </span>
        <button
          ref={revealRef}
          type="button"
          className="btn"
          disabled={reveal.isPending}
          onClick={() => {
            toggled.current = true;
            reveal.mutate();
          }}
        >
          Reveal
        </button>
        <ErrorAlert error={reveal.error} />
      </div>
    );
  }
  return (
    <div>
      <dl className="space-y-1">
        {Object.entries(value).map(([field, fieldValue]) => (
          <div key={field} className="flex flex-wrap items-center gap-2">
            <dt className="muted text-xs">{field}</dt>
            <dd className="mono break-all">{fieldValue}</dd>
            <dd>
              <button
                type="button"
                className="btn"
                onClick={() =>
                  void navigator.clipboard.writeText(fieldValue).then(
                    () => setCopied(field),
                    () => setCopied(null),
                  )
                }
              >
                Copy
              </button>
            </dd>
          </div>
        ))}
      </dl>
      <p role="status" className="text-xs">
        {copied !== null && `Copied ${copied} to the clipboard.`}
      </p>
      <button
        ref={hideRef}
        type="button"
        className="btn mt-1"
        onClick={() => {
          setValue(null);
          setCopied(null);
        }}
      >
        Hide
      </button>
    </div>
  );
}

interface FieldRow {
  readonly id: number;
  readonly name: string;
  readonly value: string;
}

/** A new version: field rows typed masked, sent with check-and-set on the version read. */
function WriteVersion({
  path,
  currentVersion,
  casRequired,
}: {
  path: string;
  currentVersion: number;
  casRequired: boolean;
}) {
  const api = useApi();
  const queryClient = useQueryClient();
  const headingId = useId();
  const casId = useId();
  const [rows, setRows] = useState<FieldRow[]>([{ id: 1, name: '', value: '' }]);
  const [useCas, setUseCas] = useState(true);
  const [problem, setProblem] = useState<string | null>(null);
  const write = useMutation({
    mutationFn: (body: { data: Record<string, string>; options?: { cas: number } }) =>
      api.request({
        method: 'POST',
        path: `/secrets/data/${encodePath(path)}`,
        body,
        schema: WriteSecretResponse,
        action: 'write a new version of this secret',
      }),
    onSuccess: async () => {
      // The typed values leave memory as soon as they are stored.
      setRows([{ id: Date.now(), name: '', value: '' }]);
      await queryClient.invalidateQueries({ queryKey: ['secrets'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const filled = rows.filter((row) => row.name.trim() !== '');
    const names = filled.map((row) => row.name.trim());
    if (filled.length === 0) {
      setProblem('Add at least one field with a name.');
      return;
    }
    if (new Set(names).size !== names.length) {
      setProblem('Each field name may appear once.');
      return;
    }
    setProblem(null);
    const data = Object.fromEntries(filled.map((row) => [row.name.trim(), row.value]));
    write.mutate(useCas || casRequired ? { data, options: { cas: currentVersion } } : { data });
  };
  const update = (id: number, change: Partial<FieldRow>) =>
    setRows((current) => current.map((row) => (row.id === id ? { ...row, ...change } : row)));
  return (
    <section aria-labelledby={headingId} className="panel">
      <h2 id={headingId} className="mb-2">
        {currentVersion === 0 ? 'Create the secret' : 'New version'}
      </h2>
      <form onSubmit={submit} className="space-y-2" autoComplete="off">
        {rows.map((row, index) => (
          <fieldset key={row.id} className="flex flex-wrap items-end gap-2">
            <legend className="sr-only">Field {index + 1}</legend>
            <div>
              <label className="label" htmlFor={`${headingId}-name-${row.id}`}>
                Field name
              </label>
              <input
                id={`${headingId}-name-${row.id}`}
                className="input"
                value={row.name}
                spellCheck={false}
                onChange={(event) => update(row.id, { name: event.target.value })}
              />
            </div>
            <div className="min-w-64 flex-1">
              <label className="label" htmlFor={`${headingId}-value-${row.id}`}>
                Field value
              </label>
              <input
                id={`${headingId}-value-${row.id}`}
                className="input font-mono"
                type="password"
                autoComplete="new-password"
                value={row.value}
                onChange={(event) => update(row.id, { value: event.target.value })}
              />
            </div>
            {rows.length > 1 && (
              <button
                type="button"
                className="btn"
                onClick={() => setRows((current) => current.filter((candidate) => candidate.id !== row.id))}
              >
                Remove field {index + 1}
              </button>
            )}
          </fieldset>
        ))}
        <button
          type="button"
          className="btn"
          onClick={() => setRows((current) => [...current, { id: Date.now(), name: '', value: '' }])}
        >
          Add field
        </button>
        <div className="flex items-center gap-2 text-sm">
          <input
            id={casId}
            type="checkbox"
            checked={useCas || casRequired}
            disabled={casRequired}
            onChange={(event) => setUseCas(event.target.checked)}
          />
          <label htmlFor={casId}>
            Check-and-set: write only if the latest version is still {currentVersion}
            {casRequired && ' (required for this secret)'}
          </label>
        </div>
        {problem !== null && (
          <p role="alert" className="text-sm text-red-800 dark:text-red-200">
            {problem}
          </p>
        )}
        <ErrorAlert error={write.error} />
        {write.isSuccess && (
          <p role="status" className="text-sm">
            Version {write.data.data.version} written.
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={write.isPending}>
          Write new version
        </button>
      </form>
    </section>
  );
}

function MetadataPanel({ path, metadata }: { path: string; metadata: Metadata }) {
  const api = useApi();
  const { can } = useIdentity();
  const queryClient = useQueryClient();
  const maxId = useId();
  const casId = useId();
  const customId = useId();
  const [maxVersions, setMaxVersions] = useState(String(metadata.max_versions));
  const [casRequired, setCasRequired] = useState(metadata.cas_required);
  const [custom, setCustom] = useState(
    Object.entries(metadata.custom_metadata ?? {})
      .map(([key, value]) => `${key}=${value}`)
      .join(', '),
  );
  const save = useMutation({
    mutationFn: () =>
      api.request({
        method: 'POST',
        path: `/secrets/metadata/${encodePath(path)}`,
        body: {
          max_versions: Number(maxVersions),
          cas_required: casRequired,
          custom_metadata: parseTags(custom),
        },
        schema: null,
        action: 'change this secret’s metadata',
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['secrets', 'metadata', path] }),
  });
  return (
    <section aria-labelledby="metadata" className="panel">
      <h2 id="metadata" className="mb-2">
        Metadata
      </h2>
      <Facts
        items={[
          ['Created', <Time key="c" value={metadata.created_time} />],
          ['Updated', <Time key="u" value={metadata.updated_time} />],
          ['Current version', metadata.current_version],
          ['Oldest version', metadata.oldest_version],
          ['Versions kept', metadata.max_versions],
          ['Check-and-set required', metadata.cas_required ? 'yes' : 'no'],
          [
            'Custom metadata',
            Object.entries(metadata.custom_metadata ?? {})
              .map(([key, value]) => `${key}=${value}`)
              .join(', ') || '—',
          ],
        ]}
      />
      {can.useSecretValues && (
        <form
          className="mt-3 flex flex-wrap items-end gap-3"
          onSubmit={(event) => {
            event.preventDefault();
            save.mutate();
          }}
        >
          <div>
            <label htmlFor={maxId} className="label">
              Versions kept (1–100)
            </label>
            <input
              id={maxId}
              className="input w-24"
              type="number"
              min={1}
              max={100}
              value={maxVersions}
              onChange={(event) => setMaxVersions(event.target.value)}
            />
          </div>
          <div className="flex items-center gap-1 text-sm">
            <input
              id={casId}
              type="checkbox"
              checked={casRequired}
              onChange={(event) => setCasRequired(event.target.checked)}
            />
            <label htmlFor={casId}>Require check-and-set</label>
          </div>
          <div className="min-w-64 flex-1">
            <label htmlFor={customId} className="label">
              Custom metadata (key=value, comma-separated)
            </label>
            <input
              id={customId}
              className="input"
              value={custom}
              onChange={(event) => setCustom(event.target.value)}
            />
          </div>
          <button type="submit" className="btn" disabled={save.isPending}>
            Save metadata
          </button>
        </form>
      )}
      <ErrorAlert error={save.error} />
    </section>
  );
}

/** Who read each version and when: the audit log's `secret.read` events for this path. */
function Readers({ path }: { path: string }) {
  const api = useApi();
  const reads = useQuery({
    queryKey: ['audit', 'reads', path],
    queryFn: ({ signal }) =>
      api.request({
        path: '/audit',
        query: { target: path, action: 'secret.read', limit: 100 },
        schema: AuditEventsResponse,
        action: 'read the audit log',
        signal,
      }),
  });
  const events = reads.data?.events ?? [];
  return (
    <section aria-labelledby="readers" className="panel">
      <h2 id="readers" className="mb-2">
        Who read it
      </h2>
      <p className="muted mb-2 text-xs">The latest 100 value reads of this secret, from the audit log.</p>
      {reads.isPending && <Loading what="reads" />}
      <ErrorAlert error={reads.error} />
      {reads.data !== undefined &&
        (events.length === 0 ? (
          <p className="muted text-sm">Nobody has read a value of this secret.</p>
        ) : (
          <table className="table">
            <caption className="sr-only">Reads of {path}, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Version</th>
                <th scope="col">Outcome</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => (
                <tr key={event.eventId}>
                  <td>
                    <Time value={event.time} />
                  </td>
                  <td className="break-all">
                    {event.actor.id} <span className="muted text-xs">({event.actor.kind})</span>
                  </td>
                  <td className="tabular-nums">{event.target.version ?? 'latest'}</td>
                  <td>
                    <Badge tone={toneOf(event.outcome)}>{event.outcome}</Badge>
                  </td>
                  <td className="muted text-xs">{event.actor.sourceIp ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </section>
  );
}
