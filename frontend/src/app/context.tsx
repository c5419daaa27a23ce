import { createContext, useContext } from 'react';

import type { ApiClient } from '../api/client.js';
import type { Connectivity } from '../api/connectivity.js';
import type { Session } from '../auth/session.js';
import type { DashboardConfig } from '../config/dashboard-config.js';
import type { Me, Permissions } from './permissions.js';

export interface AppServices {
  readonly config: DashboardConfig;
  readonly session: Session;
  readonly api: ApiClient;
  readonly connectivity: Connectivity;
}

export const ServicesContext = createContext<AppServices | null>(null);

export function useServices(): AppServices {
  const services = useContext(ServicesContext);
  if (services === null) throw new Error('useServices outside <ServicesContext.Provider>');
  return services;
}

export function useApi() {
  return useServices().api;
}

export interface Identity {
  readonly me: Me;
  readonly can: Permissions;
}

export const IdentityContext = createContext<Identity | null>(null);

export function useIdentity(): Identity {
  const identity = useContext(IdentityContext);
  if (identity === null) throw new Error('useIdentity outside the signed-in layout');
  return identity;
}
