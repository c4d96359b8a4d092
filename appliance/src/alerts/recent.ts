/** A ring buffer of the most recent alerts: the newest `capacity` kept, in arrival order. */
import type { Alert } from "./eve";

export class RecentAlerts {
  private readonly ring: Alert[] = [];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  push(a: Alert): void {
    if (this.ring.length < this.capacity) this.ring.push(a);
    else this.ring[this.next] = a;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  list(): Alert[] {
    return this.ring.length < this.capacity
      ? [...this.ring]
      : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
