/**
 * A consecutive-failure circuit breaker that the route worker consults before claiming work:
 * while open, nothing is claimed and the backlog waits on disk instead of burning attempts.
 */
export type CircuitState = "closed" | "open" | "half-open";

export class CircuitBreaker {
  #state: CircuitState = "closed";
  #failures = 0;
  #openedAt = 0;
  #trialInFlight = false;

  constructor(
    private readonly after: number,
    private readonly halfOpenAfterMs: number,
    private readonly onChange: (state: CircuitState) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (this.#state === "open" && this.now() - this.#openedAt >= this.halfOpenAfterMs) this.#set("half-open");
    return this.#state;
  }

  /** How many messages may be claimed now: all when closed, one trial when half-open, none when open. */
  allowance(requested: number): number {
    const state = this.state;
    if (state === "closed") return requested;
    if (state === "half-open" && !this.#trialInFlight) {
      this.#trialInFlight = true;
      return Math.min(1, requested);
    }
    return 0;
  }

  /** Milliseconds until the circuit half-opens (0 when not open). */
  get waitMs(): number {
    return this.#state === "open" ? Math.max(0, this.halfOpenAfterMs - (this.now() - this.#openedAt)) : 0;
  }

  success(): void {
    this.#failures = 0;
    this.#trialInFlight = false;
    if (this.#state !== "closed") this.#set("closed");
  }

  /** Only failures of the downstream system (retryable) count; a bad message says nothing about it. */
  failure(): void {
    this.#failures++;
    const wasTrial = this.#state === "half-open";
    this.#trialInFlight = false;
    if (wasTrial || this.#failures >= this.after) {
      this.#openedAt = this.now();
      this.#set("open");
    }
  }

  #set(state: CircuitState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.onChange(state);
  }
}
