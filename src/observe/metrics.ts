import { statSync } from "node:fs";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { runLog } from "../connectors/sql/run-log.js";
import type { CommitBatch, JournalEntry, Store } from "../store/store.js";

/**
 * Prometheus metrics, named after Prometheus conventions and, where the concept exists, the
 * OpenTelemetry messaging conventions. Counters and histograms are fed from the journal entries
 * each commit carries (one place sees every hop); gauges are read from the store at scrape time.
 * Labels stay low-cardinality: route, target, connector, outcome, error code — never message ids.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #consumed: Counter<"route" | "connector">;
  readonly #sent: Counter<"route" | "target">;
  readonly #outcomes: Counter<"route" | "outcome">;
  readonly #failures: Counter<"route" | "error_type" | "outcome">;
  readonly #processDuration: Histogram<"route">;
  readonly #sendDuration: Histogram<"route" | "target">;

  constructor(options: {
    version: string;
    store: () => Store;
    storePath?: string;
    breakers: () => { key: string; state: string }[];
    /** Messages whose source is held for room above a high-water mark, per route (`intakeWait`). */
    intakeWaiting?: () => Map<string, number>;
  }) {
    const registers = [this.registry];
    new Gauge({
      name: "junction_build_info",
      help: "Junction version and Node.js version; always 1.",
      labelNames: ["version", "node"],
      registers,
    }).set({ version: options.version, node: process.version }, 1);
    this.#consumed = new Counter({
      name: "messaging_client_consumed_messages_total",
      help: "Messages received from a source and durably stored.",
      labelNames: ["route", "connector"],
      registers,
    });
    this.#sent = new Counter({
      name: "messaging_client_sent_messages_total",
      help: "Messages a target confirmed.",
      labelNames: ["route", "target"],
      registers,
    });
    this.#outcomes = new Counter({
      name: "junction_messages_total",
      help: "Messages finished by a route, by outcome: processed, filtered, duplicate, dead_lettered.",
      labelNames: ["route", "outcome"],
      registers,
    });
    this.#failures = new Counter({
      name: "junction_message_failures_total",
      help: "Failed attempts, by error code; outcome retry or dead_lettered.",
      labelNames: ["route", "error_type", "outcome"],
      registers,
    });
    this.#processDuration = new Histogram({
      name: "messaging_process_duration_seconds",
      help: "Time a route took to process a message: steps and every target.",
      labelNames: ["route"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#sendDuration = new Histogram({
      name: "messaging_client_operation_duration_seconds",
      help: "Time one target took to confirm a message.",
      labelNames: ["route", "target"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    // Gauges read from the store when Prometheus scrapes. The registry collects metrics
    // concurrently, so every gauge reads one shared snapshot taken once per scrape.
    let cached: { at: number; snapshot: Promise<StoreSnapshot> } | undefined;
    const snapshot = () => {
      if (!cached || Date.now() - cached.at > 250) {
        cached = {
          at: Date.now(),
          snapshot: takeSnapshot(options.store(), options.breakers, options.storePath),
        };
      }
      return cached.snapshot;
    };
    const gauge = (
      name: string,
      help: string,
      labelNames: string[],
      fill: (gauge: Gauge<string>, snapshot: StoreSnapshot) => void,
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          const current = await snapshot();
          this.reset();
          fill(this, current);
        },
      });
    gauge(
      "junction_channel_depth_messages",
      "Messages waiting in a channel subscription (not leased); consumer lag.",
      ["channel", "subscription"],
      (g, snap) => {
        for (const stat of snap.stats)
          g.set({ channel: stat.channel, subscription: stat.subscription }, stat.depth);
      },
    );
    gauge(
      "junction_channel_in_flight_messages",
      "Messages leased by a route worker and not yet acknowledged.",
      ["channel", "subscription"],
      (g, snap) => {
        for (const stat of snap.stats)
          g.set({ channel: stat.channel, subscription: stat.subscription }, stat.inFlight);
      },
    );
    gauge(
      "junction_channel_oldest_message_age_seconds",
      "Age of the oldest message not yet acknowledged in a subscription.",
      ["channel", "subscription"],
      (g, snap) => {
        for (const stat of snap.stats)
          g.set({ channel: stat.channel, subscription: stat.subscription }, (stat.oldestAgeMs ?? 0) / 1000);
      },
    );
    gauge("junction_dead_letters_messages", "Open dead letters per route.", ["route"], (g, snap) => {
      for (const [route, count] of Object.entries(snap.deadLetters)) g.set({ route }, count);
    });
    gauge(
      "junction_circuit_state",
      "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
      ["circuit"],
      (g, snap) => {
        for (const breaker of snap.breakers) {
          g.set(
            { circuit: breaker.key },
            breaker.state === "open" ? 2 : breaker.state === "half-open" ? 1 : 0,
          );
        }
      },
    );
    gauge(
      "junction_store_size_bytes",
      "Size of the embedded store, write-ahead log included.",
      [],
      (g, snap) => {
        g.set(snap.storeBytes);
      },
    );
    const intakeWaiting = options.intakeWaiting;
    if (intakeWaiting) {
      new Gauge({
        name: "junction_intake_waiting",
        help: "Messages a source holds for room while the route's target is above its high-water mark (intakeWait).",
        labelNames: ["route"],
        registers,
        collect() {
          this.reset();
          for (const [route, count] of intakeWaiting()) this.set({ route }, count);
        },
      });
    }
    // Change data capture sources publish their slot's health in `cdcSlots`; read at scrape time.
    const cdcGauge = (name: string, help: string, value: (slot: CdcSlotHealth) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["route", "slot"],
        registers,
        collect() {
          this.reset();
          for (const slot of cdcSlots.values()) this.set({ route: slot.route, slot: slot.slot }, value(slot));
        },
      });
    cdcGauge(
      "junction_cdc_slot_retained_wal_bytes",
      "WAL a change data capture slot keeps on the database server (binlog sources: 0).",
      (slot) => slot.retainedWalBytes,
    );
    cdcGauge("junction_cdc_slot_active", "1 while the slot is being read.", (slot) => (slot.active ? 1 : 0));
    cdcGauge(
      "junction_cdc_relation_changes",
      "Schema changes (columns added, dropped, retyped) a change data capture source saw since it started.",
      (slot) => slot.relationChanges,
    );
    // Extraction runs of the SQL sources, which report to their process-wide run log.
    new Counter({
      name: "junction_etl_runs_total",
      help: "Extraction runs ended, by outcome: success, failed, interrupted.",
      labelNames: ["route", "outcome"],
      registers,
      collect() {
        this.reset();
        for (const totals of runLog.totals())
          for (const [outcome, count] of totals.runs) this.inc({ route: totals.route, outcome }, count);
      },
    });
    new Counter({
      name: "junction_etl_rows_total",
      help: "Rows extracted and stored by extraction runs.",
      labelNames: ["route"],
      registers,
      collect() {
        this.reset();
        for (const totals of runLog.totals()) this.inc({ route: totals.route }, totals.rows);
      },
    });
    new Counter({
      name: "junction_etl_skipped_ticks_total",
      help: "Schedule ticks skipped because the previous run was still going.",
      labelNames: ["route"],
      registers,
      collect() {
        this.reset();
        for (const totals of runLog.totals()) this.inc({ route: totals.route }, totals.skippedTicks);
      },
    });
    new Gauge({
      name: "junction_etl_last_success_timestamp_seconds",
      help: "End of the last successful extraction run, Unix time.",
      labelNames: ["route"],
      registers,
      collect() {
        this.reset();
        for (const totals of runLog.totals())
          if (totals.lastSuccessMs !== undefined)
            this.set({ route: totals.route }, totals.lastSuccessMs / 1000);
      },
    });
    gauge(
      "junction_journal_rows",
      "Rows kept in the journal, one per message per commit, each holding that commit's hops (until journal retention removes them).",
      [],
      (g, snap) => {
        g.set(snap.journalRows);
      },
    );
  }

  /** Count what a committed batch's journal says happened. */
  observe(batch: CommitBatch): void {
    for (const entry of batch.journal ?? []) this.#observeEntry(entry);
  }

  #observeEntry(entry: JournalEntry): void {
    const route = entry.route;
    switch (entry.outcome) {
      case "received":
        this.#consumed.inc({ route, connector: connectorOf(entry.step) });
        break;
      case "sent":
        if (entry.step?.startsWith("channel:")) break;
        this.#sent.inc({ route, target: entry.step ?? "" });
        this.#sendDuration.observe({ route, target: entry.step ?? "" }, entry.durationMs / 1000);
        break;
      case "processed":
      case "filtered":
      case "duplicate":
        this.#outcomes.inc({ route, outcome: entry.outcome });
        this.#processDuration.observe({ route }, entry.durationMs / 1000);
        break;
      case "retry":
        this.#failures.inc({ route, error_type: entry.error?.code ?? "unknown", outcome: "retry" });
        break;
      case "dead-lettered":
        this.#outcomes.inc({ route, outcome: "dead_lettered" });
        this.#failures.inc({ route, error_type: entry.error?.code ?? "unknown", outcome: "dead_lettered" });
        break;
    }
  }
}

