/**
 * One credential: facts, findings with why they fired and the fix, the rotation policy
 * (editable), "Rotate now" with live step progress, rotation history with each step, rollback.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, getRouteApi } from '@tanstack/react-router';
import { type FormEvent, useId, useState } from 'react';

import { CredentialResponse } from '../../../lambdas/shared/contracts/credentials.js';
import { FindingRulesResponse } from '../../../lambdas/shared/contracts/discovery.js';
import {
  RotationAccepted,
  RotationListResponse,
  RotationPolicyListResponse,
  RotationResponse,
} from '../../../lambdas/shared/contracts/rotations.js';
import { encodePath } from '../api/client.js';
import { type Credential, ROTATION_STEPS, type Rotation, TYPE_LABELS } from '../api/resources.js';
import { useApi, useIdentity } from '../app/context.js';
import { AlertHoldPanel } from '../components/AlertHoldPanel.js';
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

const route = getRouteApi('/app/credentials/$id');

/** Rotations still moving; the page polls them. */
export function isActive(rotation: Pick<Rotation, 'state'>): boolean {
  return rotation.state === 'pending' || rotation.state === 'in-progress';
}

export function CredentialPage() {
  const api = useApi();
  const { id } = route.useParams();
  const credential = useQuery({
    queryKey: ['credentials', 'one', id],
    queryFn: ({ signal }) =>
      api.request({
        path: `/credentials/${encodeURIComponent(id)}`,
        schema: CredentialResponse,
        action: 'read this credential',
        signal,
      }),
  });

  if (credential.isPending) {
    return (
      <>
        <h1>Credential</h1>
        <Loading what="the credential" />
      </>
    );
  }
  if (credential.isError) {
    return (
      <>
        <h1>Credential</h1>
        <ErrorAlert error={credential.error} />
        <Link to="/credentials">Back to the inventory</Link>
      </>
    );
  }
  const data = credential.data.data;
  return (
    <>
      <p className="mb-1 text-sm">
        <Link to="/credentials">Credentials</Link> <span aria-hidden="true">/</span>
      </p>
      <PageHeader title={data.name}>
        <Badge tone={toneOf(data.status)}>{data.status}</Badge>
      </PageHeader>
      <div className="grid gap-4 lg:grid-cols-2">
        <FactsPanel credential={data} />
        <FindingsPanel credential={data} />
        <RotationPolicyPanel credential={data} />
        <RotationPanel credential={data} />
      </div>
      <AlertHoldPanel credentialId={data.id} />
      <RotationHistory credential={data} />
    </>
  );
}

function FactsPanel({ credential }: { credential: Credential }) {
  const reference = Object.entries(credential.reference).filter(([, value]) => value !== undefined);
  const tags = Object.entries(credential.tags);
  return (
    <section aria-labelledby="facts" className="panel">
      <h2 id="facts" className="mb-2">
        Facts
      </h2>
      <Facts
        items={[
          ['Type', TYPE_LABELS[credential.type]],
          ['Source', credential.source],
          ['Id', <code key="id">{credential.id}</code>],
          ['Owner', credential.owner ?? '—'],
          ['Description', credential.description ?? '—'],
          ...reference.map(([key, value]): [string, string] => [`Reference: ${key}`, String(value)]),
          [
            'Tags',
            tags.length === 0
              ? '—'
              : tags.map(([key, value]) => (value === '' ? key : `${key}=${value}`)).join(', '),
          ],
          ['Created', <Time key="c" value={credential.createdAt} />],
          ['Last used', <Time key="u" value={credential.lastUsedAt} />],
          ['Last rotated', <Time key="r" value={credential.lastRotatedAt} />],
          ['Expires', <Time key="e" value={credential.expiresAt} />],
          ['Secret path', credential.rotation?.secretPath ?? '—'],
          ['Next rotation due', <Time key="d" value={credential.rotation?.dueAt} />],
          ...Object.entries(credential.facts).map(([key, value]): [string, string] => [key, String(value)]),
        ]}
      />
    </section>
  );
}

