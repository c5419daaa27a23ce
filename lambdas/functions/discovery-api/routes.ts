/** Discovery: on-demand runs and their records, the tenant's accounts and thresholds, the rules. */
import {
  DiscoveryRunListResponse,
  DiscoveryRunResponse,
  DiscoverySettingsResponse,
  FindingRulesResponse,
  ListDiscoveryRunsQuery,
  PutDiscoverySettingsRequest,
} from '../../shared/contracts/discovery.js';
import type { RouteSpec } from '../../shared/routes.js';
import { SCOPES } from '../../shared/scopes.js';

const read = [SCOPES.read, SCOPES.audit, SCOPES.admin];
const common = { handler: 'discoveryApi', auth: 'token', tag: 'discovery' } as const;
export const DISCOVERY_API_ROUTES = [
  {
    ...common,
    method: 'POST',
    path: '/discovery/runs',
    operationId: 'startDiscoveryRun',
    scopes: [SCOPES.write, SCOPES.admin],
    summary: 'Start a discovery run now; answers 202 with the queued run (follow it at its Location)',
    response: DiscoveryRunResponse,
    status: 202,
    errors: [503],
  },
  {
    ...common,
    method: 'GET',
    path: '/discovery/runs',
    operationId: 'listDiscoveryRuns',
    scopes: read,
    summary: 'Discovery runs, newest first: state, start, end, counts and errors',
    request: { query: ListDiscoveryRunsQuery },
    response: DiscoveryRunListResponse,
  },
  {
    ...common,
    method: 'GET',
    path: '/discovery/runs/{id}',
    operationId: 'getDiscoveryRun',
    scopes: read,
    summary: 'One discovery run: state, counts, sources and errors',
    response: DiscoveryRunResponse,
    errors: [404],
  },
  {
    ...common,
    method: 'GET',
    path: '/discovery/settings',
    operationId: 'getDiscoverySettings',
    scopes: [SCOPES.admin, SCOPES.audit],
    summary: 'Accounts (roles to assume), regions, finding thresholds and switched-off rules',
    response: DiscoverySettingsResponse,
  },
  {
    ...common,
    method: 'PUT',
    path: '/discovery/settings',
    operationId: 'putDiscoverySettings',
    scopes: [SCOPES.admin],
    summary: 'Replace the discovery settings (admins; optional `revision` for check-and-set)',
    request: { body: PutDiscoverySettingsRequest },
    response: DiscoverySettingsResponse,
    errors: [409],
  },
  {
    ...common,
    method: 'GET',
    path: '/discovery/rules',
    operationId: 'listFindingRules',
    scopes: read,
    summary: 'The finding rules: severity, remediation, and the thresholds that apply to this tenant',
    response: FindingRulesResponse,
  },
] as const satisfies readonly RouteSpec[];
