/**
 * At most `max` publishes waiting for their confirm at once; more wait here, first come first
 * served. A caller whose signal aborts while waiting leaves the queue with the signal's reason.
 */
export class InFlightLimit {
  #active = 0;
  readonly #queue: { resolve: () => void; reject: (error: unknown) => void; signal: AbortSignal }[] = [];

  constructor(private readonly max: number) {}

  acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason ?? new Error("aborted"));
    if (this.#active < this.max) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        resolve: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
        reject,
        signal,
      };
      const onAbort = () => {
        const index = this.#queue.indexOf(entry);
        if (index >= 0) this.#queue.splice(index, 1);
        reject(signal.reason ?? new Error("aborted"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(entry);
    });
  }

  /** Hand the slot to the next waiter, or free it. */
  release(): void {
    const next = this.#queue.shift();
    if (next) next.resolve();
    else this.#active--;
  }
}