/** `from:webhook` → `webhook`. */
function connectorOf(step: string | null | undefined): string {
  if (!step) return "";
  return step.startsWith("from:") ? step.slice(5) : step;
}

/** Health of a change data capture slot (or binlog reader), by `route:slot`. */
export interface CdcSlotHealth {
  route: string;
  slot: string;
  retainedWalBytes: number;
  active: boolean;
  relationChanges: number;
}

export const cdcSlots = new Map<string, CdcSlotHealth>();

interface StoreSnapshot {
  stats: Awaited<ReturnType<Store["stats"]>>;
  deadLetters: Record<string, number>;
  breakers: { key: string; state: string }[];
  storeBytes: number;
  journalRows: number;
}

async function takeSnapshot(
  store: Store,
  breakers: () => { key: string; state: string }[],
  storePath: string | undefined,
): Promise<StoreSnapshot> {
  return {
    stats: await store.stats(),
    deadLetters: await store.deadLetterDepth(),
    breakers: breakers(),
    storeBytes: storePath ? fileSize(storePath) + fileSize(`${storePath}-wal`) : 0,
    journalRows: store.journalRows(),
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * A store whose commits are seen by observers (metrics, activity) once they succeed, and whose
 * claims that took something are reported to `claimed` (a depth went down: sources may have room).
 */
export function observedStore(
  store: Store,
  observers: { observe(batch: CommitBatch): void }[],
  transform: (batch: CommitBatch) => CommitBatch = (batch) => batch,
  claimed: (subscription: string) => void = () => {},
): Store {
  const commit = async (given: CommitBatch) => {
    const batch = transform(given);
    const result = await store.commit(batch);
    if (!result.duplicateOf) for (const observer of observers) observer.observe(given);
    return result;
  };
  const claim: Store["claim"] = async (subscription, max, leaseMs) => {
    const deliveries = await store.claim(subscription, max, leaseMs);
    if (deliveries.length > 0) claimed(subscription);
    return deliveries;
  };
  // Bound once per method, not on every access: `depth` and `commit` are read per message.
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property) {
      if (property === "commit") return commit;
      if (property === "claim") return claim;
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      let method = bound.get(property);
      if (method === undefined) {
        method = value.bind(target);
        bound.set(property, method);
      }
      return method;
    },
  });
}
