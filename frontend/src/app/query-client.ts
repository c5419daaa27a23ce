import { QueryClient } from '@tanstack/react-query';

import { isTransient } from '../api/errors.js';

/** Exponential backoff with jitter, capped at 30 s. */
export function backoffDelay(attempt: number): number {
  const base = Math.min(30_000, 1_000 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Lost network, throttling, brief unavailability: retry with backoff; anything else
        // (403, 404, 400) is an answer, shown at once.
        retry: (failures, error) => isTransient(error) && failures < 6,
        retryDelay: backoffDelay,
        staleTime: 15_000,
        refetchOnWindowFocus: false,
      },
      mutations: { retry: false },
    },
  });
}
