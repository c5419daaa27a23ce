/**
 * `npm start` serving the dashboard on the API's port by the contract's rule: browser
 * navigations get the app, API clients get the API. Uses a small stand-in build in a temporary
 * directory, so the rule is tested without building the frontend.
 */
import { mkdtemp, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardBuildState, ensureDashboardBuild } from '../../lambdas/local/dashboard-build.js';
import { startLocalRuntime, type LocalRuntime } from '../../lambdas/local/runtime.js';
import { DashboardConfig } from '../../lambdas/shared/contracts/dashboard-config.js';
import { parseLocalRuntimeConfig } from '../../lambdas/shared/config.js';

const INDEX =
  '<!doctype html><html lang="en"><head><title>VaultPilot</title></head><body><div id="root"></div></body></html>';
const SCRIPT = 'console.log("dashboard");';
const ICON = Buffer.from([0, 0, 1, 0, 0xff, 0xfe, 0x80, 0x7f]);
let runtime: LocalRuntime;
let dist: string;

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), 'vaultpilot-dist-'));
  await mkdir(join(dist, 'assets'));
  await writeFile(join(dist, 'index.html'), INDEX);
  await writeFile(join(dist, 'assets', 'index-abc123.js'), SCRIPT);
  await writeFile(join(dist, 'favicon.ico'), ICON);
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  runtime = await startLocalRuntime(
    parseLocalRuntimeConfig({
      PORT: '0',
      VAULTPILOT_IN_MEMORY: 'true',
      VAULTPILOT_SCHEDULER: 'false',
      VAULTPILOT_ADMIN_PASSWORD: 'dashboard-serving-password-1',
    }),
    { info: () => undefined, error: () => undefined },
    undefined,
    { dashboardDir: dist },
  );
});

afterAll(async () => {
  await runtime.stop();
  await rm(dist, { recursive: true, force: true });
});

/** A GET with a Host header of our choosing (fetch does not let a caller set it). */
function getWithHost(host: string, path: string): Promise<string> {
  const { hostname, port } = new URL(runtime.url);
  return new Promise((resolve, reject) => {
    const outgoing = request({ hostname, port, path, headers: { host } }, (incoming) => {
      let text = '';
      incoming.setEncoding('utf8');
      incoming.on('data', (chunk: string) => (text += chunk));
      incoming.on('end', () => resolve(text));
    });
    outgoing.once('error', reject);
    outgoing.end();
  });
}

