import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AMQP_URL,
  type Broker,
  NATS_URL,
  prepareRelay,
  type RelayNames,
  relayNames,
} from "../lib/brokers.js";
import { cpuBetween, cpuSnapshot } from "../lib/cpu.js";
import { type ScenarioConfig, startJunctionIn } from "../lib/junction.js";
import { FLOW_MAPPING_JSONATA } from "../lib/mapping.js";
import { type Child, firstLine, launch, sleep, terminate } from "../lib/process.js";
import { peakRssMb } from "../lib/rss.js";
import { median, ratio } from "../lib/stats.js";
import { row, type Suite, type SuiteSettings } from "../lib/suite.js";

const CONCURRENCY = 64;

/** broker → map (the 15-field JSONata) → the same broker, through Junction's connectors. */
export function relayConfig(broker: Broker, names: RelayNames): ScenarioConfig {
  const from =
    broker === "amqp"
      ? { amqp: { connection: "broker", queue: names.input, prefetch: CONCURRENCY } }
      : { nats: { connection: "broker", stream: names.input, batch: CONCURRENCY } };
  const to =
    broker === "amqp"
      ? { amqp: { connection: "broker", routingKey: names.output } }
      : { nats: { connection: "broker", subject: names.outputSubject } };
  return {
    connections: {
      broker: broker === "amqp" ? { amqp: { url: AMQP_URL } } : { nats: { servers: [NATS_URL] } },
    },
    routes: {
      relay: {
        from,
        steps: [{ map: { jsonata: FLOW_MAPPING_JSONATA } }],
        to: [to],
        concurrency: CONCURRENCY,
      },
    },
  };
}

type RelayContender = "junction" | "client";

interface RelayRound {
  broker: Broker;
  contender: RelayContender;
  round: number;
  messages: number;
  /** In the output when the contender was ready (it may start before readiness is seen). */
  atReady: number;
  arrived: number;
  seconds: number;
  perSecond: number;
  complete: boolean;
  cores: number | null;
  /** The contender's CPU time per relayed message: sturdier than msg/s on a shared machine. */
  cpuMsPerMessage: number | null;
  otherCores: number | null;
  peakRssMb: number | null;
  exit: { code: number | null; signal: string | null; killed: boolean };
}

