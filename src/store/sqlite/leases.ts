/**
 * Leases live in memory only. One process owns the embedded store and every lease dies with it (on
 * open, all deliveries are waiting again), so writing a lease to the database bought nothing but a
 * write transaction per claim. A claim is now a read; an ack deletes its delivery by row id.
 */
export interface Lease {
  /** The handle the worker holds (Delivery.deliveryId); never reused, not even across restarts. */
  handle: number;
  /** The delivery's row id and its message's seq. */
  id: number;
  seq: number;
  subscription: string;
  /** When the lease runs out: from then on another claim may take the delivery over. */
  until: number;
  /** Ended inside the transaction being applied: gone once it commits, back if it rolls back. */
  ended: boolean;
}

export class Leases {
  readonly #byHandle = new Map<number, Lease>();
  readonly #byRow = new Map<number, Lease>();
  /** Per subscription, no later than its earliest lease's end (leases that ended may leave it early). */
  readonly #earliestUntil = new Map<string, number>();
  /** Leases ended by the transaction being applied. */
  #ending: Lease[] = [];

  /** The live lease behind a handle; undefined for a stale handle (finished, or taken over). */
  active(handle: number): Lease | undefined {
    const lease = this.#byHandle.get(handle);
    return lease === undefined || lease.ended ? undefined : lease;
  }

  /** The lease on a delivery row, expired or not. */
  onRow(id: number): Lease | undefined {
    return this.#byRow.get(id);
  }

  grant(handle: number, id: number, seq: number, subscription: string, until: number): void {
    const lease: Lease = { handle, id, seq, subscription, until, ended: false };
    this.#byHandle.set(handle, lease);
    this.#byRow.set(id, lease);
    if (until < (this.#earliestUntil.get(subscription) ?? Number.POSITIVE_INFINITY))
      this.#earliestUntil.set(subscription, until);
  }

  /**
   * Whether a lease of the subscription has run out (a claim must take it over). Looks at its
   * leases only once the earliest end it knows of has passed, about once per lease duration.
   */
  anyExpired(subscription: string, now: number): boolean {
    if (now < (this.#earliestUntil.get(subscription) ?? Number.POSITIVE_INFINITY)) return false;
    let earliest = Number.POSITIVE_INFINITY;
    for (const lease of this.#byHandle.values())
      if (lease.subscription === subscription && lease.until < earliest) earliest = lease.until;
    this.#earliestUntil.set(subscription, earliest);
    return earliest <= now;
  }

  /** Forget a lease at once (a release, or an expired lease taken over): its handle turns stale. */
  drop(lease: Lease): void {
    this.#byHandle.delete(lease.handle);
    if (this.#byRow.get(lease.id) === lease) this.#byRow.delete(lease.id);
  }

  /** End a lease inside a transaction (ack, nack, dead letter): applied by `commit`, undone by `rollback`. */
  end(lease: Lease): void {
    lease.ended = true;
    this.#ending.push(lease);
  }

  commit(): void {
    if (this.#ending.length === 0) return;
    for (const lease of this.#ending) this.drop(lease);
    this.#ending = [];
  }

  rollback(): void {
    for (const lease of this.#ending) lease.ended = false;
    this.#ending = [];
  }
}
