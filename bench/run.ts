/**
 * `npm run bench`: Junction against the ceiling (plain fastify doing the same work without
 * durability), on loopback, every load bounded in time. Each round starts both in fresh processes with
 * a fresh store and alternates short load windows between them; the table reports medians of rounds.
 *
 * Environment: BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_WARMUP (2), BENCH_CONNECTIONS (50),
 * BENCH_DRAIN (30, seconds to wait for the backlog to reach the warehouse), BENCH_SCENARIOS
 * (comma-separated names, default all), BENCH_KEEP=1 (keep the temp dirs), BENCH_SKIP_BUILD=1,
 * BENCH_PROFILE=1 (one Junction round of the first selected scenario under --cpu-prof; prints the
 * hot functions and writes bench/results/profile-<scenario>.json), BENCH_BACKLOG (1000000),
 * BENCH_FLOW_RATE (100, offered req/s of the JSONata flow's fixed-rate latency phase), BENCH_FLOW_INLINE=1
 * (the flow's Junction mapping without $split, evaluated inline instead of in the expression worker),
 * BENCH_SLICES (5: each round of an HTTP scenario, and of the JSONata flow against Node-RED, runs
 * its contenders side by side and alternates the load between them in 5 windows of BENCH_SECONDS / 5,
 * see runInterleavedRound; 1: whole rounds, one contender at a time).
 *
 * After the HTTP scenarios come the suites against other tools (bench/suites: jsonata-flow vs
 * Node-RED, embedded-queue vs BullMQ, broker-relay vs hand-written relays, mapping vs raw JSONata,
 * backlog); one summary table of every scenario ends the run, with each target and whether it is met.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { arch, cpus, platform, release, tmpdir, totalmem } from "node:os";
import { basename, join } from "node:path";
import { buildDist, ROOT } from "./lib/junction.js";
import { ORDER_BODY } from "./lib/order.js";
import { profileFiles, summarizeProfile } from "./lib/profile.js";
import {
  type Contender,
  type RoundOptions,
  type RoundResult,
  runInterleavedRound,
  runRound,
} from "./lib/round.js";
import { median, ratio, round } from "./lib/stats.js";
import { row, type Suite, type SummaryRow } from "./lib/suite.js";
import { table } from "./lib/table.js";
import { durableIngest } from "./scenarios/durable-ingest.js";
import { endToEnd } from "./scenarios/end-to-end.js";
import { endToEndNoJournal } from "./scenarios/end-to-end-no-journal.js";
import type { Scenario } from "./scenarios/scenario.js";
import { backlogSuite } from "./suites/backlog.js";
import { brokerRelaySuite } from "./suites/broker-relay.js";
import { embeddedQueueSuite } from "./suites/embedded-queue.js";
import { jsonataFlowSuite } from "./suites/jsonata-flow.js";
import { mappingSuite } from "./suites/mapping.js";

const ALL: Scenario[] = [endToEnd, endToEndNoJournal, durableIngest];
const SUITES: Suite[] = [jsonataFlowSuite, embeddedQueueSuite, brokerRelaySuite, mappingSuite, backlogSuite];

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}=${raw} is not a number`);
  return value;
}

const settings = {
  rounds: Math.max(1, Math.floor(numberFromEnv("BENCH_ROUNDS", 3))),
  seconds: numberFromEnv("BENCH_SECONDS", 10),
  warmupSeconds: numberFromEnv("BENCH_WARMUP", 2),
  connections: Math.max(1, Math.floor(numberFromEnv("BENCH_CONNECTIONS", 50))),
  drainSeconds: numberFromEnv("BENCH_DRAIN", 30),
  backlog: Math.max(1, Math.floor(numberFromEnv("BENCH_BACKLOG", 1_000_000))),
  slices: Math.floor(numberFromEnv("BENCH_SLICES", 5)),
  bodyBytes: Buffer.byteLength(ORDER_BODY),
};
const keep = process.env.BENCH_KEEP === "1";
const profiling = process.env.BENCH_PROFILE === "1";
const wanted = process.env.BENCH_SCENARIOS?.split(",").map((name) => name.trim());
const scenarios = wanted ? ALL.filter((scenario) => wanted.includes(scenario.name)) : ALL;
const suites = wanted ? SUITES.filter((suite) => wanted.includes(suite.name)) : SUITES;
if (scenarios.length === 0 && suites.length === 0)
  throw new Error(
    `BENCH_SCENARIOS=${process.env.BENCH_SCENARIOS} matches nothing; names: ${[...ALL, ...SUITES].map((s) => s.name).join(", ")}`,
  );

const roundOptions: RoundOptions = {
  seconds: settings.seconds,
  warmupSeconds: settings.warmupSeconds,
  connections: settings.connections,
  drainSeconds: settings.drainSeconds,
  keep,
};

function machine() {
  let commit: string | null = null;
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    // not a git checkout
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGb: round(totalmem() / 2 ** 30, 1),
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    commit,
  };
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const f0 = (value: number | null) => (value === null ? null : Math.round(value));
const f1 = (value: number | null) => round(value, 1);
const f2 = (value: number | null) => round(value, 2);

function describe(result: RoundResult): string {
  const { load } = result;
  const parts = [
    `${Math.round(load.okPerSecond)} req/s`,
    `p50 ${load.latencyMs.p50} ms`,
    `p99 ${load.latencyMs.p99} ms`,
    `peak RSS ${result.peakRssMb === null ? "?" : Math.round(result.peakRssMb)} MB`,
  ];
  const cores = result.cpu.cores[result.contender];
  if (cores !== null && cores !== undefined) {
    parts.push(
      `${cores.toFixed(2)} cores (${result.cpuMsPerMessage?.toFixed(3)} ms CPU/msg), load gen ${result.cpu.loadGeneratorCores.toFixed(2)}, others ${result.cpu.otherCores?.toFixed(2) ?? "?"}`,
    );
  }
  if (load.non2xx || load.errors || load.timeouts)
    parts.push(`non-2xx ${load.non2xx}, errors ${load.errors}, timeouts ${load.timeouts}`);
  if (result.delivery) {
    const d = result.delivery;
    parts.push(
      `delivered ${d.distinct}/${d.accepted} (${Math.round(d.deliveredPerSecond)}/s in window, backlog ${d.backlogAtEnd} → ${d.backlogAfterDrain})`,
    );
  }
  if (result.contender === "junction") {
    parts.push(`exit ${result.exit.code ?? result.exit.signal}${result.exit.killed ? " (killed)" : ""}`);
    if (result.errorLogLines) parts.push(`${result.errorLogLines} error log lines`);
  }
  if (result.dir) parts.push(`kept ${result.dir}`);
  return parts.join(", ");
}

/** A Junction round that did not exit 0 on SIGTERM within 30 s. */
function unclean(result: RoundResult): Failure | undefined {
  if (result.contender !== "junction" || (result.exit.code === 0 && !result.exit.killed)) return undefined;
  return {
    scenario: result.scenario,
    contender: "junction",
    round: result.round,
    error: `exited ${result.exit.code ?? result.exit.signal} after SIGTERM${result.exit.killed ? " (killed after 30 s)" : ""}`,
  };
}

