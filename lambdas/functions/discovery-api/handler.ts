/** The discovery API: runs, settings and rules, each mapped onto one `DiscoveryControl` use case. */
import type { z } from 'zod';
import type { DiscoveryRun } from '../../core/discovery/run.js';
import type { StoredDiscoverySettings } from '../../core/discovery/settings.js';
import { apiHandler, callerOf, pathParameter } from '../../shared/api-handler.js';
import { container } from '../../shared/container.js';
import type {
  DiscoveryRun as DiscoveryRunBody,
  ListDiscoveryRunsQuery,
  PutDiscoverySettingsRequest,
} from '../../shared/contracts/discovery.js';

function runBody(run: DiscoveryRun): z.infer<typeof DiscoveryRunBody> {
  const { tenant: _tenant, revision: _revision, ...rest } = run;
  return JSON.parse(JSON.stringify({ ...rest, runId: run.id })) as z.infer<typeof DiscoveryRunBody>;
}

function settingsBody(settings: StoredDiscoverySettings) {
  return JSON.parse(JSON.stringify(settings)) as Record<string, unknown>;
}

export const handler = apiHandler(async (request) => {
  const control = container().discoveryControl();
  const caller = callerOf(request);
  switch (request.route.operationId) {
    case 'startDiscoveryRun': {
      const run = await control.requestRun(caller);
      return {
        statusCode: 202,
        headers: { Location: `/discovery/runs/${run.id}` },
        body: { data: runBody(run) },
      };
    }
    case 'listDiscoveryRuns': {
      const { limit, cursor } = request.query as z.infer<typeof ListDiscoveryRunsQuery>;
      const page = await control.listRuns(caller, { limit, cursor });
      return {
        body: {
          data: {
            runs: page.runs.map(runBody),
            ...(page.cursor === undefined ? {} : { nextCursor: page.cursor }),
          },
        },
      };
    }
    case 'getDiscoveryRun':
      return { body: { data: runBody(await control.getRun(caller, pathParameter(request, 'id'))) } };
    case 'getDiscoverySettings':
      return { body: { data: settingsBody(await control.getSettings(caller)) } };
    case 'putDiscoverySettings': {
      const { revision, ...settings } = request.body as z.infer<typeof PutDiscoverySettingsRequest>;
      return { body: { data: settingsBody(await control.putSettings(caller, settings, revision)) } };
    }
    case 'listFindingRules': {
      const rules = await control.rules(caller);
      return {
        body: {
          data: {
            rules: rules.map(({ rule, enabled, thresholdDays, defaultThresholdDays }) => ({
              id: rule.id,
              severity: rule.severity,
              title: rule.title,
              remediation: rule.remediation,
              appliesTo: rule.appliesTo === 'any' ? 'any' : [...rule.appliesTo],
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
    }
    default:
      throw new Error(`The discovery API handler does not serve ${request.route.operationId}`);
  }
});
