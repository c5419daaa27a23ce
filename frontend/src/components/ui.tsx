/** Small building blocks shared by the pages. */
import { type ReactNode, useEffect, useId, useRef, useState } from 'react';

import { requestIdOf, validationIssuesOf } from '../api/errors.js';

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="mb-4 flex flex-wrap items-center justify-between gap-2">
      <h1>{title}</h1>
      {children !== undefined && <div className="flex flex-wrap gap-2">{children}</div>}
    </header>
  );
}

/** An API error as a person reads it: what failed, the field issues of a 400, the request id. */
export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  if (error === null || error === undefined) return null;
  const message = error instanceof Error ? error.message : 'Something went wrong.';
  const requestId = requestIdOf(error);
  const issues = validationIssuesOf(error);
  return (
    <div
      role="alert"
      className="my-2 rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
    >
      {title !== undefined && <p className="font-semibold">{title}</p>}
      <p>{message}</p>
      {issues.length > 0 && (
        <ul className="ml-4 list-disc">
          {issues.map((issue, index) => (
            <li key={index}>
              {issue.path !== '' && <code>{issue.path}</code>} {issue.message}
            </li>
          ))}
        </ul>
      )}
      {requestId !== undefined && (
        <p className="mt-1 text-xs">
          Request id: <code>{requestId}</code>
        </p>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" className="muted text-sm">
      Loading {what}…
    </p>
  );
}

const TONES = {
  neutral: 'bg-slate-100 text-slate-800 dark:bg-slate-800 dark:text-slate-200',
  good: 'bg-green-100 text-green-900 dark:bg-green-950 dark:text-green-200',
  warn: 'bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-200',
  bad: 'bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-200',
  info: 'bg-blue-100 text-blue-900 dark:bg-blue-950 dark:text-blue-200',
} as const;
export type Tone = keyof typeof TONES;

export function Badge({ tone = 'neutral', children }: { tone?: Tone; children: ReactNode }) {
  return (
    <span
      className={`inline-block rounded px-1.5 py-0.5 text-xs font-medium whitespace-nowrap ${TONES[tone]}`}
    >
      {children}
    </span>
  );
}

export function toneOf(value: string): Tone {
  if (['healthy', 'succeeded', 'allowed', 'current', 'low', 'sent', 'active'].includes(value)) return 'good';
  if (['expiring', 'unused', 'partial', 'medium', 'queued', 'pending', 'deleted'].includes(value))
    return 'warn';
  if (
    ['overdue', 'failed', 'critical', 'high', 'denied', 'destroyed', 'rolled-back', 'failing'].includes(value)
  )
    return 'bad';
  if (['rotating', 'running', 'in-progress', 'sending', 'retrying'].includes(value)) return 'info';
  return 'neutral';
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** A time as a <time> element; empty or missing values show a dash. */
export function Time({ value, date = false }: { value: string | undefined | null; date?: boolean }) {
  if (value === undefined || value === null || value === '') return <span className="muted">—</span>;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) return <span>{value}</span>;
  return <time dateTime={parsed.toISOString()}>{(date ? dateOnly : dateTime).format(parsed)}</time>;
}

/** A labelled text input. */
export function TextField({
  label,
  value,
  onChange,
  type = 'text',
  hint,
  error,
  required,
  autoComplete = 'off',
  className,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  type?: string;
  hint?: string;
  error?: string | undefined;
  required?: boolean;
  autoComplete?: string;
  className?: string;
}) {
  const id = useId();
  const described = [hint !== undefined ? `${id}-hint` : '', error !== undefined ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div className={className}>
      <label htmlFor={id} className="label">
        {label}
        {required === true && <span aria-hidden="true"> *</span>}
      </label>
      <input
        id={id}
        className="input"
        type={type}
        value={value}
        required={required}
        autoComplete={autoComplete}
        aria-invalid={error !== undefined ? true : undefined}
        aria-describedby={described === '' ? undefined : described}
        onChange={(event) => onChange(event.target.value)}
      />
      {hint !== undefined && (
        <p id={`${id}-hint`} className="muted mt-0.5 text-xs">
          {hint}
        </p>
      )}
      {error !== undefined && (
        <p id={`${id}-error`} className="mt-0.5 text-xs text-red-700 dark:text-red-300">
          {error}
        </p>
      )}
    </div>
  );
}

export function SelectField({
  label,
  value,
  onChange,
  options,
  className,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: readonly (string | { value: string; label: string })[];
  className?: string;
}) {
  const id = useId();
  return (
    <div className={className}>
      <label htmlFor={id} className="label">
        {label}
      </label>
      <select id={id} className="input" value={value} onChange={(event) => onChange(event.target.value)}>
        {options.map((option) => {
          const { value: optionValue, label: optionLabel } =
            typeof option === 'string' ? { value: option, label: option } : option;
          return (
            <option key={optionValue} value={optionValue}>
              {optionLabel}
            </option>
          );
        })}
      </select>
    </div>
  );
}

/**
 * A destructive action that asks once more in place: the first press shows what will happen and
 * a confirm button (focused), the second does it.
 */
/** A form's submit button and its Cancel. */
export function FormButtons({
  submitLabel,
  pending,
  onCancel,
}: {
  submitLabel: string;
  pending: boolean;
  onCancel: () => void;
}) {
  return (
    <div className="flex gap-2">
      <button type="submit" className="btn btn-primary" disabled={pending}>
        {submitLabel}
      </button>
      <button type="button" className="btn" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

/** A checkbox with its label beside it. */
export function CheckboxField({
  label,
  checked,
  onChange,
  disabled,
  className,
}: {
  label: ReactNode;
  checked: boolean;
  onChange: (checked: boolean) => void;
  disabled?: boolean;
  className?: string;
}) {
  return (
    <label className={`flex items-center gap-2 ${className ?? ''}`.trim()}>
      <input
        type="checkbox"
        checked={checked}
        disabled={disabled}
        onChange={(event) => onChange(event.target.checked)}
      />
      {label}
    </label>
  );
}

export function ConfirmButton({
  label,
  confirmLabel,
  question,
  onConfirm,
  disabled,
}: {
  label: string;
  confirmLabel: string;
  question: string;
  onConfirm: () => void;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  const triggerRef = useRef<HTMLButtonElement>(null);
  const cancelled = useRef(false);
  useEffect(() => {
    // Cancel returns the keyboard focus to the button that asked.
    if (!asking && cancelled.current) {
      cancelled.current = false;
      triggerRef.current?.focus();
    }
  }, [asking]);
  if (!asking) {
    return (
      <button
        ref={triggerRef}
        type="button"
        className="btn"
        disabled={disabled}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  }
  return (
    <span role="group" aria-label={question} className="inline-flex flex-wrap items-center gap-2">
      <span className="text-sm">{question}</span>
      <button
        type="button"
        className="btn btn-danger"
        // Focus moves to the confirmation so a keyboard user lands on the decision.
        autoFocus
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button
        type="button"
        className="btn"
        onClick={() => {
          cancelled.current = true;
          setAsking(false);
        }}
      >
        Cancel
      </button>
    </span>
  );
}

/** A definition list of facts. */
export function Facts({ items }: { items: readonly [string, ReactNode][] }) {
  return (
    <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm">
      {items.map(([term, detail]) => (
        <div key={term} className="contents">
          <dt className="muted">{term}</dt>
          <dd className="break-all">{detail}</dd>
        </div>
      ))}
    </dl>
  );
}