function FindingsPanel({ credential }: { credential: Credential }) {
  const api = useApi();
  const { can } = useIdentity();
  const rules = useQuery({
    queryKey: ['discovery-rules'],
    queryFn: ({ signal }) =>
      api.request({
        path: '/discovery/rules',
        schema: FindingRulesResponse,
        action: 'read the finding rules',
        signal,
      }),
    staleTime: 10 * 60_000,
  });
  const canRegister = can.changeInventory && credential.source === 'discovered';
  return (
    <section aria-labelledby="findings" className="panel">
      <h2 id="findings" className="mb-2">
        Findings
      </h2>
      {credential.findings.length === 0 ? (
        <p className="muted text-sm">No open finding.</p>
      ) : (
        <ul className="space-y-3">
          {credential.findings.map((finding) => {
            const rule = rules.data?.data.rules.find((candidate) => candidate.id === finding.ruleId);
            return (
              <li key={finding.ruleId} className="text-sm">
                <p className="flex flex-wrap items-center gap-2">
                  <Badge tone={toneOf(finding.severity)}>{finding.severity}</Badge>
                  <strong>{finding.title}</strong>
                </p>
                <p className="muted text-xs">
                  Rule <code>{finding.ruleId}</code>, open since <Time value={finding.since} />
                  {rule?.thresholdDays !== undefined && ` (threshold ${rule.thresholdDays} days)`}
                  {rule !== undefined && `; equivalent: ${rule.equivalent}`}
                </p>
                <p>
                  <span className="font-medium">Fix: </span>
                  {finding.remediation}
                </p>
              </li>
            );
          })}
        </ul>
      )}
      {canRegister && credential.findings.length > 0 && (
        <p className="mt-3 text-sm">
          Rather than only a warning: register it as a managed credential and let VaultPilot rotate it.{' '}
          <Link to="/credentials" search={{ register: credential.type }}>
            Register and rotate
          </Link>
        </p>
      )}
    </section>
  );
}

