/**
 * The scenarios beyond the HTTP ones of bench/scenarios: each runs Junction and its peer in
 * alternating rounds and reports rows for the one summary table (and bench/results/latest.json).
 */

export interface SuiteSettings {
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  drainSeconds: number;
  keep: boolean;
  /** Load windows a round alternates between contenders running side by side (BENCH_SLICES; 1: whole rounds). */
  slices?: number;
  /** Messages in the backlog scenario (BENCH_BACKLOG). */
  backlog: number;
  log: (line: string) => void;
  /** Extra node flags for Junction's processes only (BENCH_PROFILE: --cpu-prof into a directory). */
  nodeArgs?: string[];
}

export interface Latency {
  p50: number | null;
  p99: number | null;
}

/** One line of the summary table. Throughput-like figures: the ratio is Junction / peer. */
export interface SummaryRow {
  scenario: string;
  /** What the Junction and peer columns hold, e.g. "delivered msg/s". */
  measure: string;
  junction: number | null;
  peerName: string | null;
  peer: number | null;
  ratio: number | null;
  junctionLatency: Latency | null;
  peerLatency: Latency | null;
  junctionRssMb: number | null;
  peerRssMb: number | null;
  /** The target in words, and whether these figures meet it (null: nothing to judge). */
  target: string | null;
  met: boolean | null;
}

export interface SuiteResult {
  rows: SummaryRow[];
  /** Every round's raw figures, for the JSON. */
  rounds: unknown[];
  failures: string[];
}

export interface Suite {
  name: string;
  description: string;
  run(settings: SuiteSettings): Promise<SuiteResult>;
}

/** A row with the fields a suite does not measure left empty. */
export function row(fields: Partial<SummaryRow> & Pick<SummaryRow, "scenario" | "measure">): SummaryRow {
  return {
    junction: null,
    peerName: null,
    peer: null,
    ratio: null,
    junctionLatency: null,
    peerLatency: null,
    junctionRssMb: null,
    peerRssMb: null,
    target: null,
    met: null,
    ...fields,
  };
}

/** Percentile of already sorted numbers (nearest rank). */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function latencyOf(values: number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}
