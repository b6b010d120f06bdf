import type { Logger } from "../observe/logger.js";
import type { Store } from "../store/store.js";
import { CircuitBreaker, type CircuitBreakerOptions, type CircuitSnapshot } from "./circuit-breaker.js";

/**
 * One breaker per downstream system (a connection), shared by every route that writes to it, so
 * they share one view of its health. State changes are saved in the store and restored at start.
 */
export class BreakerRegistry {
  readonly #breakers = new Map<string, CircuitBreaker>();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  get(key: string, options: CircuitBreakerOptions): CircuitBreaker {
    let breaker = this.#breakers.get(key);
    if (breaker) return breaker;
    breaker = new CircuitBreaker(options, (state, snapshot) => {
      const log = state === "open" ? this.logger.warn.bind(this.logger) : this.logger.info.bind(this.logger);
      log({ circuit: key, state }, `circuit ${key} is ${state}`);
      this.store
        .commit({ checkpoint: { key: `breaker:${key}`, value: JSON.stringify(snapshot) } })
        .catch((error) => {
          this.logger.error({ err: error, circuit: key }, "could not save the circuit state");
        });
    });
    const saved = this.store.checkpoint(`breaker:${key}`);
    if (saved) breaker.restore(JSON.parse(saved) as CircuitSnapshot);
    this.#breakers.set(key, breaker);
    return breaker;
  }

  list(): { key: string; state: string; waitMs: number }[] {
    return [...this.#breakers.entries()].map(([key, breaker]) => ({
      key,
      state: breaker.state,
      waitMs: breaker.waitMs,
    }));
  }
}
