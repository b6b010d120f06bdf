/**
 * The embedded store's share of the end-to-end scenario, without HTTP: each cycle claims up to HALF
 * deliveries and, in one commit group, acknowledges the HALF claimed the cycle before (two journal
 * hops each, as the delivery route writes them) and appends HALF new webhook messages (one hop each).
 * With TRAFFIC=ingest, the share of the durable-ingest scenario instead: HALF webhook appends a commit
 * group to a channel nothing consumes. Prints CPU (all threads, and the main thread alone) and wall µs
 * per message.
 *
 * Wall time on a shared VM moves by ±30 %; instructions move less, with V8's helper threads off, but
 * the checkpointer thread's timing still moves them (by 1–5 % in sessions 7–9, by up to 12 % in
 * session 10: 304–343 k per message for one build): run each side several times, alternating.
 *
 *   N=2000 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *     node --single-threaded --import tsx bench/tools/store-traffic.ts
 *
 * once with N=2000 and once with N=8000; (instructions(8000) - instructions(2000)) / 6000 is the cost
 * of one message, start-up excluded. Environment: N (messages, 20000), HALF (32), TRAFFIC
 * (end-to-end, or ingest).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMessage } from "../../src/api/message.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Delivery } from "../../src/store/store.js";
import { clockTicks, statTicks } from "../lib/cpu.js";
import { ORDER_BODY } from "../lib/order.js";

const HALF = Number(process.env.HALF ?? 32);
const N = Number(process.env.N ?? 20_000);
const INGEST_ONLY = process.env.TRAFFIC === "ingest";
const HEADERS = {
  host: "127.0.0.1:3000",
  "content-type": "application/json",
  "user-agent": "autocannon",
  connection: "keep-alive",
};

const dir = mkdtempSync(join(tmpdir(), "junction-store-traffic-"));
const store = new SqliteStore({ path: join(dir, "store.db"), durability: "process" });
store.declareChannel({ name: "orders", kind: "queue", retentionMs: 0 });
if (!INGEST_ONLY) store.subscribe("orders", "orders");

/** CPU ms of the main thread alone (the checkpointer has its own thread), from /proc. */
function mainThreadCpuMs(): number {
  return ((statTicks(`/proc/self/task/${process.pid}/stat`) ?? Number.NaN) * 1000) / clockTicks();
}

/** What the webhook route commits per request: the body parsed, and its text kept as the data. */
function ingest() {
  const message = createMessage({
    source: "shop",
    type: "junction.webhook",
    headers: HEADERS,
    datacontenttype: "application/json",
    data: JSON.parse(ORDER_BODY),
  });
  const { id: messageId, correlationId } = message;
  return store.commit({
    appends: [{ channel: "orders", message, partitionKey: null, dataJson: ORDER_BODY }],
    journal: [
      {
        messageId,
        correlationId,
        route: "orders-in",
        step: "from:webhook",
        outcome: "received",
        durationMs: 0,
      },
    ],
  });
}

/** What the delivery route commits once the HTTP sink confirmed. */
function acknowledge(delivery: Delivery) {
  const base = {
    messageId: delivery.message.id,
    correlationId: delivery.message.correlationId,
    route: "orders-to-warehouse",
  };
  return store.commit({
    acks: [delivery.deliveryId],
    journal: [
      { ...base, step: "to[0]:http", outcome: "sent", durationMs: 2.85 },
      { ...base, step: null, outcome: "processed", durationMs: 2.9 },
    ],
  });
}

try {
  await Promise.all(Array.from({ length: HALF * 4 }, ingest));
  let held = INGEST_ONLY ? [] : await store.claim("orders", HALF, 60_000);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const mainBefore = mainThreadCpuMs();
  let done = 0;
  while (done < N) {
    if (INGEST_ONLY) {
      await Promise.all(Array.from({ length: HALF }, ingest));
      done += HALF;
      continue;
    }
    const next = await store.claim("orders", HALF, 60_000);
    await Promise.all([...held.map(acknowledge), ...Array.from({ length: HALF }, ingest)]);
    done += held.length;
    held = next;
  }
  const cpu = process.cpuUsage(cpuBefore);
  const mainMs = mainThreadCpuMs() - mainBefore;
  const wallMs = performance.now() - started;
  process.stdout.write(
    `${done} messages: ${((cpu.user + cpu.system) / done).toFixed(1)} µs CPU (all threads), ${((mainMs * 1000) / done).toFixed(1)} µs main thread, ${((wallMs * 1000) / done).toFixed(1)} µs wall per message\n`,
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
