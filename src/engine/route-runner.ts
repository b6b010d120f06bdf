import { describeError, type JunctionError, toJunctionError } from "../api/errors.js";
import type { Message } from "../api/message.js";
import type { RoutedMessage, StepFunction, Target } from "../api/step.js";
import type { Logger } from "../observe/logger.js";
import { type Tracing, traceparentOf } from "../observe/tracing.js";
import type { CircuitBreaker, CircuitState } from "../reliability/circuit-breaker.js";
import { isRetryable, RetryBudget, type RetryPlan, retryDelay } from "../reliability/retry.js";
import type { Append, CommitBatch, Delivery, JournalEntry, JournalOutcome, Store } from "../store/store.js";
import { BatchDeadline } from "./batch-deadline.js";

/** A target that is a durable channel: written in the same transaction as the acknowledgement. */
export interface ChannelTarget extends Target {
  readonly channel: string;
  /** False when the channel has no `partitionBy`: every key is null, nothing to evaluate per message. */
  readonly keyed: boolean;
  partitionKey(message: Message): Promise<string | null>;
  /** True when some subscription of the channel is above its high-water mark. */
  full(): boolean;
}

export function isChannelTarget(target: Target): target is ChannelTarget {
  return "channel" in target;
}

/** A target that writes to a system: its calls go through that system's shared circuit breaker. */
export interface GuardedTarget extends Target {
  readonly breaker?: CircuitBreaker;
}

function breakerOf(target: Target): CircuitBreaker | undefined {
  return (target as GuardedTarget).breaker;
}

export interface RouteRunnerOptions {
  name: string;
  subscription: string;
  store: Store;
  steps: { name: string; run: StepFunction }[];
  targets: Target[];
  /** Every target a switch may choose, so backpressure sees them all. */
  allTargets: Target[];
  concurrency: number;
  leaseMs: number;
  timeoutMs: number;
  retry: RetryPlan;
  logger: Logger;
  tracing?: Tracing;
}

export type DryRunResult =
  | { ok: true; outputs: { messageId: string; data: unknown; targets: string[] }[] }
  | { ok: false; step: string; error: ReturnType<typeof describeError> };

export interface RouteStatus {
  name: string;
  subscription: string;
  inFlight: number;
  processed: number;
  failed: number;
  deadLettered: number;
  circuit: CircuitState | "none";
}

const IDLE_POLL_MS = 1000;

/**
 * Runs one route: claims messages from its subscription with a lease, runs the steps, writes to
 * every target, and acknowledges only when every target confirmed. Failures are retried durably
 * (the next attempt time lives in the store) or become dead letters.
 */
export class RouteRunner {
  readonly #options: RouteRunnerOptions;
  /** The distinct breakers of the systems this route writes to. */
  readonly #breakers: CircuitBreaker[];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #budget?: RetryBudget;
  readonly #abort = new AbortController();
  /** Deadlines of the claim batches in flight, aborted together at shutdown. */
  readonly #deadlines = new Set<BatchDeadline>();
  #stopping = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #stats = { processed: 0, failed: 0, deadLettered: 0 };

