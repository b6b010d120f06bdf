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
