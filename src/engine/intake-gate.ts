/**
 * Where sources wait for room when what they write to is above its high-water mark (a route's
 * `intakeWait`). A claim is what lowers a depth, so the engine calls `opened()` after every claim that
 * took something; each waiter then looks again. Holding the source (an HTTP request stays open, a
 * broker consumer stops taking) turns a full inbox into a slower intake instead of refusals, up to
 * the wait; after it the source is told to back off as before.
 */
export class IntakeGate {
  readonly #waiters = new Set<Waiter>();
  #wakeScheduled = false;

  /**
   * Resolves true as soon as `full()` is false, false when it is still full after `waitMs` or once
   * `signal` aborts. With nothing to wait for (`waitMs` 0) it answers at once. `route` names the
   * waiter in `waitingByRoute()`.
   */
  room(full: () => boolean, waitMs: number, signal: AbortSignal, route = ""): Promise<boolean> {
    if (!full()) return Promise.resolve(true);
    if (waitMs <= 0 || signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        route,
        full,
        done: (admitted) => {
          this.#waiters.delete(waiter);
          clearTimeout(timer);
          signal.removeEventListener("abort", aborted);
          resolve(admitted);
        },
      };
      const aborted = () => waiter.done(false);
      const timer = setTimeout(() => waiter.done(!full()), waitMs);
      signal.addEventListener("abort", aborted, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Something was taken off a queue: let the waiters look again, once per turn however many claims. */
  opened(): void {
    if (this.#waiters.size === 0 || this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      // In arrival order; each admitted waiter's append lands later, so a burst of admissions can
      // overshoot the mark by at most the number of waiters, as concurrent emits always could.
      for (const waiter of this.#waiters) if (!waiter.full()) waiter.done(true);
    });
  }

  /** Sources waiting now. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Sources waiting now, per route (the `junction_intake_waiting` gauge). */
  waitingByRoute(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { route } of this.#waiters) counts.set(route, (counts.get(route) ?? 0) + 1);
    return counts;
  }
}

interface Waiter {
  route: string;
  full: () => boolean;
  done: (admitted: boolean) => void;
}
