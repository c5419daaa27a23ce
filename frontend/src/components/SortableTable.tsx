/**
 * A table following the WAI-ARIA sortable table pattern: each sortable column header holds a
 * button, and only the sorted column carries `aria-sort` (ascending or descending). Sorting
 * itself happens on the server; the table only reports which column and direction is wanted.
 */
import type { ReactNode } from 'react';

export type SortDirection = 'ascending' | 'descending';

export interface Sort {
  readonly key: string;
  readonly direction: SortDirection;
}

export interface Column<Row> {
  readonly id: string;
  readonly header: string;
  /** Present when the column can be sorted: the server's sort key. */
  readonly sortKey?: string;
  readonly cell: (row: Row) => ReactNode;
  readonly className?: string;
}

/** `name` / `-name` as the API takes it. */
export function parseSort(value: string | undefined, fallback: Sort): Sort {
  if (value === undefined || value === '') return fallback;
  return value.startsWith('-')
    ? { key: value.slice(1), direction: 'descending' }
    : { key: value, direction: 'ascending' };
}

export function formatSort(sort: Sort): string {
  return sort.direction === 'descending' ? `-${sort.key}` : sort.key;
}

export function SortableTable<Row>({
  caption,
  columns,
  rows,
  rowKey,
  sort,
  onSort,
  empty,
}: {
  caption: ReactNode;
  columns: readonly Column<Row>[];
  rows: readonly Row[];
  rowKey: (row: Row) => string;
  sort: Sort;
  onSort: (sort: Sort) => void;
  empty: ReactNode;
}) {
  return (
    <div className="overflow-x-auto">
      <table className="table">
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => {
              const sorted = column.sortKey !== undefined && column.sortKey === sort.key;
              return (
                <th
                  key={column.id}
                  scope="col"
                  aria-sort={sorted ? sort.direction : undefined}
                  className={column.className}
                >
                  {column.sortKey === undefined ? (
                    column.header
                  ) : (
                    <button
                      type="button"
                      className="inline-flex items-center gap-1 font-semibold hover:underline"
                      onClick={() =>
                        onSort({
                          key: column.sortKey ?? column.id,
                          direction: sorted && sort.direction === 'ascending' ? 'descending' : 'ascending',
                        })
                      }
                    >
                      {column.header}
                      <span aria-hidden="true" className="text-[0.7em]">
                        {sorted ? (sort.direction === 'ascending' ? '▲' : '▼') : '↕'}
                      </span>
                    </button>
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={columns.length} className="muted">
                {empty}
              </td>
            </tr>
          ) : (
            rows.map((row) => (
              <tr key={rowKey(row)}>
                {columns.map((column) => (
                  <td key={column.id} className={column.className}>
                    {column.cell(row)}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
