/**
 * The hand-written JetStream relay Junction is measured against: @nats-io/jetstream, a durable pull
 * consumer on stream INPUT, CONCURRENCY in flight, map in TypeScript, publish to OUTPUT_SUBJECT and
 * wait for the PubAck, then ack. Prints `{"ready":true}` once consuming; SIGTERM stops it.
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NATS_URL } from "../lib/brokers.js";
import { type FlowOrder, mapFlowOrder } from "../lib/mapping.js";

const input = process.env.INPUT ?? "";
const outputSubject = process.env.OUTPUT_SUBJECT ?? "";
const concurrency = Number(process.env.CONCURRENCY ?? 64);

const nc = await connect({ servers: NATS_URL, name: "junction-bench-relay" });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
await jsm.consumers.add(input, {
  durable_name: "relay",
  ack_policy: AckPolicy.Explicit,
  max_ack_pending: 1000,
});
const consumer = await js.consumers.get(input, "relay");
const messages = await consumer.consume({ max_messages: concurrency });
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

let inFlight = 0;
let freed: (() => void) | undefined;
let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
  void messages
    .close()
    .then(() => nc.drain())
    .then(() => process.exit(0));
});
for await (const message of messages) {
  while (inFlight >= concurrency) await new Promise<void>((resolve) => (freed = resolve));
  inFlight++;
  void (async () => {
    try {
      const order = message.json<FlowOrder>();
      await js.publish(outputSubject, JSON.stringify(mapFlowOrder(order)));
      message.ack();
    } catch (error) {
      if (!stopping) process.stderr.write(`${error}\n`);
      message.nak();
    } finally {
      inFlight--;
      freed?.();
    }
  })();
}
