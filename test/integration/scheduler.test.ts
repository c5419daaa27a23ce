/** The local scheduler drives the engine handlers in process, as EventBridge rules do in AWS. */
import { describe, expect, it } from 'vitest';
import { parseLocalRuntimeConfig } from '../../lambdas/shared/config.js';
import { ENGINE_IDS } from '../../lambdas/shared/engines.js';
import { startLocalRuntime } from '../../lambdas/local/runtime.js';

describe('local scheduler', () => {
  it('fires every engine handler with a scheduled-event payload and plans the next runs', async () => {
    // Prepare
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    const errors: string[] = [];
    const runtime = await startLocalRuntime(
      parseLocalRuntimeConfig({
        PORT: '0',
        VAULTPILOT_IN_MEMORY: 'true',
        VAULTPILOT_ADMIN_PASSWORD: 'a-long-password-1',
      }),
      {
        info: () => undefined,
        error: (message, extra) => errors.push(`${message} ${JSON.stringify(extra)}`),
      },
    );
    try {
      const scheduler = runtime.scheduler;
      if (scheduler === undefined) throw new Error('the scheduler should run by default');

      // Act
      const outcomes = await Promise.all(ENGINE_IDS.map((id) => scheduler.fireNow(id)));

      // Assess
      expect(errors).toEqual([]);
      expect(outcomes).toEqual(ENGINE_IDS.map(() => 'succeeded'));
      const next = scheduler.nextFireTimes();
      expect(Object.keys(next).sort()).toEqual([...ENGINE_IDS].sort());
      for (const time of Object.values(next)) expect(time.getTime()).toBeGreaterThan(Date.now());
    } finally {
      await runtime.stop();
    }
  });
});