async function relayRound(
  broker: Broker,
  contender: RelayContender,
  round: number,
  messages: number,
  settings: SuiteSettings,
): Promise<RelayRound> {
  const dir = mkdtempSync(join(tmpdir(), "junction-bench-relay-"));
  const names = relayNames(broker, `${process.pid}-${Date.now().toString(36)}-${contender}`);
  const side = await prepareRelay(broker, names, messages);
  let child: Child | undefined;
  let failed = true;
  try {
    if (contender === "junction") {
      child = (await startJunctionIn(dir, relayConfig(broker, names), settings.nodeArgs)).child;
    } else {
      child = launch(
        `relay-${broker}`,
        process.execPath,
        ["--import", "tsx", join(import.meta.dirname, "..", "peers", `relay-${broker}.ts`)],
        {
          env: {
            INPUT: names.input,
            OUTPUT: names.output,
            OUTPUT_SUBJECT: names.outputSubject,
            CONCURRENCY: String(CONCURRENCY),
          },
          logFile: join(dir, `relay-${broker}.log`),
          pipeStdout: true,
        },
      );
      await firstLine(child, 30_000);
    }
    const started = performance.now();
    const atReady = await side.outputCount();
    const cpuBefore = cpuSnapshot({ contender: child.pid });
    // bounded: the whole backlog must arrive within max(60 s, 6 × BENCH_SECONDS)
    const limitMs = Math.max(60, settings.seconds * 6) * 1000;
    let arrived = atReady;
    while (arrived < messages && performance.now() - started < limitMs) {
      await sleep(50);
      arrived = await side.outputCount();
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuBetween(cpuBefore, cpuSnapshot({ contender: child.pid }));
    const rss = peakRssMb(child.pid);
    const exit = await terminate(child, 30_000);
    failed = exit.code !== 0 || exit.killed;
    return {
      broker,
      contender,
      round,
      messages,
      atReady,
      arrived,
      seconds,
      perSecond: (arrived - atReady) / seconds,
      complete: arrived >= messages,
      cores: cpu.cores.contender ?? null,
      cpuMsPerMessage:
        cpu.cores.contender == null || arrived === atReady
          ? null
          : (cpu.cores.contender * cpu.seconds * 1000) / (arrived - atReady),
      otherCores: cpu.otherCores,
      peakRssMb: rss,
      exit: { code: exit.code, signal: exit.signal ?? null, killed: exit.killed },
    };
  } finally {
    if (child && !child.hasExited()) await terminate(child, 5_000);
    await side.close();
    if (!failed && !settings.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Broker relay: N orders pre-loaded into the input, then the time until all of them are in the
 * output, through Junction (amqp and nats connectors, map step) and through a relay written
 * directly with the same client library; alternating rounds, fresh queues or streams each.
 */
export const brokerRelaySuite: Suite = {
  name: "broker-relay",
  description:
    "RabbitMQ → map → RabbitMQ and JetStream → map → JetStream: Junction against a relay written with rabbitmq-client / @nats-io/jetstream (confirm, then ack)",
  async run(settings) {
    const messages = Math.max(500, Math.round(settings.seconds * 500));
    const rounds: RelayRound[] = [];
    const failures: string[] = [];
    for (const broker of ["amqp", "nats"] as const) {
      for (let index = 1; index <= settings.rounds; index++) {
        for (const contender of ["client", "junction"] as const) {
          const label = `   ${broker} round ${index}/${settings.rounds} ${contender.padEnd(8)}`;
          try {
            const result = await relayRound(broker, contender, index, messages, settings);
            rounds.push(result);
            settings.log(
              `${label} ${result.arrived - result.atReady} of ${messages} in ${result.seconds.toFixed(1)} s after ready (${result.atReady} before): ${Math.round(result.perSecond)}/s, ${result.cores?.toFixed(2)} cores (${result.cpuMsPerMessage?.toFixed(3)} ms CPU/msg) (others ${result.otherCores?.toFixed(2)}), peak RSS ${Math.round(result.peakRssMb ?? 0)} MB${result.complete ? "" : ", INCOMPLETE"}`,
            );
            if (!result.complete)
              failures.push(`${broker} round ${index} ${contender}: ${result.arrived}/${messages} arrived`);
            if (result.exit.code !== 0 || result.exit.killed)
              failures.push(
                `${broker} round ${index} ${contender} exited ${result.exit.code ?? result.exit.signal}`,
              );
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            failures.push(`${broker} round ${index} ${contender}: ${message}`);
            settings.log(`${label} FAILED: ${message}`);
          }
        }
      }
    }
    const rows = (["amqp", "nats"] as const).map((broker) => {
      const m = (contender: RelayContender, pick: (r: RelayRound) => number | null) =>
        median(rounds.filter((r) => r.broker === broker && r.contender === contender).map(pick));
      const r = ratio(
        m("junction", (x) => x.perSecond),
        m("client", (x) => x.perSecond),
      );
      return row({
        scenario: `broker relay: ${broker === "amqp" ? "RabbitMQ" : "NATS JetStream"}`,
        measure: "relayed msg/s",
        junction: m("junction", (x) => x.perSecond),
        peerName: broker === "amqp" ? "rabbitmq-client relay" : "@nats-io/jetstream relay",
        peer: m("client", (x) => x.perSecond),
        ratio: r,
        junctionRssMb: m("junction", (x) => x.peakRssMb),
        peerRssMb: m("client", (x) => x.peakRssMb),
        target: "≥ 0.5× (stretch 0.8×)",
        met: r === null ? null : r >= 0.5,
      });
    });
    return { rows, rounds, failures };
  },
};