function RotationPolicyPanel({ credential }: { credential: Credential }) {
  const api = useApi();
  const { can } = useIdentity();
  const queryClient = useQueryClient();
  const selectId = useId();
  const inlineId = useId();
  const current =
    credential.rotationPolicy ??
    (credential.rotation?.policy !== undefined ? '(inline)' : '(tenant defaults)');
  const [choice, setChoice] = useState(
    credential.rotationPolicy ?? (credential.rotation?.policy !== undefined ? '(inline)' : ''),
  );
  const [inline, setInline] = useState(
    credential.rotation?.policy !== undefined ? JSON.stringify(credential.rotation.policy, null, 2) : '',
  );
  const [problem, setProblem] = useState<string | null>(null);
  const policies = useQuery({
    queryKey: ['rotation-policies'],
    queryFn: ({ signal }) =>
      api.request({
        path: '/rotation-policies',
        schema: RotationPolicyListResponse,
        action: 'list rotation policies',
        signal,
      }),
    enabled: can.changeInventory,
  });
  const save = useMutation({
    mutationFn: (rotationPolicy: string | Record<string, unknown> | null) =>
      api.request({
        method: 'PATCH',
        path: `/credentials/${encodeURIComponent(credential.id)}`,
        body: { rotationPolicy, revision: credential.revision },
        schema: CredentialResponse,
        action: 'change the rotation policy',
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['credentials'] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (choice === '(inline)') {
      try {
        const parsed: unknown = JSON.parse(inline);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new TypeError('not an object');
        setProblem(null);
        save.mutate(parsed as Record<string, unknown>);
      } catch (_error: unknown) {
        setProblem('The inline policy must be a JSON object, e.g. {"intervalDays": 30}.');
      }
      return;
    }
    setProblem(null);
    save.mutate(choice === '' ? null : choice);
  };
  return (
    <section aria-labelledby="rotation-policy" className="panel">
      <h2 id="rotation-policy" className="mb-2">
        Rotation policy
      </h2>
      <p className="text-sm">
        Current: <strong>{current}</strong>
      </p>
      {can.changeInventory && (
        <form onSubmit={submit} className="mt-2 space-y-2">
          <div>
            <label htmlFor={selectId} className="label">
              Policy
            </label>
            <select
              id={selectId}
              className="input"
              value={choice}
              onChange={(event) => setChoice(event.target.value)}
            >
              <option value="">Tenant defaults</option>
              {policies.data?.data.policies.map((policy) => (
                <option key={policy.name} value={policy.name}>
                  {policy.name}
                </option>
              ))}
              {credential.source === 'managed' && <option value="(inline)">Inline policy (JSON)</option>}
            </select>
          </div>
          {choice === '(inline)' && (
            <div>
              <label htmlFor={inlineId} className="label">
                Inline policy
              </label>
              <textarea
                id={inlineId}
                className="input font-mono"
                rows={4}
                spellCheck={false}
                value={inline}
                onChange={(event) => setInline(event.target.value)}
              />
            </div>
          )}
          {problem !== null && (
            <p role="alert" className="text-sm text-red-800 dark:text-red-200">
              {problem}
            </p>
          )}
          <ErrorAlert error={save.error} />
          {save.isSuccess && (
            <p role="status" className="text-sm">
              Saved.
            </p>
          )}
          <button type="submit" className="btn" disabled={save.isPending}>
            Save policy
          </button>
        </form>
      )}
    </section>
  );
}

/** "Rotate now" and the live progress of the rotation it started. */
function RotationPanel({ credential }: { credential: Credential }) {
  const api = useApi();
  const { can } = useIdentity();
  const queryClient = useQueryClient();
  const [startedId, setRotationId] = useState<string | null>(null);
  // A rotation already running when the page opened is followed too.
  const history = useRotationHistory(credential.id);
  const rotationId = startedId ?? history.data?.data.rotations.find(isActive)?.rotationId ?? null;
  const rotatable = credential.rotation !== undefined;
  const start = useMutation({
    mutationFn: () =>
      api.request({
        method: 'POST',
        path: `/credentials/${encodeURIComponent(credential.id)}/rotate`,
        schema: RotationAccepted,
        action: 'rotate this credential',
      }),
    onSuccess: (accepted) => setRotationId(accepted.data.rotationId),
  });
  const rotation = useQuery({
    queryKey: ['rotations', rotationId],
    queryFn: ({ signal }) =>
      api.request({
        path: `/rotations/${encodePath(rotationId ?? '')}`,
        schema: RotationResponse,
        action: 'read the rotation',
        signal,
      }),
    enabled: rotationId !== null,
    // Live progress: poll while the rotation moves, stop when it has settled.
    refetchInterval: (query) =>
      query.state.data === undefined || isActive(query.state.data.data) ? 1_000 : false,
  });
  const settled = rotation.data !== undefined && !isActive(rotation.data.data);
  const [announced, setAnnounced] = useState<string | null>(null);
  if (settled && announced !== rotation.data.data.rotationId) {
    setAnnounced(rotation.data.data.rotationId);
    void queryClient.invalidateQueries({ queryKey: ['credentials', 'one', credential.id] });
    void queryClient.invalidateQueries({ queryKey: ['rotations', 'of', credential.id] });
  }
  return (
    <section aria-labelledby="rotate" className="panel">
      <h2 id="rotate" className="mb-2">
        Rotation
      </h2>
      {!rotatable ? (
        <p className="muted text-sm">
          VaultPilot does not rotate this credential: it has no secret path and rotation settings
          {credential.source === 'managed' ? ' (set them with PATCH /credentials or re-register it).' : '.'}
        </p>
      ) : can.changeInventory ? (
        <button
          type="button"
          className="btn btn-primary"
          disabled={start.isPending || (rotation.data !== undefined && !settled)}
          onClick={() => start.mutate()}
        >
          Rotate now
        </button>
      ) : (
        <p className="muted text-sm">Operators and admins can rotate this credential.</p>
      )}
      <ErrorAlert error={start.error ?? rotation.error} />
      {rotation.data !== undefined && <RotationSteps rotation={rotation.data.data} live />}
    </section>
  );
}

/** The four steps with their state; "pending" until a step has started. */
export function RotationSteps({ rotation, live = false }: { rotation: Rotation; live?: boolean }) {
  // Only the live rotation's list carries the exact name "Rotation steps"; history entries name theirs apart.
  const listName = live ? 'Rotation steps' : `Steps of rotation ${rotation.rotationId}`;
  const latest = (name: string) => rotation.steps.filter((step) => step.step === name).at(-1);
  return (
    <div className="mt-3">
      <p className="text-sm" aria-live={live ? 'polite' : undefined}>
        Rotation <code>{rotation.rotationId}</code>:{' '}
        <Badge tone={toneOf(rotation.state)}>{rotation.state}</Badge>
        {rotation.failure !== undefined && <span className="ml-1">{rotation.failure}</span>}
      </p>
      <ol aria-label={listName} className="mt-2 grid gap-1 sm:grid-cols-4">
        {ROTATION_STEPS.map((name) => {
          const step = latest(name);
          const state = step?.status ?? 'pending';
          return (
            <li key={name} className="rounded border border-slate-200 p-2 text-sm dark:border-slate-700">
              <span className="font-medium">{name}</span> <Badge tone={toneOf(state)}>{state}</Badge>
              {step !== undefined && (
                <span className="muted block text-xs">
                  <Time value={step.startedAt} />
                  {step.attempts > 1 && `, ${step.attempts} attempts`}
                  {step.outcome !== undefined && ` — ${step.outcome}`}
                </span>
              )}
            </li>
          );
        })}
      </ol>
    </div>
  );
}

function useRotationHistory(credentialId: string) {
  const api = useApi();
  return useQuery({
    queryKey: ['rotations', 'of', credentialId],
    queryFn: ({ signal }) =>
      api.request({
        path: `/credentials/${encodeURIComponent(credentialId)}/rotations`,
        query: { limit: 20 },
        schema: RotationListResponse,
        action: 'list the rotations of this credential',
        signal,
      }),
  });
}

function RotationHistory({ credential }: { credential: Credential }) {
  const api = useApi();
  const { can } = useIdentity();
  const queryClient = useQueryClient();
  const history = useRotationHistory(credential.id);
  const rollback = useMutation({
    mutationFn: (rotationId: string) =>
      api.request({
        method: 'POST',
        path: `/rotations/${encodeURIComponent(rotationId)}/rollback`,
        schema: RotationResponse,
        action: 'roll back this rotation',
      }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['rotations'] });
      await queryClient.invalidateQueries({ queryKey: ['credentials', 'one', credential.id] });
    },
  });
  const rotations = history.data?.data.rotations ?? [];
  // Only the latest succeeded rotation can be rolled back (README: Rotation).
  const rollbackable = rotations.find((rotation) => rotation.state === 'succeeded')?.rotationId;
  return (
    <section aria-labelledby="rotation-history" className="panel mt-4">
      <h2 id="rotation-history" className="mb-2">
        Rotation history
      </h2>
      {history.isPending && <Loading what="rotations" />}
      <ErrorAlert error={history.error ?? rollback.error} />
      {history.data !== undefined && rotations.length === 0 && (
        <p className="muted text-sm">No rotation yet.</p>
      )}
      <ul className="space-y-3">
        {rotations.map((rotation) => (
          <li key={rotation.rotationId} className="border-t border-slate-200 pt-2 dark:border-slate-800">
            <div className="flex flex-wrap items-center gap-2 text-sm">
              <Time value={rotation.createdAt} />
              <span>
                {rotation.trigger} by {rotation.requestedBy}
                {rotation.dryRun && ' (dry run)'}
              </span>
              {rotation.retirement !== undefined && (
                <span className="muted text-xs">
                  old credential: {rotation.retirement.status}
                  {rotation.retirement.dueAt !== undefined && (
                    <>
                      , next {rotation.retirement.nextPhase} <Time value={rotation.retirement.dueAt} />
                    </>
                  )}
                </span>
              )}
              {can.changeInventory && rotation.rotationId === rollbackable && (
                <ConfirmButton
                  label="Roll back"
                  confirmLabel="Roll back to the previous credential"
                  question="Make the previous credential current again?"
                  disabled={rollback.isPending}
                  onConfirm={() => rollback.mutate(rotation.rotationId)}
                />
              )}
            </div>
            <RotationSteps rotation={rotation} />
          </li>
        ))}
      </ul>
    </section>
  );
}
