import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { type Column, type Sort, SortableTable, formatSort, parseSort } from './SortableTable.js';

interface Row {
  readonly id: string;
  readonly name: string;
  readonly owner: string;
}

const COLUMNS: Column<Row>[] = [
  { id: 'name', header: 'Name', sortKey: 'name', cell: (row) => row.name },
  { id: 'owner', header: 'Owner', cell: (row) => row.owner },
  { id: 'expires', header: 'Expires', sortKey: 'expiresAt', cell: () => '—' },
];

function renderTable(sort: Sort, onSort = vi.fn()) {
  render(
    <SortableTable
      caption="Credentials"
      columns={COLUMNS}
      rows={[{ id: '1', name: 'a', owner: 'team' }]}
      rowKey={(row) => row.id}
      sort={sort}
      onSort={onSort}
      empty="none"
    />,
  );
  return onSort;
}

describe('SortableTable (WAI-ARIA sortable table)', () => {
  it('puts aria-sort only on the sorted column and a button in each sortable header', () => {
    renderTable({ key: 'expiresAt', direction: 'descending' });

    const headers = screen.getAllByRole('columnheader');
    expect(headers.map((header) => header.getAttribute('aria-sort'))).toEqual([null, null, 'descending']);
    expect(within(headers[0] as HTMLElement).getByRole('button', { name: 'Name' })).toBeTruthy();
    expect(within(headers[1] as HTMLElement).queryByRole('button')).toBeNull();
  });

  it('asks for ascending on a new column and flips the direction on the sorted one, from the keyboard', async () => {
    const user = userEvent.setup();
    const onSort = renderTable({ key: 'name', direction: 'ascending' });

    await user.tab();
    await user.keyboard('{Enter}');
    await user.tab();
    await user.keyboard(' ');

    expect(onSort.mock.calls).toEqual([
      [{ key: 'name', direction: 'descending' }],
      [{ key: 'expiresAt', direction: 'ascending' }],
    ]);
  });

  it('reads and writes the API sort parameter', () => {
    expect(parseSort('-expiresAt', { key: 'name', direction: 'ascending' })).toEqual({
      key: 'expiresAt',
      direction: 'descending',
    });
    expect(parseSort(undefined, { key: 'name', direction: 'ascending' })).toEqual({
      key: 'name',
      direction: 'ascending',
    });
    expect(formatSort({ key: 'status', direction: 'descending' })).toBe('-status');
    expect(formatSort({ key: 'status', direction: 'ascending' })).toBe('status');
  });
});
