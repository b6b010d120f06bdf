/**
 * Fill a store with COUNT queued messages of about 500 bytes on channel `orders` (a queue, its one
 * subscription named like it, as the engine names it), in batched commits through the store API, with
 * nothing consuming. Prints `{ seconds, perSecond, bodyBytes }`.
 */
import { createMessage } from "../../src/api/message.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";

const path = process.env.STORE;
if (!path) throw new Error("STORE=<path> is required");
const count = Number(process.env.COUNT ?? 1_000_000);
const batch = Number(process.env.BATCH_SIZE ?? 5000);
const CHANNEL = "orders";

const store = new SqliteStore({ path, durability: "process" });
store.declareChannel({ name: CHANNEL, kind: "queue", retentionMs: 0 });
store.subscribe(CHANNEL, CHANNEL);

const note = "x".repeat(120);
const message = (index: number) =>
  createMessage({
    source: "bench/backlog",
    type: "order",
    data: {
      orderId: `A-${index}`,
      customerId: `C-${index % 5000}`,
      total: index % 997,
      currency: "EUR",
      note,
    },
  });

const bodyBytes = Buffer.byteLength(JSON.stringify(message(0)));
const started = performance.now();
for (let index = 0; index < count; index += batch) {
  const appends = [];
  for (let i = index; i < Math.min(count, index + batch); i++)
    appends.push({ channel: CHANNEL, message: message(i), partitionKey: null });
  await store.commit({ appends });
}
const seconds = (performance.now() - started) / 1000;
await store.close();
process.stdout.write(`${JSON.stringify({ seconds, perSecond: count / seconds, bodyBytes })}\n`);
