/**
 * The export formats of a tenant's audit chain (ADR 0004, "Export").
 *
 * NDJSON, the format the verifier reads, one JSON object per line:
 *   {"type":"header","format":"vaultpilot.audit-export/2","tenant",…,"publicKey":"<PEM>","keyFingerprint"}
 *   {"type":"entry","format":2,"seq","prevHash","hash","body":"<the hashed bytes>","expiresAt"}   (seq order;
 *    entries chained before format 2: {"type":"entry","seq","prevHash","hash","expiresAt","prevExpiresAt","event":{…}})
 *   {"type":"digest","format","tenant","fromSeq","toSeq","headHash",…,"signature"}  (after entry toSeq;
 *    format-2 digests also carry "prevDigestHash", format-1 ones do not: both verify)
 * Entries and digests are written exactly as stored, so an export of a tampered table fails to
 * verify just as the table does.
 *
 * CSV, for people and spreadsheets: one row per entry, flattened, RFC 4180 quoting; a cell that a
 * spreadsheet would run as a formula is prefixed with `'` (the CSV injection defence OWASP gives).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as z from 'zod';
import type { ChainVerifierOptions, VerificationResult } from './chain-verifier.js';
import { AuditChainVerifier } from './chain-verifier.js';

export const EXPORT_FORMAT = 'vaultpilot.audit-export/2';
/** Exports made before entries kept their hashed bytes; they still verify. */
export const EXPORT_FORMATS = ['vaultpilot.audit-export/1', EXPORT_FORMAT] as const;

/** What the hash of an entry is over, spelled out in every export for people who verify by hand. */
export const HASH_DESCRIPTION =
  'hash = hex(SHA-256(bytes(prevHash) || UTF-8(body))), body = RFC 8785 canonical JSON of {event, expiresAt, prevExpiresAt, seq}, stored as is in format-2 entries (recompute it for entries without body); prevHash of seq 1 = 64 zeros';

export const ExportHeaderSchema = z.object({
  type: z.literal('header'),
  format: z.enum(EXPORT_FORMATS),
  tenant: z.string().min(1),
  exportedAt: z.iso.datetime({ precision: 3 }),
  /** Set when the export was asked for a range: its first entry then anchors the verification. */
  fromSeq: z.number().int().min(1).nullable(),
  toSeq: z.number().int().min(1).nullable(),
  hash: z.string(),
  signatureAlgorithm: z.string(),
  publicKey: z.string(),
  keyFingerprint: z.string(),
});
export type ExportHeader = z.infer<typeof ExportHeaderSchema>;

export function ndjsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

export function entryLine(entry: Readonly<Record<string, unknown>>): string {
  return ndjsonLine({ type: 'entry', ...entry });
}

export function digestLine(digest: Readonly<Record<string, unknown>>): string {
  return ndjsonLine({ type: 'digest', ...digest });
}

/** A line of an export, sorted by kind; anything unrecognized is kept, to be judged in place. */
export type ExportLine =
  | { readonly kind: 'header'; readonly header: ExportHeader }
  | { readonly kind: 'entry'; readonly entry: unknown }
  | { readonly kind: 'digest'; readonly digest: unknown }
  | { readonly kind: 'blank' };

export function readExportLine(line: string): ExportLine {
  if (line.trim().length === 0) return { kind: 'blank' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    // An unreadable line where an entry belongs is an entry that was tampered with.
    return { kind: 'entry', entry: undefined };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { type, ...rest } = value as Record<string, unknown>;
    if (type === 'header') {
      const header = ExportHeaderSchema.safeParse(value);
      if (header.success) return { kind: 'header', header: header.data };
    }
    if (type === 'digest') return { kind: 'digest', digest: rest };
    if (type === 'entry') return { kind: 'entry', entry: rest };
  }
  return { kind: 'entry', entry: value };
}

/** An export that is not one: no header, or more than one. */
export class AuditExportFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditExportFormatError';
  }
}

export interface ExportVerification extends VerificationResult {
  readonly tenant: string;
  /** The fingerprint of the key the digests were checked with. */
  readonly keyFingerprint: string | undefined;
  /** Whether that key came from the export itself rather than from the caller. */
  readonly keyFromExport: boolean;
  readonly partial: boolean;
}