/** Both contenders in one round, the load alternating between them (BENCH_SLICES). */
async function interleavedRound(
  scenario: Scenario,
  index: number,
  results: RoundResult[],
  failures: Failure[],
): Promise<void> {
  const label = (contender: string) => `   round ${index}/${settings.rounds} ${contender.padEnd(8)}`;
  try {
    for (const result of await runInterleavedRound(scenario, index, settings.slices, roundOptions)) {
      results.push(result);
      log(`${label(result.contender)} ${describe(result)} (${settings.slices} alternating windows)`);
      const exitFailure = unclean(result);
      if (exitFailure) failures.push(exitFailure);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Thrown while both ran side by side (starting either, or a window): not one contender's.
    failures.push({ scenario: scenario.name, contender: "both", round: index, error: message });
    log(`${label("both")} FAILED: ${message}`);
  }
}

interface Failure {
  scenario: string;
  contender: Contender | "both";
  round: number;
  error: string;
}

async function profile(scenario: Scenario): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "junction-bench-profile-"));
  log(`profiling one Junction ${scenario.name} round under --cpu-prof (${dir})`);
  const result = await runRound(scenario, "junction", 1, {
    ...roundOptions,
    keep: true,
    dir,
    nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
  });
  log(`junction: ${describe(result)}`);
  reportProfiles(dir, scenario.name, result);
}

/**
 * BENCH_PROFILE=1 with a suite first in BENCH_SCENARIOS: one round of it with Junction's process
 * (every one it starts) under --cpu-prof. A suite starting several Junction processes leaves one
 * profile per process; each is summarised.
 */
async function profileSuite(suite: Suite): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "junction-bench-profile-"));
  log(`profiling one round of ${suite.name} with Junction under --cpu-prof (${dir})`);
  const result = await suite.run({
    ...roundOptions,
    rounds: 1,
    slices: 1,
    backlog: settings.backlog,
    log,
    nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
  });
  log(summaryTable(result.rows));
  for (const failure of result.failures) log(`FAILED: ${failure}`);
  reportProfiles(dir, suite.name, result.rows);
}

