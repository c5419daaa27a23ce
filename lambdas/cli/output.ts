/** Data on stdout: aligned tables for people, JSON for scripts (`-format=json` or `--json`). */
import type { ClientIo } from './io.js';

export type OutputFormat = 'table' | 'json';

export function printJson(io: ClientIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'string') return value.replace(/[\r\n\t]/g, ' ');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Columns padded to their widest cell, a header line, then a dashed rule. */
export function printTable(
  io: ClientIo,
  headers: readonly string[],
  rows: readonly (readonly unknown[])[],
): void {
  const texts = rows.map((row) => headers.map((_, index) => cell(row[index])));
  const widths = headers.map((header, index) =>
    Math.max(header.length, ...texts.map((row) => row[index]?.length ?? 0)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((text, index) => (index === cells.length - 1 ? text : text.padEnd(widths[index] ?? 0)))
      .join('    ')
      .trimEnd();
  io.stdout.write(`${line(headers)}\n${line(widths.map((width) => '-'.repeat(width)))}\n`);
  for (const row of texts) io.stdout.write(`${line(row)}\n`);
}

/** A key/value table (Vault's `Key  Value` layout). */
export function printPairs(io: ClientIo, pairs: readonly (readonly [string, unknown])[]): void {
  printTable(io, ['Key', 'Value'], pairs);
}
