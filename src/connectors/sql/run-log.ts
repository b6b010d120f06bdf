/** One finished extraction run, as logged and counted. */
export interface RunRecord {
  route: string;
  id: string;
  mode: "incremental" | "snapshot";
  /** What started it: a cron tick, the catch-up at start, the resumption of an interrupted run, a poll. */
  trigger: "tick" | "catch-up" | "resume" | "poll";
  startedAt: string;
  durationMs: number;
  rows: number;
  outcome: "success" | "failed" | "interrupted";
  error?: string;
}

interface RouteTotals {
  runs: Map<RunRecord["outcome"], number>;
  rows: number;
  skippedTicks: number;
  lastSuccessMs?: number;
  recent: RunRecord[];
}

const RECENT = 20;

/**
 * Totals and recent runs of the SQL extraction sources, per route, read by the Prometheus
 * metrics at scrape time. Sources have no handle on the engine's metrics, so they report here.
 */
export class RunLog {
  readonly #routes = new Map<string, RouteTotals>();

  #totals(route: string): RouteTotals {
    let totals = this.#routes.get(route);
    if (!totals) {
      totals = { runs: new Map(), rows: 0, skippedTicks: 0, recent: [] };
      this.#routes.set(route, totals);
    }
    return totals;
  }

  record(run: RunRecord): void {
    const totals = this.#totals(run.route);
    totals.runs.set(run.outcome, (totals.runs.get(run.outcome) ?? 0) + 1);
    if (run.outcome === "success") totals.lastSuccessMs = Date.parse(run.startedAt) + run.durationMs;
    totals.recent.unshift(run);
    totals.recent.length = Math.min(totals.recent.length, RECENT);
  }

  /** Rows are counted as they are stored, so a long run shows progress before it ends. */
  addRows(route: string, rows: number): void {
    this.#totals(route).rows += rows;
  }

  skipped(route: string): void {
    this.#totals(route).skippedTicks++;
  }

  /** Newest first. */
  recent(route: string): RunRecord[] {
    return [...(this.#routes.get(route)?.recent ?? [])];
  }

  totals(): {
    route: string;
    runs: [RunRecord["outcome"], number][];
    rows: number;
    skippedTicks: number;
    lastSuccessMs?: number;
  }[] {
    return [...this.#routes].map(([route, totals]) => ({
      route,
      runs: [...totals.runs],
      rows: totals.rows,
      skippedTicks: totals.skippedTicks,
      ...(totals.lastSuccessMs !== undefined ? { lastSuccessMs: totals.lastSuccessMs } : {}),
    }));
  }
}

/** The process's run log: one engine per process in production. */
export const runLog = new RunLog();
