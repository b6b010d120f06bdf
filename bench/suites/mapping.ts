import jsonata from "jsonata";
import { createMessage } from "../../src/api/message.js";
import type { StepContext, StepFunction } from "../../src/api/step.js";
import { Evaluator } from "../../src/engine/evaluator.js";
import { ExpressionPool } from "../../src/engine/expression-pool.js";
import { mapStep } from "../../src/steps/map.js";
import { FLOW_MAPPING_JSONATA, FLOW_MAPPING_JSONATA_INLINE, mapFlowOrder } from "../lib/mapping.js";
import { ORDER } from "../lib/order.js";
import { median, ratio } from "../lib/stats.js";
import { row, type Suite, type SuiteResult } from "../lib/suite.js";

/** Evaluations kept in flight, as a route with `concurrency: 64` would. */
const IN_FLIGHT = 64;

type Evaluate = () => Promise<unknown> | unknown;

/**
 * Evaluations of `evaluate` for `ms`, IN_FLIGHT at a time: per second of wall time and per second of
 * this process's CPU time (all threads, so the expression worker counts). On a shared machine the
 * CPU figure is the sturdy one: it is what an evaluation costs, whatever CPU the process got.
 */
async function measure(evaluate: Evaluate, ms: number): Promise<{ wall: number; cpu: number }> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const end = started + ms;
  let count = 0;
  while (performance.now() < end) {
    const batch: unknown[] = [];
    for (let index = 0; index < IN_FLIGHT; index++) batch.push(evaluate());
    await Promise.all(batch);
    count += IN_FLIGHT;
  }
  const cpu = process.cpuUsage(cpuBefore);
  return {
    wall: count / ((performance.now() - started) / 1000),
    cpu: count / ((cpu.user + cpu.system) / 1e6),
  };
}

/**
 * Mapping alone, in this process: the engine's map step (through the Evaluator exactly as a route
 * runs it: inline and compiled to JS where src/engine/jsonata-compiler covers the expression, else
 * jsonata, else the expression worker pool), jsonata's own evaluation of the same expression
 * ("raw JSONata"), and hand-written TypeScript, alternating several times. Also the step and raw
 * JSONata for a second mapping of the same shape (no `$split`).
 */
export const mappingSuite: Suite = {
  name: "mapping",
  description:
    "15-field mapping: map step (engine's Evaluator + expression pool) vs compiled JSONata vs hand-written TS, evaluations per CPU second",
  async run(settings): Promise<SuiteResult> {
    const pool = new ExpressionPool({ workers: 1, timeoutMs: 1000 });
    const evaluator = new Evaluator(pool);
    const context = {
      evaluate: (expression: string, data: unknown, message: Parameters<Evaluator["evaluate"]>[2]) =>
        evaluator.evaluate(expression, data, message),
    } as unknown as StepContext;
    const step = (expression: string): StepFunction => mapStep.create({ jsonata: expression }, context);
    const stepWorker = step(FLOW_MAPPING_JSONATA);
    const stepInline = step(FLOW_MAPPING_JSONATA_INLINE);
    const raw = jsonata(FLOW_MAPPING_JSONATA);
    const rawInline = jsonata(FLOW_MAPPING_JSONATA_INLINE);
    const signal = new AbortController().signal;
    const order = { ...ORDER, sentAt: Date.now() };
    const message = createMessage({ source: "bench", type: "order", data: order });
    const contenders: Record<string, Evaluate> = {
      "map step": () => stepWorker({ message }, signal),
      "raw JSONata": () => raw.evaluate(order),
      "hand-written TS": () => mapFlowOrder(order),
      "map step (inline variant)": () => stepInline({ message }, signal),
      "raw JSONata (inline variant)": () => rawInline.evaluate(order),
    };
    const turnMs = Math.max(300, (settings.seconds * 1000) / 10);
    const turns = Math.max(3, settings.rounds * 2);
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
    const wallSamples: Record<string, number[]> = Object.fromEntries(
      Object.keys(contenders).map((k) => [k, []]),
    );
    const rounds: unknown[] = [];
    try {
      for (const evaluate of Object.values(contenders)) await measure(evaluate, turnMs); // warm-up
      for (let turn = 1; turn <= turns; turn++) {
        const figures: Record<string, { wall: number; cpu: number }> = {};
        for (const [name, evaluate] of Object.entries(contenders)) {
          figures[name] = await measure(evaluate, turnMs);
          samples[name].push(figures[name].cpu);
          wallSamples[name].push(figures[name].wall);
        }
        rounds.push({ scenario: "mapping", turn, turnMs, evaluations: figures });
        settings.log(
          `   turn ${turn}/${turns} per CPU-s (per wall-s): ${Object.entries(figures)
            .map(([name, value]) => `${name} ${Math.round(value.cpu)} (${Math.round(value.wall)})`)
            .join(", ")}`,
        );
      }
    } finally {
      await pool.close();
    }
    const m = (name: string) => median(samples[name]);
    // the step may cost at most 20 % over raw JSONata: its rate at least 1/1.2 of raw's
    const stepRatio = ratio(m("map step"), m("raw JSONata"));
    const inlineRatio = ratio(m("map step (inline variant)"), m("raw JSONata (inline variant)"));
    const measureName = "evals per CPU-s";
    return {
      rows: [
        row({
          scenario: "mapping: map step",
          measure: measureName,
          junction: m("map step"),
          peerName: "raw JSONata",
          peer: m("raw JSONata"),
          ratio: stepRatio,
          target: "≥ 0.83× (≤ 20 % over raw)",
          met: stepRatio === null ? null : stepRatio >= 1 / 1.2,
        }),
        row({
          scenario: "mapping: map step, inline variant",
          measure: measureName,
          junction: m("map step (inline variant)"),
          peerName: "raw JSONata",
          peer: m("raw JSONata (inline variant)"),
          ratio: inlineRatio,
          target: "≥ 0.83× (≤ 20 % over raw)",
          met: inlineRatio === null ? null : inlineRatio >= 1 / 1.2,
        }),
        row({
          scenario: "mapping: hand-written TS",
          measure: measureName,
          junction: m("map step"),
          peerName: "hand-written TS",
          peer: m("hand-written TS"),
          ratio: ratio(m("map step"), m("hand-written TS")),
        }),
      ],
      rounds,
      failures: [],
    };
  },
};
