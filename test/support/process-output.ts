/**
 * Captures what this process writes to stdout and stderr (the handlers' Powertools log lines and
 * metrics, in the local runtime) while still writing it through.
 */

/** Appends every chunk written to stdout or stderr to `logged`; the returned function stops it. */
export function captureProcessOutput(logged: string[]): () => void {
  const restore: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = (chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return write(chunk, ...rest);
    };
    restore.push(() => {
      stream.write = write;
    });
  }
  return () => restore.forEach((undo) => undo());
}
