/**
 * `npm run bench -- dashboard`: how long the overview and the credentials page take to become
 * interactive in Chromium with 10,000 credentials in the inventory, next to an empty inventory
 * measured in the same run, against the same local runtime (two tenants: one empty, one seeded
 * through the API). Goal: at most 1.5× the empty inventory's time.
 *
 * "Interactive" is measured in the page: from the in-app navigation (what a click on the main
 * navigation does) until the page's h1 shows, no "Loading …" status is left, and a frame has
 * been painted after that. Each sample starts from a fresh page load (and sign-in), so neither
 * the browser's query cache nor an earlier render helps; the route's script chunk is fetched
 * in every sample alike.
 */
import { parseLocalLimits } from '../../lambdas/local/local-limits.js';
import {
  ensureDashboardBuilt,
  firstPage,
  launchChromium,
  signIn,
  startDashboardRuntime,
} from '../e2e/support/dashboard-harness.js';

const CREDENTIALS = Number(process.env.BENCH_DASHBOARD_CREDENTIALS ?? 10_000);
const SAMPLES = Number(process.env.BENCH_DASHBOARD_SAMPLES ?? 5);
const SEED_CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const PASSWORD = 'bench-dashboard-password-1';
/** A page neither measurement touches, where each sample starts. */
const NEUTRAL = { path: '/settings/audit', title: 'Audit retention' };
const PAGES = [
  { name: 'overview', path: '/', title: 'Overview' },
  { name: 'credentials', path: '/credentials', title: 'Credentials' },
] as const;

const DAY = 86_400_000;

async function token(baseUrl: string, username: string): Promise<string> {
  const response = await fetch(`${baseUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  if (response.status !== 200) throw new Error(`Sign-in of ${username} answered ${response.status}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

/** Registers `count` managed credentials through the API, with expiries spread over a year. */
async function seed(baseUrl: string, accessToken: string, count: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      const response = await fetch(`${baseUrl}/credentials`, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          type: 'api-token',
          name: `bench token ${String(index).padStart(5, '0')}`,
          owner: `team-${index % 40}`,
          tags: { env: index % 3 === 0 ? 'prod' : 'dev' },
          expiresAt: new Date(Date.now() + ((index % 365) - 20) * DAY).toISOString().slice(0, 10),
        }),
      });
      await response.arrayBuffer();
      if (response.status !== 201) throw new Error(`POST /credentials answered ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
  return (performance.now() - started) / 1000;
}

/** Milliseconds from the in-app navigation to an interactive page, measured in the page. */
function timeToInteractive(path: string, title: string): string {
  return `(async () => {
    const started = performance.now();
    const index = (history.state && history.state.__TSR_index) || 0;
    const key = Math.random().toString(36).slice(2);
    history.pushState({ __TSR_index: index + 1, key, __TSR_key: key }, '', ${JSON.stringify(path)});
    dispatchEvent(new PopStateEvent('popstate', { state: history.state }));
    await new Promise((resolve, reject) => {
      const deadline = started + 60000;
      const check = () => {
        const h1 = document.querySelector('h1');
        const loading = [...document.querySelectorAll('[role="status"]')]
          .some((element) => (element.textContent || '').startsWith('Loading'));
        if (h1 && h1.textContent === ${JSON.stringify(title)} && !loading) resolve();
        else if (performance.now() > deadline) reject(new Error('not interactive after 60 s'));
        else requestAnimationFrame(check);
      };
      requestAnimationFrame(check);
    });
    // The frame that shows it.
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    return performance.now() - started;
  })()`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export async function runDashboardBench(): Promise<void> {
  await ensureDashboardBuilt();
  // Seeding goes faster than the local API's per-client rate limit (50/s): lifted here, as the
  // inventory bench does; the pages are timed one request at a time anyway.
  const server = await startDashboardRuntime(
    PASSWORD,
    parseLocalLimits({
      VAULTPILOT_RATE_LIMIT_CLIENT_RPS: '100000',
      VAULTPILOT_RATE_LIMIT_CLIENT_BURST: '100000',
      VAULTPILOT_RATE_LIMIT_TENANT_RPS: '100000',
      VAULTPILOT_RATE_LIMIT_TENANT_BURST: '100000',
    }),
  );
  const browser = await launchChromium();
  try {
    const baseUrl = server.runtime.url;
    const users = { empty: 'bench-empty', full: 'bench-full' } as const;
    await server.runtime.identity.addUser({
      username: users.empty,
      password: PASSWORD,
      tenant: 'bench-empty',
      groups: ['admin'],
    });
    await server.runtime.identity.addUser({
      username: users.full,
      password: PASSWORD,
      tenant: 'bench-full',
      groups: ['admin'],
    });
    const seconds = await seed(baseUrl, await token(baseUrl, users.full), CREDENTIALS);
    console.log(
      `seeded ${CREDENTIALS} credentials through POST /credentials in ${seconds.toFixed(1)} s ` +
        `(${(CREDENTIALS / seconds).toFixed(0)}/s, concurrency ${SEED_CONCURRENCY})`,
    );

    const page = await firstPage(browser.context);
    const results: Record<string, Record<string, number[]>> = {};
    // Alternating inventories sample by sample, so drift on a busy machine affects both alike.
    for (let sample = 0; sample < SAMPLES + 1; sample += 1) {
      for (const inventory of ['empty', 'full'] as const) {
        for (const target of PAGES) {
          await signIn(page, baseUrl, users[inventory], PASSWORD, NEUTRAL.path);
          await page.getByRole('heading', { level: 1, name: NEUTRAL.title, exact: true }).waitFor();
          const ms = await page.evaluate<number>(timeToInteractive(target.path, target.title));
          // The first round warms the server (handler modules, JIT) and is not counted.
          if (sample > 0) ((results[target.name] ??= {})[inventory] ??= []).push(ms);
        }
      }
    }

    console.log(
      `time to interactive in Chromium (median of ${SAMPLES}, in-app navigation from a fresh load), ` +
        `${CREDENTIALS} credentials vs an empty inventory; goal ratio <= 1.5`,
    );
    for (const target of PAGES) {
      const empty = median(results[target.name]?.empty ?? []);
      const full = median(results[target.name]?.full ?? []);
      const ratio = full / empty;
      console.log(
        `  ${target.name.padEnd(12)} empty ${empty.toFixed(0).padStart(5)} ms   ` +
          `${CREDENTIALS} ${full.toFixed(0).padStart(5)} ms   ratio ${ratio.toFixed(2)} ${ratio <= 1.5 ? '(goal met)' : '(over the goal)'}`,
      );
    }
  } finally {
    await browser.close();
    await server.stop();
  }
}
