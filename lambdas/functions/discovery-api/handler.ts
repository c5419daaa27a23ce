/** The discovery API: runs, settings and rules, each mapped onto one `DiscoveryControl` use case. */
import type * as z from 'zod';
import type { DiscoveryRun } from '../../core/discovery/run.js';
import { apiHandler, callerOf, pathParameter } from '../../shared/api-handler.js';
import type { DiscoveryRun as DiscoveryRunBody } from '../../shared/contracts/discovery.js';
import { discoveryApi } from './compose.js';
import { DISCOVERY_API_ROUTES } from './routes.js';

function runBody(run: DiscoveryRun): z.infer<typeof DiscoveryRunBody> {
  const { tenant: _tenant, revision: _revision, ...rest } = run;
  return JSON.parse(JSON.stringify({ ...rest, runId: run.id })) as z.infer<typeof DiscoveryRunBody>;
}

export const handler = apiHandler(DISCOVERY_API_ROUTES, () => discoveryApi().api, {
  startDiscoveryRun: async (request) => {
    const run = await discoveryApi().control.requestRun(callerOf(request));
    return {
      statusCode: 202,
      headers: { Location: `/discovery/runs/${run.id}` },
      body: { data: runBody(run) },
    };
  },
  listDiscoveryRuns: async (request) => {
    const { limit, cursor } = request.query;
    const page = await discoveryApi().control.listRuns(callerOf(request), { limit, cursor });
    return {
      body: {
        data: {
          runs: page.runs.map(runBody),
          ...(page.cursor === undefined ? {} : { nextCursor: page.cursor }),
        },
      },
    };
  },
  getDiscoveryRun: async (request) => ({
    body: {
      data: runBody(await discoveryApi().control.getRun(callerOf(request), pathParameter(request, 'id'))),
    },
  }),
  getDiscoverySettings: async (request) => ({
    body: { data: await discoveryApi().control.getSettings(callerOf(request)) },
  }),
  putDiscoverySettings: async (request) => {
    const { revision, ...settings } = request.body;
    return {
      body: {
        data: await discoveryApi().control.putSettings(callerOf(request), settings, revision),
      },
    };
  },
  listFindingRules: async (request) => {
    const rules = await discoveryApi().control.rules(callerOf(request));
    return {
      body: {
        data: {
          rules: rules.map(({ rule, enabled, thresholdDays, defaultThresholdDays }) => ({
            id: rule.id,
            severity: rule.severity,
            title: rule.title,
            remediation: rule.remediation,
            appliesTo: rule.appliesTo === 'any' ? ('any' as const) : [...rule.appliesTo],
            ...(rule.implies === undefined ? {} : { impliesStatus: rule.implies }),
            ...(rule.threshold === undefined ? {} : { threshold: rule.threshold }),
            ...(thresholdDays === undefined ? {} : { thresholdDays }),
            ...(defaultThresholdDays === undefined ? {} : { defaultThresholdDays }),
            enabled,
            equivalent: rule.equivalent,
          })),
        },
      },
    };
  },
});
