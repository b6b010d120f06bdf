import type { JunctionError } from "../api/errors.js";
import type { PolicyModel } from "../config/model.js";
import { parseDuration } from "../config/schema-types.js";

export interface RetryPlan {
  attempts: number;
  backoff: "exponential" | "fixed";
  initialMs: number;
  multiplier: number;
  maxMs: number;
  jitter: "full" | "equal" | "none";
  deadLetter: boolean;
  maxElapsedMs?: number;
  retryOn?: ErrorMatch;
  deadLetterOn?: ErrorMatch;
  budget?: { ratio: number; minPerSecond: number };
}

export interface ErrorMatch {
  codes?: string[];
  statuses?: number[];
}

/** Used when a route names no policy: a few quick retries, then a dead letter. */
export const DEFAULT_RETRY: RetryPlan = {
  attempts: 5,
  backoff: "exponential",
  initialMs: 1000,
  multiplier: 2,
  maxMs: 5 * 60_000,
  jitter: "full",
  deadLetter: true,
};

export function retryPlan(policy: PolicyModel | undefined): RetryPlan {
  const retry = policy?.retry;
  return {
    attempts: retry?.attempts ?? DEFAULT_RETRY.attempts,
    backoff: retry?.backoff ?? DEFAULT_RETRY.backoff,
    initialMs: retry?.initial ? parseDuration(retry.initial) : DEFAULT_RETRY.initialMs,
    multiplier: retry?.multiplier ?? DEFAULT_RETRY.multiplier,
    maxMs: retry?.max ? parseDuration(retry.max) : DEFAULT_RETRY.maxMs,
    jitter: retry?.jitter ?? DEFAULT_RETRY.jitter,
    deadLetter: policy?.deadLetter ?? true,
    ...(retry?.maxElapsed ? { maxElapsedMs: parseDuration(retry.maxElapsed) } : {}),
    ...(retry?.retryOn ? { retryOn: retry.retryOn } : {}),
    ...(retry?.deadLetterOn ? { deadLetterOn: retry.deadLetterOn } : {}),
    ...(retry?.budget
      ? { budget: { ratio: retry.budget.ratio, minPerSecond: retry.budget.minPerSecond ?? 1 } }
      : {}),
  };
}

/**
 * Delay before attempt `attempt + 1`, given `attempt` attempts made (1 = the first failed).
 * Full jitter (AWS architecture blog): random in [0, d]. A server's Retry-After wins, capped by max.
 */
export function retryDelay(
  plan: RetryPlan,
  attempt: number,
  retryAfterMs?: number,
  random = Math.random,
): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, plan.maxMs);
  const base =
    plan.backoff === "fixed"
      ? plan.initialMs
      : Math.min(plan.maxMs, plan.initialMs * plan.multiplier ** Math.max(0, attempt - 1));
  switch (plan.jitter) {
    case "full":
      return Math.round(random() * base);
    case "equal":
      return Math.round(base / 2 + random() * (base / 2));
    default:
      return Math.round(base);
  }
}

function matches(match: ErrorMatch | undefined, error: JunctionError): boolean {
  if (!match) return false;
  if (match.codes?.includes(error.code)) return true;
  const status = error.details?.status;
  return typeof status === "number" && (match.statuses?.includes(status) ?? false);
}

/** Whether the policy retries this error: its own flag, overridden by `retryOn` and `deadLetterOn`. */
export function isRetryable(plan: RetryPlan, error: JunctionError): boolean {
  if (matches(plan.deadLetterOn, error)) return false;
  if (matches(plan.retryOn, error)) return true;
  return error.retryable;
}

/**
 * A retry budget (as in Finagle and gRPC): over a 10 s window, retries may be at most `ratio` of
 * first attempts, plus `minPerSecond`. Over budget, retries are pushed to the maximum delay so a
 * failing system sees a trickle, not a storm.
 */
export class RetryBudget {
  static readonly WINDOW_SECONDS = 10;
  readonly #firsts = new Array<number>(RetryBudget.WINDOW_SECONDS).fill(0);
  readonly #retries = new Array<number>(RetryBudget.WINDOW_SECONDS).fill(0);
  #second = 0;

  constructor(
    private readonly budget: { ratio: number; minPerSecond: number },
    private readonly now: () => number = Date.now,
  ) {
    this.#second = Math.floor(now() / 1000);
  }

  #advance(): number {
    const second = Math.floor(this.now() / 1000);
    for (let s = Math.max(this.#second + 1, second - RetryBudget.WINDOW_SECONDS + 1); s <= second; s++) {
      this.#firsts[s % RetryBudget.WINDOW_SECONDS] = 0;
      this.#retries[s % RetryBudget.WINDOW_SECONDS] = 0;
    }
    this.#second = Math.max(this.#second, second);
    return second % RetryBudget.WINDOW_SECONDS;
  }

  /** Count an attempt as it starts: a first one, or a retry. */
  record(isRetry: boolean): void {
    const slot = this.#advance();
    if (isRetry) this.#retries[slot]++;
    else this.#firsts[slot]++;
  }

  /** True when retries in the window have used up the budget. */
  exhausted(): boolean {
    this.#advance();
    const firsts = this.#firsts.reduce((a, b) => a + b, 0);
    const retries = this.#retries.reduce((a, b) => a + b, 0);
    const allowed = this.budget.ratio * firsts + this.budget.minPerSecond * RetryBudget.WINDOW_SECONDS;
    return retries > allowed;
  }
}
