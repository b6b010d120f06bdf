import type { ScenarioConfig } from "../lib/junction.js";

/** One thing measured: Junction doing it, against the ceiling doing the same without durability. */
export interface Scenario {
  name: string;
  /** What Junction runs, in one line. */
  junctionShape: string;
  /** What the ceiling runs, in one line. */
  ceilingShape: string;
  /** The webhook path both contenders serve. */
  path: string;
  /** True when a downstream warehouse receives shipments (and deliveries are counted). */
  downstream: boolean;
  ceilingMode: "ingest" | "end-to-end";
  /** The target: Junction's accepted req/s at least `ratio` × the ceiling's (medians of the rounds). */
  target?: { ratio: number };
  /** Junction's routes (and the systems, connections and channels they use). */
  junction(options: { warehouseUrl?: string }): ScenarioConfig;
}

/** Large enough that the bench never meets backpressure: it measures throughput, not the high-water mark. */
export const UNBOUNDED_DEPTH = 10_000_000;

/**
 * The backlog bound of the sustained flows (end to end, the JSONata flow): twice the consumer's 64
 * slots, so it always has a full claim waiting. Above it the webhook holds each request for room (the route's `intakeWait`),
 * so the load generator runs at the pace of delivery with a bounded backlog, as the ceiling and
 * Node-RED (which answer after the warehouse) do.
 */
export const SUSTAINED_DEPTH = 128;
export const INTAKE_WAIT = "5s";
