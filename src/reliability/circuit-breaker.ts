/**
 * A circuit breaker that route workers consult before claiming work: while open, nothing is
 * claimed and the backlog waits on disk instead of burning attempts. It opens on `after`
 * consecutive failures, or when the failure rate over a sliding window passes `failureRate`
 * (with at least `minimumCalls` calls in the window); after `halfOpenAfterMs` one trial message
 * is let through, and its outcome closes or reopens the circuit.
 */
export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitBreakerOptions {
  after?: number;
  failureRate?: number;
  minimumCalls?: number;
  windowMs?: number;
  halfOpenAfterMs: number;
}

export interface CircuitSnapshot {
  state: CircuitState;
  openedAt: number;
  consecutiveFailures: number;
}

export class CircuitBreaker {
  #state: CircuitState = "closed";
  #consecutive = 0;
  #openedAt = 0;
  #trialInFlight = false;
  /** Outcomes in the window: [time, failed]. */
  #calls: [number, boolean][] = [];

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly onChange: (state: CircuitState, snapshot: CircuitSnapshot) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Restore a persisted state (after a restart). */
  restore(snapshot: CircuitSnapshot): void {
    this.#state = snapshot.state === "half-open" ? "open" : snapshot.state;
    this.#openedAt = snapshot.openedAt;
    this.#consecutive = snapshot.consecutiveFailures;
  }

  snapshot(): CircuitSnapshot {
    return { state: this.#state, openedAt: this.#openedAt, consecutiveFailures: this.#consecutive };
  }

  get state(): CircuitState {
    if (this.#state === "open" && this.now() - this.#openedAt >= this.options.halfOpenAfterMs) {
      this.#trialInFlight = false;
      this.#set("half-open");
    }
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
    return this.#state === "open"
      ? Math.max(0, this.options.halfOpenAfterMs - (this.now() - this.#openedAt))
      : 0;
  }

  /** A trial that could not run (nothing to claim) frees the trial slot. */
  releaseTrial(): void {
    this.#trialInFlight = false;
  }

  success(): void {
    this.#record(false);
    this.#consecutive = 0;
    this.#trialInFlight = false;
    if (this.#state !== "closed") this.#set("closed");
  }

  /** Only failures of the downstream system (retryable) count; a bad message says nothing about it. */
  failure(): void {
    this.#record(true);
    this.#consecutive++;
    const wasTrial = this.#state === "half-open";
    this.#trialInFlight = false;
    if (this.#state === "open") return;
    if (wasTrial || this.#tripped()) {
      this.#openedAt = this.now();
      this.#calls = [];
      this.#set("open");
    }
  }

  #record(failed: boolean): void {
    if (this.options.failureRate === undefined) return;
    const now = this.now();
    this.#calls.push([now, failed]);
    const horizon = now - (this.options.windowMs ?? 30_000);
    while (this.#calls.length > 0 && this.#calls[0][0] < horizon) this.#calls.shift();
  }

  #tripped(): boolean {
    if (this.options.after !== undefined && this.#consecutive >= this.options.after) return true;
    if (this.options.failureRate === undefined) return false;
    if (this.#calls.length < (this.options.minimumCalls ?? 10)) return false;
    const failures = this.#calls.filter(([, failed]) => failed).length;
    return failures / this.#calls.length >= this.options.failureRate;
  }

  #set(state: CircuitState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.onChange(state, this.snapshot());
  }
}