  constructor(options: RouteRunnerOptions) {
    this.#options = options;
    if (options.retry.budget) this.#budget = new RetryBudget(options.retry.budget);
    this.#breakers = [
      ...new Set(
        options.allTargets
          .map(breakerOf)
          .filter((breaker): breaker is CircuitBreaker => breaker !== undefined),
      ),
    ];
  }

  start(): void {
    this.#unsubscribe = this.#options.store.onReady((subscription) => {
      if (subscription === this.#options.subscription) this.#signal();
    });
    this.#loop = this.#run();
  }

  status(): RouteStatus {
    return {
      name: this.#options.name,
      subscription: this.#options.subscription,
      inFlight: this.#inFlight.size,
      ...this.#stats,
      circuit: this.#circuitState(),
    };
  }

  /** The worst state among this route's breakers. */
  #circuitState(): CircuitState | "none" {
    if (this.#breakers.length === 0) return "none";
    const states = this.#breakers.map((breaker) => breaker.state);
    return states.includes("open") ? "open" : states.includes("half-open") ? "half-open" : "closed";
  }

  /** How many messages the breakers allow now; a trial granted by one breaker is given back if another says no. */
  #allowance(free: number): number {
    let allowed = free;
    const granted: CircuitBreaker[] = [];
    for (const breaker of this.#breakers) {
      const wasHalfOpen = breaker.state === "half-open";
      const allowance = breaker.allowance(allowed);
      if (wasHalfOpen && allowance > 0) granted.push(breaker);
      allowed = Math.min(allowed, allowance);
    }
    if (allowed === 0) for (const breaker of granted) breaker.releaseTrial();
    return allowed;
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    const { store, subscription, concurrency, leaseMs } = this.#options;
    while (!this.#stopping) {
      try {
        const free = concurrency - this.#inFlight.size;
        // Under load, claim in groups rather than one freed slot at a time: fewer transactions.
        if (free <= 0 || (this.#inFlight.size > 0 && free < Math.ceil(concurrency / 4))) {
          await this.#sleep(IDLE_POLL_MS);
          continue;
        }
        // Downstream channels over their high-water mark: leave the backlog here, on disk.
        if (this.#options.allTargets.some((target) => isChannelTarget(target) && target.full())) {
          await this.#sleep(100);
          continue;
        }
        const allowed = this.#allowance(free);
        if (allowed === 0) {
          const wait = Math.min(...this.#breakers.map((breaker) => breaker.waitMs || IDLE_POLL_MS));
          await this.#sleep(Math.max(50, Math.min(wait, IDLE_POLL_MS)));
          continue;
        }
        const claimedAt = Date.now();
        const deliveries = await store.claim(subscription, allowed, leaseMs);
        if (deliveries.length === 0) {
          for (const breaker of this.#breakers) breaker.releaseTrial(); // nothing to try
          // From the claim's time: a retry due between the claim and now must not wait a whole poll.
          const next = await store.nextReadyInMs(subscription, claimedAt);
          await this.#sleep(next === null ? IDLE_POLL_MS : Math.min(IDLE_POLL_MS, Math.max(5, next)));
          continue;
        }
        const deadline = new BatchDeadline(deliveries.length, this.#options.timeoutMs, (settled) =>
          this.#deadlines.delete(settled),
        );
        this.#deadlines.add(deadline);
        for (const delivery of deliveries) {
          const task = this.#process(delivery, deadline).finally(() => {
            this.#inFlight.delete(task);
            this.#signal();
          });
          this.#inFlight.add(task);
        }
      } catch (error) {
        this.#options.logger.error({ err: error }, "route loop failed; retrying");
        await this.#sleep(IDLE_POLL_MS);
      }
    }
  }

  async #process(delivery: Delivery, deadline: BatchDeadline): Promise<void> {
    const started = performance.now();
    this.#budget?.record(delivery.attempts > 0);
    const { name } = this.#options;
    // Aborted when the message's time budget runs out, or at shutdown.
    const signal = deadline.signal;
    const { tracing } = this.#options;
    // Without an exporter a span records nothing: skip building one per message.
    const span = tracing?.enabled
      ? tracing.start("process", name, delivery.message, { "junction.attempt": delivery.attempts + 1 })
      : undefined;
    /** What the next hop carries: this route's span, when spans are recorded. */
    const onward = (message: Message): Message =>
      span && tracing?.enabled ? { ...message, traceparent: traceparentOf(span) } : message;
    let spanError: unknown;
    let failedStep: string | null = null;
    const journal: JournalEntry[] = [];
    const base = {
      messageId: delivery.message.id,
      correlationId: delivery.message.correlationId,
      route: name,
    };
    // Idempotency keys claimed by dedupe steps: recorded with the ack, released whatever happens.
    const dedupe = new Map<string, NonNullable<RoutedMessage["dedupe"]>[number]>();
    try {
      let items: RoutedMessage[] = [{ message: delivery.message }];
      let duplicates = 0;
      for (const step of this.#options.steps) {
        failedStep = step.name;
        const next: RoutedMessage[] = [];
        for (const item of items) {
          for (const output of await step.run(item, signal)) {
            for (const entry of output.dedupe ?? []) dedupe.set(`${entry.scope}\n${entry.key}`, entry);
            if (output.duplicate) duplicates++;
            else next.push(output);
          }
        }
        items = next;
        if (signal.aborted) throw toJunctionError(signal.reason);
      }
      failedStep = null;
      const keys = [...dedupe.values()].map(({ scope, key }) => ({ scope, key }));
      if (items.length === 0) {
        const outcome = duplicates > 0 ? "duplicate" : "filtered";
        journal.push(hop(base, null, outcome, performance.now() - started));
        await this.#options.store.commit({ acks: [delivery.deliveryId], journal, dedupe: keys });
        this.#stats.processed++;
        return;
      }
      const progress = new Set(delivery.progress);
      const appends: Append[] = [];
      const sends: { key: string; target: Target; message: Message }[] = [];
      for (const item of items) {
        for (const target of item.targets ?? this.#options.targets) {
          if (isChannelTarget(target)) {
            appends.push({
              channel: target.channel,
              message: onward(item.message),
              partitionKey: target.keyed ? await target.partitionKey(item.message) : null,
            });
          } else {
            const key = `${item.message.id}>${target.name}`;
            if (!progress.has(key)) sends.push({ key, target, message: item.message });
          }
        }
      }
      const results = await Promise.allSettled(
        sends.map(async (send) => {
          const sendStarted = performance.now();
          const breaker = breakerOf(send.target);
          const outgoing = onward(send.message);
          const sendSpan = tracing?.enabled ? tracing.start("send", send.target.name, outgoing) : undefined;
          try {
            await send.target.deliver(
              sendSpan ? { ...outgoing, traceparent: traceparentOf(sendSpan) } : outgoing,
              signal,
            );
          } catch (error) {
            if (toJunctionError(error).retryable) breaker?.failure();
            if (sendSpan) tracing?.end(sendSpan, error);
            throw error;
          }
          if (sendSpan) tracing?.end(sendSpan);
          breaker?.success();
          progress.add(send.key);
          journal.push(
            hop(base, send.target.name, "sent", performance.now() - sendStarted, {
              messageId: send.message.id,
              detail: send.message.id !== delivery.message.id ? { parent: delivery.message.id } : undefined,
            }),
          );
        }),
      );
      const failure = results.find((result) => result.status === "rejected") as
        | PromiseRejectedResult
        | undefined;
      if (failure) {
        const failedIndex = results.indexOf(failure);
        failedStep = sends[failedIndex].target.name;
        throw failure.reason;
      }
      // Derived messages (split parts) get a hop of their own so a trace can find them; the
      // message itself records its channels on the `processed` hop.
      for (const append of appends) {
        if (append.message.id === delivery.message.id) continue;
        journal.push(
          hop(base, `channel:${append.channel}`, "sent", 0, {
            messageId: append.message.id,
            detail: { parent: delivery.message.id },
          }),
        );
      }
      const channels = [...new Set(appends.map((append) => append.channel))];
      journal.push(
        hop(base, null, "processed", performance.now() - started, {
          detail: channels.length ? { channels } : undefined,
        }),
      );
      await this.#options.store.commit({ appends, acks: [delivery.deliveryId], journal, dedupe: keys });
      this.#stats.processed++;
    } catch (thrown) {
      const error = toJunctionError(thrown);
      spanError = error;
      await this.#fail(delivery, error, failedStep, performance.now() - started, journal);
    } finally {
      deadline.finished();
      for (const entry of dedupe.values()) entry.release();
      if (span) tracing?.end(span, spanError);
    }
  }

  async #fail(
    delivery: Delivery,
    error: JunctionError,
    step: string | null,
    durationMs: number,
    journal: JournalEntry[],
  ): Promise<void> {
    const { retry, name, store, logger } = this.#options;
    if (this.#stopping && this.#abort.signal.aborted) {
      // Shutdown interrupted the work: give the message back untouched.
      await store.release([delivery.deliveryId]);
      return;
    }
    this.#stats.failed++;
    const attempt = { at: new Date().toISOString(), durationMs, error: describeError(error) };
    const attemptsMade = delivery.attempts + 1;
    const firstAttemptAt = delivery.history[0] ? Date.parse(delivery.history[0].at) : Date.now() - durationMs;
    const exhausted =
      attemptsMade >= retry.attempts ||
      (retry.maxElapsedMs !== undefined && Date.now() - firstAttemptAt >= retry.maxElapsedMs);
    const retryable = isRetryable(retry, error);
    const base = {
      messageId: delivery.message.id,
      correlationId: delivery.message.correlationId,
      route: name,
    };
    const batch: CommitBatch = { journal };
    if (!retryable || exhausted) {
      if (retry.deadLetter) {
        batch.deadLetters = [
          {
            deliveryId: delivery.deliveryId,
            message: delivery.message,
            route: name,
            step,
            error: attempt.error,
            attempts: [...delivery.history, attempt],
          },
        ];
        journal.push(hop(base, step, "dead-lettered", durationMs, { error: attempt.error }));
        this.#stats.deadLettered++;
        logger.warn(
          { step, messageId: delivery.message.id, code: error.code, attempts: attemptsMade },
          `message dead-lettered: ${error.message}`,
        );
      } else {
        const delayMs = retry.maxMs;
        batch.nacks = [{ deliveryId: delivery.deliveryId, delayMs, progress: delivery.progress, attempt }];
        journal.push(hop(base, step, "retry", durationMs, { error: attempt.error, detail: { delayMs } }));
      }
    } else {
      const overBudget = this.#budget?.exhausted() ?? false;
      const delayMs = overBudget ? retry.maxMs : retryDelay(retry, attemptsMade, error.retryAfterMs);
      const progress = [...new Set([...delivery.progress, ...progressFromJournal(journal, delivery)])];
      batch.nacks = [{ deliveryId: delivery.deliveryId, delayMs, progress, attempt }];
      journal.push(
        hop(base, step, "retry", durationMs, {
          error: attempt.error,
          detail: { delayMs, attempt: attemptsMade, ...(overBudget ? { budget: "exhausted" } : {}) },
        }),
      );
      logger.info(
        { step, messageId: delivery.message.id, code: error.code, attempt: attemptsMade, delayMs },
        `will retry: ${error.message}`,
      );
    }
    try {
      await store.commit(batch);
    } catch (commitError) {
      // The store refused (disk full...): the lease expires and the message is redelivered.
      logger.error({ err: commitError }, "could not record the failure; the message will be redelivered");
    }
  }

  /**
   * Run the steps on a message and say where it would go, writing nothing: the dry run of a
   * dead-letter replay. Resolves with the outputs, or with the error the steps raise.
   */
  async dryRun(message: Message): Promise<DryRunResult> {
    const signal = AbortSignal.timeout(this.#options.timeoutMs);
    let items: RoutedMessage[] = [{ message }];
    const claimed: NonNullable<RoutedMessage["dedupe"]> = [];
    try {
      for (const step of this.#options.steps) {
        try {
          const next: RoutedMessage[] = [];
          for (const item of items) next.push(...(await step.run(item, signal)));
          for (const item of next) claimed.push(...(item.dedupe ?? []));
          items = next.filter((item) => !item.duplicate);
        } catch (thrown) {
          return { ok: false, step: step.name, error: describeError(thrown) };
        }
      }
    } finally {
      // A dry run records nothing: release any idempotency key a dedupe step claimed.
      for (const entry of claimed) entry.release();
    }
    return {
      ok: true,
      outputs: items.map((item) => ({
        messageId: item.message.id,
        data: item.message.data,
        targets: (item.targets ?? this.#options.targets).map((target) => target.name),
      })),
    };
  }

  /** Stop claiming, wait for messages in flight (up to the deadline), then abort what is left. */
  async stop(deadlineMs: number): Promise<void> {
    this.#stopping = true;
    this.#signal();
    await this.#loop;
    const drained = Promise.allSettled([...this.#inFlight]);
    const timer = new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref());
    await Promise.race([drained, timer]);
    if (this.#inFlight.size > 0) {
      this.#abort.abort(new Error("engine shutting down"));
      for (const deadline of this.#deadlines) deadline.abort(this.#abort.signal.reason);
      await Promise.allSettled([...this.#inFlight]);
    }
    this.#unsubscribe?.();
  }
}

/** Targets that confirmed in the failed attempt: a retry does not write to them again. */
function progressFromJournal(journal: JournalEntry[], delivery: Delivery): string[] {
  return journal
    .filter((entry) => entry.outcome === "sent" && entry.step && !entry.step.startsWith("channel:"))
    .map((entry) => `${entry.messageId ?? delivery.message.id}>${entry.step}`);
}

/** Who a journal entry is about: the message, its correlation, this route. */
interface HopSubject {
  messageId: string;
  correlationId: string;
  route: string;
}

/**
 * One journal entry of this route, built field by field. Node 20's V8 takes a slow path for an
 * object literal that spreads another and then adds keys (`{ ...base, step, outcome }`): about
 * 2.8 µs an entry against a few nanoseconds, and each such entry gets a hidden class of its own, so
 * the metrics and the store read it slowly too. Paid twice a delivered message.
 */
function hop(
  subject: HopSubject,
  step: string | null,
  outcome: JournalOutcome,
  durationMs: number,
  more: { messageId?: string; error?: JournalEntry["error"]; detail?: JournalEntry["detail"] } = {},
): JournalEntry {
  const entry: JournalEntry = {
    messageId: more.messageId ?? subject.messageId,
    correlationId: subject.correlationId,
    route: subject.route,
    step,
    outcome,
    durationMs,
  };
  if (more.error) entry.error = more.error;
  if (more.detail) entry.detail = more.detail;
  return entry;
}
