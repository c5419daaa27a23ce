/**
 * Lifecycle events the engines publish (DESIGN.md, Events): an EventBridge bus in AWS, an
 * in-process bus locally. Event types and their detail schemas are listed in
 * `lambdas/shared/events.ts`. An event never carries a secret value.
 */
export interface DomainEvent {
  /** The event type, e.g. `audit.event.chained`; EventBridge's `detail-type`. */
  readonly type: string;
  readonly tenant: string;
  /** ISO-8601 time of the fact the event reports. */
  readonly time: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/**
 * Publishes events. `publish` resolves once every event has been accepted by the bus; it
 * rejects with `DependencyUnavailableError` when the bus refuses or cannot be reached (naming how
 * many events were not accepted, never their contents).
 */
export interface EventPublisher {
  publish(events: readonly DomainEvent[]): Promise<void>;
}
