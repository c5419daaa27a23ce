/**
 * Whether the API is reachable: a request that fails at the network level marks it lost, the
 * next one that gets any answer marks it back. The banner reads this store.
 */
type Listener = () => void;

export class Connectivity {
  private lost = false;
  private readonly listeners = new Set<Listener>();

  isLost = (): boolean => this.lost;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  markLost(): void {
    this.set(true);
  }

  markReached(): void {
    this.set(false);
  }

  private set(lost: boolean): void {
    if (this.lost === lost) return;
    this.lost = lost;
    for (const listener of this.listeners) listener();
  }
}
