/**
 * The list half of the two policy settings pages (access policies, rotation policies): named,
 * revisioned items in a table with an Edit button and a confirmed, revision-checked Delete. Each
 * page keeps its own editor and columns; the list, its empty row, its errors and the delete
 * request are one component, so both pages behave alike.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';

import { useApi } from '../app/context.js';
import { ConfirmButton, ErrorAlert, Loading, Time } from './ui.js';

export interface NamedPolicy {
  readonly name: string;
  readonly revision: number;
}

export interface NamedPolicyColumn<T> {
  readonly header: string;
  readonly cell: (item: T) => ReactNode;
  readonly className?: string;
}

export interface NamedPolicyListProps<T extends NamedPolicy> {
  /** What one item is called in labels and questions, e.g. "rotation policy". */
  readonly noun: string;
  /** The collection's API path, e.g. `/rotation-policies`; an item is `<path>/<name>`. */
  readonly path: string;
  /** The query key of the list, invalidated after a delete. */
  readonly queryKey: readonly unknown[];
  readonly query: {
    readonly data: readonly T[] | undefined;
    readonly isPending: boolean;
    readonly error: unknown;
  };
  readonly columns: readonly NamedPolicyColumn<T>[];
  readonly updatedAt: (item: T) => string | undefined;
  readonly emptyText: string;
  /** Whether the caller may edit and delete (the Actions column). */
  readonly canManage: boolean;
  readonly onEdit: (item: T) => void;
}

export function NamedPolicyList<T extends NamedPolicy>({
  noun,
  path,
  queryKey,
  query,
  columns,
  updatedAt,
  emptyText,
  canManage,
  onEdit,
}: NamedPolicyListProps<T>) {
  const api = useApi();
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: ({ name, revision }: NamedPolicy) =>
      api.request({
        method: 'DELETE',
        path: `${path}/${encodeURIComponent(name)}`,
        query: { revision },
        schema: null,
        action: `delete the ${noun} ${name}`,
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey }),
  });
  const plural = `${noun.charAt(0).toUpperCase()}${noun.slice(1)}s`;
  const columnCount = columns.length + 2 + (canManage ? 1 : 0);

  return (
    <>
      <ErrorAlert error={query.error ?? remove.error} />
      {query.isPending && <Loading what={`${noun}s`} />}
      {query.data !== undefined && (
        <table className="table">
          <caption className="sr-only">{plural}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              {columns.map((column) => (
                <th key={column.header} scope="col">
                  {column.header}
                </th>
              ))}
              <th scope="col">Updated</th>
              {canManage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {query.data.length === 0 && (
              <tr>
                <td colSpan={columnCount} className="muted">
                  {emptyText}
                </td>
              </tr>
            )}
            {query.data.map((item) => (
              <tr key={item.name}>
                <td>{item.name}</td>
                {columns.map((column) => (
                  <td key={column.header} className={column.className}>
                    {column.cell(item)}
                  </td>
                ))}
                <td>
                  <Time value={updatedAt(item)} />
                </td>
                {canManage && (
                  <td>
                    <div className="flex gap-1">
                      <button type="button" className="btn" onClick={() => onEdit(item)}>
                        Edit<span className="sr-only"> {item.name}</span>
                      </button>
                      <ConfirmButton
                        label="Delete"
                        confirmLabel={`Delete ${item.name}`}
                        question={`Delete the ${noun} ${item.name}?`}
                        onConfirm={() => remove.mutate({ name: item.name, revision: item.revision })}
                      />
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
