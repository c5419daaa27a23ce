/**
 * `npm run dev`: the local runtime (`npm start`, API and sign-in on port 3000) and the Vite dev
 * server of the dashboard (port 5173, hot reload, API calls proxied to port 3000) side by side.
 * Arguments go to `npm start`; Ctrl+C stops both, and either one ending stops the other.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

if (!existsSync(new URL('../frontend/package.json', import.meta.url))) {
  console.error(
    'The dashboard workspace (frontend/package.json) is not there yet; use npm start for the API.',
  );
  process.exit(1);
}

const children: ChildProcess[] = [
  // The dev server serves the dashboard, so npm start need not build it first.
  spawn(npm, ['start', '--', '--no-dashboard-build', ...process.argv.slice(2)], {
    cwd: root,
    stdio: 'inherit',
  }),
  spawn(npm, ['run', 'dev', '-w', 'frontend'], { cwd: root, stdio: 'inherit' }),
];

let stopping = false;
function stopAll(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}

for (const child of children) {
  child.once('exit', (code) => {
    if (code !== null && code !== 0) process.exitCode = code;
    stopAll('SIGTERM');
  });
}
process.once('SIGINT', () => stopAll('SIGINT'));
process.once('SIGTERM', () => stopAll('SIGTERM'));
