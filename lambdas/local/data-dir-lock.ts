/**
 * One runtime per data directory. LevelDB locks its own files too, but dynalite reports a
 * second opener only by crashing later, so the runtime takes this lock before it starts
 * anything: a file created exclusively, holding the owner's pid. A lock whose process is gone
 * (a killed runtime) is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalStateError } from './local-state-error.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    // EPERM: the process exists but belongs to someone else.
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
}

export function acquireDataDirLock(dataDir: string): () => void {
  const file = join(dataDir, 'runtime.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => rmSync(file, { force: true });
    } catch (error: unknown) {
      if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
      const owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) break;
      if (owner === process.pid) break;
      rmSync(file, { force: true });
    }
  }
  throw new LocalStateError(
    `The data directory ${dataDir} is in use by another VaultPilot process (see ${file}); stop it or use another --data-dir`,
  );
}