function reportProfiles(dir: string, name: string, result: unknown): void {
  const threads = profileFiles(dir).map(({ file, thread }) => ({ thread, ...summarizeProfile(file, 25) }));
  for (const summary of threads) {
    log("");
    log(
      `${basename(summary.file)}: thread ${summary.thread}${summary.thread === 0 ? " (main)" : " (worker)"}: ${Math.round(summary.wallMs)} ms profiled, ${Math.round(summary.idlePercent)}% idle; busy time by area:`,
    );
    log(
      table(
        ["area", "self ms", "% of busy"],
        summary.byArea.slice(0, 12).map((area) => [area.area, f0(area.selfMs), f1(area.percent)]),
      ),
    );
    log("hottest functions by self time:");
    log(
      table(
        ["function", "where", "self ms", "self %", "total %"],
        summary.hot.map((fn) => [fn.name, fn.where, f0(fn.selfMs), f1(fn.selfPercent), f1(fn.totalPercent)]),
      ),
    );
    if (summary.junctionInclusive.length > 0) {
      log("Junction's functions by inclusive time:");
      log(
        table(
          ["function", "where", "total ms", "total %", "self %"],
          summary.junctionInclusive.map((fn) => [
            fn.name,
            fn.where,
            f0(fn.totalMs),
            f1(fn.totalPercent),
            f1(fn.selfPercent),
          ]),
        ),
      );
    }
  }
  const resultsDir = join(ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  const out = join(resultsDir, `profile-${name.replace(/[^a-z0-9]+/gi, "-")}.json`);
  writeFileSync(
    out,
    `${JSON.stringify({ at: new Date().toISOString(), machine: machine(), settings, result, threads }, null, 2)}\n`,
  );
  log(`\nwrote ${out}; profiles in ${dir}`);
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const info = machine();
  log(
    `junction bench: ${info.cpus} × ${info.cpuModel}, ${info.os}, node ${info.node}, commit ${info.commit ?? "?"}`,
  );
  log(
    `${settings.rounds} rounds × ${settings.seconds} s (+${settings.warmupSeconds} s warm-up) per contender${settings.slices >= 2 ? `, both running, load alternating in ${settings.slices} windows a round` : ""}, ${settings.connections} connections, ${settings.bodyBytes}-byte order`,
  );
  let build: { ok: boolean; diagnostics: string } | null = null;
  if (process.env.BENCH_SKIP_BUILD !== "1") {
    log("npm run build …");
    build = buildDist();
    if (!build.ok) {
      const lines = build.diagnostics.split("\n");
      log(`warning: the build reported type errors; running what tsc emitted. First lines:`);
      for (const line of lines.slice(0, 5)) log(`  ${line}`);
    }
  }
  if (profiling) {
    const first = wanted?.[0];
    const suite =
      suites.find((candidate) => candidate.name === first) ??
      (scenarios.length === 0 ? suites[0] : undefined);
    if (suite) await profileSuite(suite);
    else await profile(scenarios[0]);
    return 0;
  }

  const results: RoundResult[] = [];
  const failures: Failure[] = [];
  for (const scenario of scenarios) {
    log("");
    log(`== ${scenario.name}`);
    log(`   junction: ${scenario.junctionShape}`);
    log(`   ceiling:  ${scenario.ceilingShape}`);
    for (let index = 1; index <= settings.rounds; index++) {
      if (settings.slices >= 2) {
        await interleavedRound(scenario, index, results, failures);
        continue;
      }
      for (const contender of ["ceiling", "junction"] as const) {
        const label = `   round ${index}/${settings.rounds} ${contender.padEnd(8)}`;
        try {
          const result = await runRound(scenario, contender, index, roundOptions);
          results.push(result);
          log(`${label} ${describe(result)}`);
          const exitFailure = unclean(result);
          if (exitFailure) failures.push(exitFailure);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          failures.push({ scenario: scenario.name, contender, round: index, error: message });
          log(`${label} FAILED: ${message}`);
        }
      }
    }
  }

  const suiteResults: Record<string, { rows: SummaryRow[]; rounds: unknown[]; failures: string[] }> = {};
  for (const suite of suites) {
    log("");
    log(`== ${suite.name}`);
    log(`   ${suite.description}`);
    try {
      suiteResults[suite.name] = await suite.run({
        ...roundOptions,
        rounds: settings.rounds,
        slices: settings.slices,
        backlog: settings.backlog,
        log,
      });
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      suiteResults[suite.name] = { rows: [], rounds: [], failures: [message] };
    }
    for (const failure of suiteResults[suite.name].failures) {
      failures.push({ scenario: suite.name, contender: "junction", round: 0, error: failure });
      log(`   FAILED: ${failure}`);
    }
  }

  const summaries = scenarios.map((scenario) => summarize(scenario, results));
  if (summaries.length > 0) {
    log("");
    log(
      table(
        [
          "scenario",
          "Junction req/s",
          "ceiling req/s",
          "ratio",
          "paired ratio",
          "J p50 ms",
          "J p99 ms",
          "C p50 ms",
          "C p99 ms",
          "J peak RSS MB",
          "C peak RSS MB",
        ],
        summaries.map((s) => [
          s.scenario,
          f0(s.junction.reqPerSecond),
          f0(s.ceiling.reqPerSecond),
          f2(s.ratio),
          f2(s.pairedRatio),
          f1(s.junction.p50),
          f1(s.junction.p99),
          f1(s.ceiling.p50),
          f1(s.ceiling.p99),
          f0(s.junction.peakRssMb),
          f0(s.ceiling.peakRssMb),
        ]),
      ),
    );
    log("");
    log(
      "CPU (medians): cores used during the measured window ('others' = the rest of the machine); CPU ms per accepted message from warm-up to the end of the drain:",
    );
    log(
      table(
        [
          "scenario",
          "J cores",
          "C cores",
          "J CPU ms/msg",
          "C CPU ms/msg",
          "CPU cost ratio",
          "others J",
          "others C",
        ],
        summaries.map((s) => [
          s.scenario,
          f2(s.junction.cores),
          f2(s.ceiling.cores),
          round(s.junction.cpuMsPerMessage, 3),
          round(s.ceiling.cpuMsPerMessage, 3),
          f2(s.cpuCostRatio),
          f2(s.junction.otherCores),
          f2(s.ceiling.otherCores),
        ]),
      ),
    );
    const deliveries = results.filter((result) => result.delivery);
    if (deliveries.length > 0) {
      log("");
      log("deliveries to the warehouse (end-to-end; accepted = 2xx answers incl. warm-up):");
      log(
        table(
          [
            "round",
            "contender",
            "accepted",
            "delivered",
            "distinct",
            "delivered/s in window",
            "backlog at end",
            "backlog after drain",
            "drain s",
            "all delivered",
          ],
          deliveries.map((result) => {
            const d = result.delivery!;
            return [
              result.round,
              result.contender,
              d.accepted,
              d.delivered,
              d.distinct,
              f0(d.deliveredPerSecond),
              d.backlogAtEnd,
              d.backlogAfterDrain,
              f1(d.drainMs / 1000),
              d.complete ? "yes" : "NO",
            ];
          }),
        ),
      );
      for (const s of summaries.filter((summary) => summary.deliveredRatio !== null)) {
        log(
          `${s.scenario}: delivered during the window (median) Junction ${f0(s.junction.deliveredPerSecond)}/s, ceiling ${f0(s.ceiling.deliveredPerSecond)}/s, ratio ${f2(s.deliveredRatio)}`,
        );
      }
    }
  }
  const summary: SummaryRow[] = [
    ...summaries.map((s) =>
      row({
        scenario: s.scenario,
        measure: "accepted req/s",
        junction: s.junction.reqPerSecond,
        peerName: "fastify ceiling",
        peer: s.ceiling.reqPerSecond,
        ratio: s.ratio,
        junctionLatency: { p50: s.junction.p50, p99: s.junction.p99 },
        peerLatency: { p50: s.ceiling.p50, p99: s.ceiling.p99 },
        junctionRssMb: s.junction.peakRssMb,
        peerRssMb: s.ceiling.peakRssMb,
        ...(s.target
          ? {
              target: `≥ ${s.target.ratio}×`,
              met: s.ratio === null ? null : s.ratio >= s.target.ratio,
            }
          : {}),
      }),
    ),
    ...Object.values(suiteResults).flatMap((result) => result.rows),
  ];
  log("");
  log("summary (medians; ratio = Junction / peer; latencies in ms; peak RSS in MB):");
  log(summaryTable(summary));
  const warnings = results.filter(
    (result) => result.load.non2xx > 0 || result.load.errors > 0 || result.errorLogLines > 0,
  );
  for (const result of warnings) {
    log(
      `note: ${result.scenario} round ${result.round} ${result.contender}: non-2xx ${result.load.non2xx} ${JSON.stringify(result.load.statusCodes)}, socket errors ${result.load.errors}, timeouts ${result.load.timeouts}, error log lines ${result.errorLogLines}`,
    );
  }
  const others = median(results.map((result) => result.cpu.otherCores));
  if (others !== null && others > 0.25) {
    log(
      `note: other work on this machine used a median ${others.toFixed(2)} cores during the measured windows; req/s are depressed and noisy, the CPU cost per message is the sturdier comparison`,
    );
  }
  for (const failure of failures) {
    log(`FAILED: ${failure.scenario} round ${failure.round} ${failure.contender}: ${failure.error}`);
  }

  const finishedAt = new Date();
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    machine: info,
    settings,
    build,
    summary,
    scenarios: summaries,
    suites: suiteResults,
    failures,
    rounds: results,
  };
  const resultsDir = join(ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const stamped = join(resultsDir, `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(join(resultsDir, "latest.json"), json);
  writeFileSync(stamped, json);
  log("");
  log(
    `wrote bench/results/latest.json and ${stamped.slice(ROOT.length)} in ${Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000)} s`,
  );
  return failures.length > 0 ? 1 : 0;
}

const met = (value: boolean | null) => (value === null ? null : value ? "yes" : "NO");
const figure = (value: number | null) =>
  value === null
    ? null
    : Math.abs(value) >= 100
      ? Math.round(value)
      : round(value, Math.abs(value) >= 10 ? 1 : 2);

/** The one table of every scenario: Junction against its peer, and whether the issue's target is met. */
function summaryTable(rows: SummaryRow[]): string {
  return table(
    [
      "scenario",
      "measure",
      "Junction",
      "peer",
      "peer value",
      "ratio",
      "J p50",
      "J p99",
      "P p50",
      "P p99",
      "J RSS",
      "P RSS",
      "target",
      "met",
    ],
    rows.map((r) => [
      r.scenario,
      r.measure,
      figure(r.junction),
      r.peerName ?? "–",
      figure(r.peer),
      r.ratio !== null && r.ratio > 0 && r.ratio < 0.1 ? Number(r.ratio.toPrecision(2)) : f2(r.ratio),
      figure(r.junctionLatency?.p50 ?? null),
      figure(r.junctionLatency?.p99 ?? null),
      figure(r.peerLatency?.p50 ?? null),
      figure(r.peerLatency?.p99 ?? null),
      f0(r.junctionRssMb),
      f0(r.peerRssMb),
      r.target ?? "–",
      met(r.met),
    ]),
  );
}

function summarize(scenario: Scenario, results: RoundResult[]) {
  const side = (contender: Contender) => {
    const rounds = results.filter(
      (result) => result.scenario === scenario.name && result.contender === contender,
    );
    return {
      rounds: rounds.length,
      reqPerSecond: median(rounds.map((result) => result.load.okPerSecond)),
      p50: median(rounds.map((result) => result.load.latencyMs.p50)),
      p99: median(rounds.map((result) => result.load.latencyMs.p99)),
      peakRssMb: median(rounds.map((result) => result.peakRssMb)),
      cores: median(rounds.map((result) => result.cpu.cores[contender])),
      cpuMsPerMessage: median(rounds.map((result) => result.cpuMsPerMessage)),
      otherCores: median(rounds.map((result) => result.cpu.otherCores)),
      deliveredPerSecond: median(rounds.map((result) => result.delivery?.deliveredPerSecond ?? null)),
      backlogAtEnd: median(rounds.map((result) => result.delivery?.backlogAtEnd ?? null)),
      allDelivered: rounds.every((result) => !result.delivery || result.delivery.complete),
    };
  };
  const junction = side("junction");
  const ceiling = side("ceiling");
  // Each Junction round against the ceiling round just before it: drift and noise cancel better.
  const pairs: number[] = [];
  for (const j of results.filter((r) => r.scenario === scenario.name && r.contender === "junction")) {
    const c = results.find(
      (r) => r.scenario === scenario.name && r.contender === "ceiling" && r.round === j.round,
    );
    if (c && c.load.okPerSecond > 0) pairs.push(j.load.okPerSecond / c.load.okPerSecond);
  }
  return {
    scenario: scenario.name,
    junctionShape: scenario.junctionShape,
    ceilingShape: scenario.ceilingShape,
    target: scenario.target,
    junction,
    ceiling,
    ratio: ratio(junction.reqPerSecond, ceiling.reqPerSecond),
    pairedRatio: median(pairs),
    deliveredRatio: ratio(junction.deliveredPerSecond, ceiling.deliveredPerSecond),
    cpuCostRatio: ratio(junction.cpuMsPerMessage, ceiling.cpuMsPerMessage),
  };
}

process.exitCode = await main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  return 1;
});