/** What Chromium sends on a top-level navigation. */
const NAVIGATION_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('the dashboard routing rule', () => {
  it('answers a browser navigation to a page route with the app and its CSP', async () => {
    // Act
    const response = await fetch(`${runtime.url}/credentials?status=active`, {
      headers: { accept: NAVIGATION_ACCEPT },
    });

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toBe(INDEX);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('passes a request with an Authorization header to the API even when it accepts HTML', async () => {
    // Act
    const response = await fetch(`${runtime.url}/credentials`, {
      headers: { accept: NAVIGATION_ACCEPT, authorization: 'Bearer not-a-token' },
    });

    // Assess
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({ error: { code: 'Unauthorized' } });
  });

  it('passes a fetch that accepts JSON to the API', async () => {
    // Act
    const health = await fetch(`${runtime.url}/health`, { headers: { accept: 'application/json' } });
    const credentials = await fetch(`${runtime.url}/credentials`, {
      headers: { accept: 'application/json' },
    });

    // Assess
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', service: 'vaultpilot' });
    expect(credentials.status).toBe(401);
  });

  it('serves hashed assets as immutable and binary files byte for byte', async () => {
    // Act
    const script = await fetch(`${runtime.url}/assets/index-abc123.js`);
    const icon = await fetch(`${runtime.url}/favicon.ico`);

    // Assess
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await script.text()).toBe(SCRIPT);
    expect(icon.headers.get('content-type')).toBe('image/x-icon');
    expect(Buffer.from(await icon.arrayBuffer())).toEqual(ICON);
  });

  it('never serves a file outside the build', async () => {
    // Act
    const answers = await Promise.all(
      ['/assets/..%2F..%2Fetc%2Fpasswd', '/assets/%2e%2e/%2e%2e/package.json', '/assets/missing.js'].map(
        async (path) => (await fetch(`${runtime.url}${path}`)).status,
      ),
    );

    // Assess
    expect(answers).toEqual([404, 404, 404]);
  });

  it('computes /config.json from the runtime, valid by the contract', async () => {
    // Act
    const response = await fetch(`${runtime.url}/config.json`);
    const config = DashboardConfig.parse(await response.json());

    // Assess
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(config).toEqual({
      apiUrl: runtime.url,
      stage: 'local',
      auth: {
        issuer: runtime.issuer,
        clientId: 'vaultpilot-dashboard',
        authorizationEndpoint: `${runtime.url}/oauth2/authorize`,
        tokenEndpoint: `${runtime.url}/oauth2/token`,
        logoutEndpoint: `${runtime.url}/logout`,
        scopes: ['openid', 'email', 'profile', 'aws.cognito.signin.user.admin'],
      },
    });
  });

  it('answers /config.json with the loopback name the browser used, never a foreign host', async () => {
    // Prepare
    const port = new URL(runtime.url).port;

    // Act
    const viaLocalhost = DashboardConfig.parse(
      await (await fetch(`http://localhost:${port}/config.json`)).json(),
    );
    const spoofed = DashboardConfig.parse(
      JSON.parse(await getWithHost(`evil.example:${port}`, '/config.json')),
    );

    // Assess
    expect(viaLocalhost.apiUrl).toBe(`http://localhost:${port}`);
    expect(viaLocalhost.auth.issuer).toBe(runtime.issuer);
    expect(spoofed.apiUrl).toBe(runtime.url);
  });
});

describe('dashboardBuildState', () => {
  it('tells absent, missing, fresh and stale builds apart', async () => {
    // Prepare
    const root = await mkdtemp(join(tmpdir(), 'vaultpilot-build-state-'));
    try {
      const absent = await dashboardBuildState(root);
      await mkdir(join(root, 'frontend', 'src'), { recursive: true });
      await writeFile(join(root, 'frontend', 'package.json'), '{}');
      await writeFile(join(root, 'frontend', 'src', 'main.tsx'), 'export {};');
      const missing = await dashboardBuildState(root);
      await mkdir(join(root, 'frontend', 'dist'));
      await writeFile(join(root, 'frontend', 'dist', 'index.html'), INDEX);
      const past = new Date(Date.now() - 60_000);
      await utimes(join(root, 'frontend', 'package.json'), past, past);
      await utimes(join(root, 'frontend', 'src', 'main.tsx'), past, past);

      // Act
      const fresh = await dashboardBuildState(root);
      await writeFile(join(root, 'frontend', 'src', 'main.tsx'), 'export const changed = true;');
      const future = new Date(Date.now() + 60_000);
      await utimes(join(root, 'frontend', 'src', 'main.tsx'), future, future);
      const stale = await dashboardBuildState(root);

      // Assess
      expect([absent, missing, fresh, stale]).toEqual(['absent', 'missing', 'fresh', 'stale']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('ensureDashboardBuild', () => {
  it('runs npm run build -w frontend when the build is missing, and only then', async () => {
    // Prepare: a workspace whose build script writes dist/index.html and counts its runs.
    const root = await mkdtemp(join(tmpdir(), 'vaultpilot-build-'));
    try {
      await writeFile(
        join(root, 'package.json'),
        JSON.stringify({ name: 'root', private: true, workspaces: ['frontend'] }),
      );
      await mkdir(join(root, 'frontend'));
      const script =
        "const fs=require('fs');fs.mkdirSync('dist',{recursive:true});fs.writeFileSync('dist/index.html','built');" +
        "fs.appendFileSync('../runs.txt','x')";
      await writeFile(
        join(root, 'frontend', 'package.json'),
        JSON.stringify({ name: 'frontend', private: true, scripts: { build: `node -e "${script}"` } }),
      );
      const past = new Date(Date.now() - 60_000);
      await utimes(join(root, 'frontend', 'package.json'), past, past);
      const lines: string[] = [];
      const log = { info: (line: string) => lines.push(line), error: (line: string) => lines.push(line) };

      // Act
      const first = await ensureDashboardBuild(log, root, 'ignore');
      const second = await ensureDashboardBuild(log, root, 'ignore');

      // Assess
      expect([first, second]).toEqual([true, true]);
      expect(await readFile(join(root, 'runs.txt'), 'utf8')).toBe('x');
      expect(lines[0]).toBe('Building the dashboard (frontend/dist is missing): npm run build -w frontend');
      expect(lines[1]).toMatch(/^Dashboard built in \d+\.\d s$/);
      expect(lines).toHaveLength(2);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('says so and serves the API only when the frontend workspace is not there', async () => {
    // Prepare
    const root = await mkdtemp(join(tmpdir(), 'vaultpilot-build-'));
    const lines: string[] = [];

    // Act
    const served = await ensureDashboardBuild(
      { info: (line) => lines.push(line), error: (line) => lines.push(line) },
      root,
    );

    // Assess
    expect(served).toBe(false);
    expect(lines).toEqual([
      'The dashboard workspace (frontend/package.json) is not there yet: serving the API only.',
    ]);
    await rm(root, { recursive: true, force: true });
  });
});
