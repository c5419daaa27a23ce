/** Lifecycle events of a function, and what it does when some could not be published. */
import type { EventPublisher } from '../../core/events.js';
import { logger } from '../../shared/observability.js';
import type { ColdStart } from '../cold-start.js';
import { eventPublisher as platformPublisher } from '../index.js';
import { lazy } from './lazy.js';

/** Built on first publish, so a function that only reads needs no bus. */
export function eventPublisher(start: ColdStart): EventPublisher {
  const publisher = lazy(() => platformPublisher(start.config));
  return { publish: (events) => publisher().publish(events) };
}

export function logLostEvents(error: unknown, events: readonly { type: string }[]): void {
  logger.warn('Lifecycle events could not be published', {
    types: [...new Set(events.map((event) => event.type))],
    count: events.length,
    error: error instanceof Error ? error.name : 'UnknownError',
  });
}
