import type { CommitBatch, JournalEntry } from "../store/store.js";

const BUCKET_MS = 5_000;
const KEEP_BUCKETS = 720; // an hour of 5 s buckets

interface Bucket {
  at: number;
  received: number;
  finished: number;
  failed: number;
  schemaViolations: number;
}

export interface RouteActivity {
  received: number;
  /** Attempts that ended well: processed, filtered, duplicate. */
  finished: number;
  /** Attempts that failed: retried or dead-lettered. */
  failed: number;
  schemaViolations: number;
}

/**
 * Recent activity per route, fed by every committed journal entry: counts in 5 s buckets for
 * rates over a window, and the time of the last message received (for silence alerts). In memory:
 * after a restart, a route counts as last seen at the start.
 */
export class Activity {
  readonly #buckets = new Map<string, Bucket[]>();
  readonly #lastReceived = new Map<string, number>();
  readonly startedAt: number;

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  observe(batch: CommitBatch): void {
    for (const entry of batch.journal ?? []) this.#observe(entry);
  }

  #bucket(route: string): Bucket {
    const at = Math.floor(this.now() / BUCKET_MS) * BUCKET_MS;
    let list = this.#buckets.get(route);
    if (!list) {
      list = [];
      this.#buckets.set(route, list);
    }
    let last = list[list.length - 1];
    if (!last || last.at !== at) {
      last = { at, received: 0, finished: 0, failed: 0, schemaViolations: 0 };
      list.push(last);
      if (list.length > KEEP_BUCKETS) list.shift();
    }
    return last;
  }

  #observe(entry: JournalEntry): void {
    const bucket = this.#bucket(entry.route);
    switch (entry.outcome) {
      case "received":
        bucket.received++;
        this.#lastReceived.set(entry.route, this.now());
        break;
      case "processed":
      case "filtered":
      case "duplicate":
        bucket.finished++;
        break;
      case "retry":
      case "dead-lettered":
        bucket.failed++;
        if (entry.error?.code === "JUNCTION_SCHEMA_VIOLATION") bucket.schemaViolations++;
        break;
    }
  }

  /** Totals over the last `windowMs`, for one route or all. */
  window(windowMs: number, route?: string): RouteActivity {
    const since = this.now() - windowMs;
    const total: RouteActivity = { received: 0, finished: 0, failed: 0, schemaViolations: 0 };
    for (const [name, list] of this.#buckets) {
      if (route && name !== route) continue;
      for (const bucket of list) {
        if (bucket.at + BUCKET_MS <= since) continue;
        total.received += bucket.received;
        total.finished += bucket.finished;
        total.failed += bucket.failed;
        total.schemaViolations += bucket.schemaViolations;
      }
    }
    return total;
  }

  /** When a route last received a message (the engine's start when it has not since). */
  lastReceived(route: string): number {
    return this.#lastReceived.get(route) ?? this.startedAt;
  }
}