/**
 * Verifies an NDJSON export. Lines are read twice (header and digests first, then the entries in
 * order), so `lines` is a function that yields them afresh; each pass holds one line at a time.
 * The digests are checked with `publicKey` when given, else with the key in the export (which
 * proves only that the export is consistent: compare its fingerprint with one obtained apart).
 */
export async function verifyAuditExport(
  lines: () => AsyncIterable<string> | Iterable<string>,
  options: { readonly publicKey?: KeyObject | undefined; readonly now: number },
): Promise<ExportVerification> {
  let header: ExportHeader | undefined;
  const digests: unknown[] = [];
  for await (const line of lines()) {
    const read = readExportLine(line);
    if (read.kind === 'header') {
      if (header !== undefined) throw new AuditExportFormatError('The export has more than one header line');
      header = read.header;
    } else if (read.kind === 'digest') {
      digests.push(read.digest);
    }
  }
  if (header === undefined) {
    throw new AuditExportFormatError(`Not a VaultPilot audit export: no ${EXPORT_FORMAT} header line`);
  }
  let publicKey = options.publicKey;
  const keyFromExport = publicKey === undefined;
  if (publicKey === undefined) {
    try {
      publicKey = createPublicKey(header.publicKey);
    } catch {
      publicKey = undefined;
    }
  }
  const partial = header.fromSeq !== null && header.fromSeq > 1;
  // An export is judged as of when it was made, never later than now (the header is not signed).
  const exportedAt = Math.floor(Date.parse(header.exportedAt) / 1000);
  const verifierOptions: ChainVerifierOptions = {
    tenant: header.tenant,
    digests,
    publicKey,
    now: Math.min(options.now, exportedAt),
    ...(partial && header.fromSeq !== null ? { anchorSeq: header.fromSeq } : {}),
  };
  const verifier = new AuditChainVerifier(verifierOptions);
  for await (const line of lines()) {
    const read = readExportLine(line);
    if (read.kind === 'entry') verifier.push(read.entry);
  }
  const result = verifier.finish();
  return {
    ...result,
    tenant: header.tenant,
    keyFingerprint: publicKey === undefined ? undefined : header.keyFingerprint,
    keyFromExport,
    partial,
  };
}

export const CSV_COLUMNS = [
  'seq',
  'time',
  'eventId',
  'actorKind',
  'actorId',
  'actorName',
  'sourceIp',
  'userAgent',
  'action',
  'outcome',
  'reason',
  'path',
  'version',
  'versions',
  'credentialId',
  'policy',
  'hashed',
  'requestId',
  'correlationId',
  'prevHash',
  'hash',
] as const;

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

export function csvCell(value: string): string {
  // A leading = + - @ or control character makes spreadsheets evaluate the cell.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvHeaderLine(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

/** One CSV row of a stored entry (read leniently: a tampered entry still gets its row). */
export function csvEntryLine(entry: Readonly<Record<string, unknown>>): string {
  const event = record(entry.event);
  const actor = record(event.actor);
  const target = record(event.target);
  const hashed = Object.entries(record(target.hashed))
    .map(([name, value]) => `${name}=${text(value)}`)
    .join(';');
  const versions = Array.isArray(target.versions)
    ? target.versions.map(text).join(' ')
    : text(target.versions);
  const cells: Record<(typeof CSV_COLUMNS)[number], string> = {
    seq: text(entry.seq),
    time: text(event.time),
    eventId: text(event.eventId),
    actorKind: text(actor.kind),
    actorId: text(actor.id),
    actorName: text(actor.name),
    sourceIp: text(actor.sourceIp),
    userAgent: text(actor.userAgent),
    action: text(event.action),
    outcome: text(event.outcome),
    reason: text(event.reason),
    path: text(target.path),
    version: text(target.version),
    versions,
    credentialId: text(target.credentialId),
    policy: text(target.policy),
    hashed,
    requestId: text(event.requestId),
    correlationId: text(event.correlationId),
    prevHash: text(entry.prevHash),
    hash: text(entry.hash),
  };
  return `${CSV_COLUMNS.map((column) => csvCell(cells[column])).join(',')}\r\n`;
}
