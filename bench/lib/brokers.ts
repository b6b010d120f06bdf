/**
 * The brokers of the relay scenario, from the bench's side: make an input and an output (queue or
 * stream) under unique names, pre-load the input, count what arrived in the output, delete both.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Connection } from "rabbitmq-client";
import { flowOrderBody } from "./mapping.js";

export const AMQP_URL = "amqp://guest:guest@127.0.0.1:5672";
export const NATS_URL = "nats://127.0.0.1:4222";

export type Broker = "amqp" | "nats";

/** Names of one relay: AMQP queues, or JetStream streams with one subject each. */
export interface RelayNames {
  input: string;
  output: string;
  inputSubject: string;
  outputSubject: string;
}

export function relayNames(broker: Broker, tag: string): RelayNames {
  if (broker === "amqp")
    return { input: `jb.${tag}.in`, output: `jb.${tag}.out`, inputSubject: "", outputSubject: "" };
  const id = tag.replace(/[^A-Za-z0-9]/g, "_");
  return {
    input: `JB_${id}_IN`,
    output: `JB_${id}_OUT`,
    inputSubject: `jb.${id}.in`,
    outputSubject: `jb.${id}.out`,
  };
}

export interface BrokerSide {
  /** Messages stored in the output (ready messages in the queue, messages in the stream). */
  outputCount(): Promise<number>;
  close(): Promise<void>;
}

/** Create input and output, pre-load `count` orders into the input (confirmed), and watch the output. */
export async function prepareRelay(broker: Broker, names: RelayNames, count: number): Promise<BrokerSide> {
  const body = () => flowOrderBody(Date.now());
  if (broker === "amqp") {
    const connection = new Connection({ url: AMQP_URL, connectionName: "junction-bench", retryLow: 100 });
    connection.on("error", () => {});
    await connection.onConnect(10_000);
    await connection.queueDeclare({ queue: names.input, durable: true });
    await connection.queueDeclare({ queue: names.output, durable: true });
    const publisher = connection.createPublisher({ confirm: true, maxAttempts: 1 });
    for (let index = 0; index < count; index += 500) {
      const chunk = Array.from({ length: Math.min(500, count - index) }, () =>
        publisher.send({ routingKey: names.input, durable: true, contentType: "application/json" }, body()),
      );
      await Promise.all(chunk);
    }
    await publisher.close();
    return {
      async outputCount() {
        return (await connection.queueDeclare({ queue: names.output, passive: true })).messageCount;
      },
      async close() {
        for (const queue of [names.input, names.output])
          await connection.queueDelete({ queue }).catch(() => {});
        await connection.close();
      },
    };
  }
  const nc = await connect({ servers: NATS_URL, name: "junction-bench", reconnect: false });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: names.input, subjects: [names.inputSubject] });
  await jsm.streams.add({ name: names.output, subjects: [names.outputSubject] });
  for (let index = 0; index < count; index += 500) {
    const chunk = Array.from({ length: Math.min(500, count - index) }, () =>
      js.publish(names.inputSubject, body()),
    );
    await Promise.all(chunk);
  }
  return {
    async outputCount() {
      return (await jsm.streams.info(names.output)).state.messages;
    },
    async close() {
      for (const stream of [names.input, names.output]) await jsm.streams.delete(stream).catch(() => {});
      await nc.close();
    },
  };
}
