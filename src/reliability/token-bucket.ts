/**
 * A token bucket: `ratePerSecond` tokens are added continuously up to `burst`; each call takes one,
 * waiting when the bucket is empty. Waiters are served in order.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number = Math.max(1, Math.ceil(ratePerSecond)),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#tokens = burst;
    this.#last = now();
  }

  #refill(): void {
    const now = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.ratePerSecond);
    this.#last = now;
  }

  /** Resolves when a token was taken; rejects if the signal aborts first. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#takeOne(signal));
    this.#queue = turn.catch(() => {});
    return turn;
  }

  async #takeOne(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      this.#refill();
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      const waitMs = ((1 - this.#tokens) / this.ratePerSecond) * 1000;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, Math.max(1, waitMs));
        signal?.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      });
    }
  }
}
