/**
 * Every Lambda function of VaultPilot, by its manifest, and the route table joined from the API
 * functions' routes. CDK (lib/) builds functions, grants and the REST API from these; the local
 * runtime builds its registry and router from them. Only manifests and routes are imported
 * here, never a function's composition, so reading this module bundles no Lambda code.
 */
import { expandMethods, type RouteSpec } from '../shared/routes.js';
import { manifest as admin } from './admin/manifest.js';
import { ADMIN_ROUTES } from './admin/routes.js';
import { manifest as audit } from './audit/manifest.js';
import { AUDIT_ROUTES } from './audit/routes.js';
import { manifest as auditDigest } from './audit-digest/manifest.js';
import { manifest as auditSequencer } from './audit-sequencer/manifest.js';
import { manifest as credentials } from './credentials/manifest.js';
import { CREDENTIALS_ROUTES } from './credentials/routes.js';
import { manifest as discovery } from './discovery/manifest.js';
import { manifest as discoveryApi } from './discovery-api/manifest.js';
import { DISCOVERY_API_ROUTES } from './discovery-api/routes.js';
import { manifest as expiryCheck } from './expiry-check/manifest.js';
import { manifest as expiryCheckApi } from './expiry-check-api/manifest.js';
import { EXPIRY_CHECK_API_ROUTES } from './expiry-check-api/routes.js';
import { manifest as health } from './health/manifest.js';
import { HEALTH_ROUTES } from './health/routes.js';
import { manifest as me } from './me/manifest.js';
import { ME_ROUTES } from './me/routes.js';
import { manifest as notifications } from './notifications/manifest.js';
import { NOTIFICATIONS_ROUTES } from './notifications/routes.js';
import { manifest as openapi } from './openapi/manifest.js';
import { OPENAPI_ROUTES } from './openapi/routes.js';
import { manifest as notifier } from './notifier/manifest.js';
import { manifest as notifyDigest } from './notify-digest/manifest.js';
import { manifest as policies } from './policies/manifest.js';
import { POLICIES_ROUTES } from './policies/routes.js';
import { manifest as rotationScheduler } from './rotation-scheduler/manifest.js';
import { manifest as rotationWorker } from './rotation-worker/manifest.js';
import { manifest as rotations } from './rotations/manifest.js';
import { ROTATIONS_ROUTES } from './rotations/routes.js';
import { manifest as secrets } from './secrets/manifest.js';
import { SECRETS_ROUTES, VAULT_ROUTES } from './secrets/routes.js';
import { manifest as tokenClaims } from './token-claims/manifest.js';

export const MANIFESTS = {
  health,
  me,
  openapi,
  secrets,
  policies,
  admin,
  audit,
  credentials,
  discoveryApi,
  rotations,
  notifications,
  discovery,
  rotationScheduler,
  auditDigest,
  expiryCheck,
  notifyDigest,
  auditSequencer,
  rotationWorker,
  tokenClaims,
  notifier,
  expiryCheckApi,
} as const;

export type FunctionId = keyof typeof MANIFESTS;

/** The route table: every API route, once per method it is served on. */
export const ROUTES: readonly RouteSpec[] = expandMethods([
  ...HEALTH_ROUTES,
  ...OPENAPI_ROUTES,
  ...ME_ROUTES,
  ...SECRETS_ROUTES,
  ...VAULT_ROUTES,
  ...POLICIES_ROUTES,
  ...ADMIN_ROUTES,
  ...AUDIT_ROUTES,
  ...CREDENTIALS_ROUTES,
  ...ROTATIONS_ROUTES,
  ...DISCOVERY_API_ROUTES,
  ...NOTIFICATIONS_ROUTES,
  ...EXPIRY_CHECK_API_ROUTES,
]);
