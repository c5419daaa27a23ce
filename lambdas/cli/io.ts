/** The streams and environment a command runs with; tests pass their own and run it in-process. */
export interface ClientIo {
  readonly stdin: AsyncIterable<string | Buffer> & { readonly isTTY?: boolean };
  readonly stdout: { write(chunk: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(chunk: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where relative paths (`@file`, `--out`) resolve; defaults to process.cwd(). */
  readonly cwd?: string;
}

/** Reads stdin to the end, up to `limit` bytes. */
export async function readStdin(io: ClientIo, limit: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    size += buffer.length;
    if (size > limit) throw new RangeError(`stdin holds more than ${limit} bytes; expected ${what}`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
