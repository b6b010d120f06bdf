import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { eventually, startEngine } from "../../test/helpers/engine.js";
import { Receiver } from "../../test/helpers/receiver.js";
import { serviceTest } from "../../test/helpers/services.js";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string } }[];
}

/** An OTLP/HTTP receiver: collects every exported span. */
async function otlpReceiver() {
  const spans: OtlpSpan[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      const payload = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const resource of payload.resourceSpans)
        for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    spans,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    close: () => server.close(),
  };
}

test("one trace runs from the incoming request through a channel to the HTTP sink, exported over OTLP", {
  timeout: 120_000,
}, async () => {
  const otlp = await otlpReceiver();
  const warehouse = await new Receiver().start();
  const running = await startEngine(
    `
channels:
  orders: { topic: {} }
routes:
  intake:
    from: { webhook: { path: /orders } }
    steps: [ { map: { jsonata: '$' } } ]
    to: [ { channel: orders } ]
  deliver:
    from: { channel: orders }
    to: [ { http: { url: "${warehouse.url}/shipments" } } ]
`,
    { engine: `  tracing: { otlp: { endpoint: "${otlp.url}" }, serviceName: junction-test }` },
  );
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const clientSpan = "00f067aa0ba902b7";
  const response = await fetch(`${running.url}/orders`, {
    method: "POST",
    body: JSON.stringify({ orderId: 1 }),
    headers: { "content-type": "application/json", traceparent: `00-${traceId}-${clientSpan}-01` },
  });
  assert.equal(response.status, 202);
  const delivered = await eventually(() => warehouse.requests[0], 5000, "delivery");
  assert.match(
    String(delivered.headers.traceparent),
    new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`),
    "the sink sees the same trace",
  );
  await running.stop(); // flushes the span processor
  const spans = await eventually(
    () => (otlp.spans.length >= 4 ? otlp.spans : undefined),
    5000,
    "spans exported",
  );
  const byName = new Map(spans.map((span) => [span.name, span]));
  const receive = byName.get("receive intake")!;
  const process1 = byName.get("process intake")!;
  const process2 = byName.get("process deliver")!;
  const send = byName.get("send to[0]:http")!;
  for (const span of [receive, process1, process2, send]) {
    assert.ok(span, `span present: ${[...byName.keys()].join(", ")}`);
    assert.equal(span.traceId, traceId, `${span.name} is in the client's trace`);
  }
  assert.equal(receive.parentSpanId, clientSpan);
  assert.equal(process1.parentSpanId, receive.spanId);
  assert.equal(process2.parentSpanId, process1.spanId, "the channel hop continues the trace");
  assert.equal(send.parentSpanId, process2.spanId);
  assert.equal(
    String(delivered.headers.traceparent).split("-")[2],
    send.spanId,
    "the sink's parent is the send span",
  );
  const attribute = (span: OtlpSpan, key: string) =>
    span.attributes.find((a) => a.key === key)?.value.stringValue;
  assert.equal(attribute(send, "messaging.operation.type"), "send");
  assert.equal(attribute(process2, "messaging.destination.name"), "deliver");
  assert.equal(attribute(receive, "messaging.system"), "junction");
  otlp.close();
  await warehouse.close();
});

test("the trace crosses RabbitMQ too: webhook → channel → AMQP → AMQP source → HTTP sink is one trace", {
  ...(await serviceTest("rabbitmq")),
  timeout: 180_000,
}, async () => {
  const otlp = await otlpReceiver();
  const warehouse = await new Receiver().start();
  const queue = `junction.trace.${Date.now().toString(36)}`;
  const running = await startEngine(
    `
connections:
  rabbit: { amqp: { url: "amqp://guest:guest@127.0.0.1:5672", topology: { queues: [ { name: "${queue}", durable: false } ] } } }
channels:
  orders: { queue: {} }
routes:
  intake:
    from: { webhook: { path: /orders } }
    to: [ { channel: orders } ]
  to-broker:
    from: { channel: orders }
    to: [ { amqp: { connection: rabbit, routingKey: "${queue}" } } ]
  from-broker:
    from: { amqp: { connection: rabbit, queue: "${queue}" } }
    to: [ { http: { url: "${warehouse.url}/shipments" } } ]
`,
    { engine: `  tracing: { otlp: { endpoint: "${otlp.url}" } }` },
  );
  const traceId = "0af7651916cd43dd8448eb211c80319c";
  try {
    const response = await fetch(`${running.url}/orders`, {
      method: "POST",
      body: JSON.stringify({ orderId: 2 }),
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-b7ad6b7169203331-01` },
    });
    assert.equal(response.status, 202);
    const delivered = await eventually(() => warehouse.requests[0], 15_000, "delivery through RabbitMQ");
    assert.equal(
      String(delivered.headers.traceparent).split("-")[1],
      traceId,
      "the sink is in the client's trace",
    );
  } finally {
    await running.stop();
  }
  const names = await eventually(
    () => {
      const inTrace = otlp.spans.filter((span) => span.traceId === traceId).map((span) => span.name);
      return inTrace.includes("send to[0]:http") && inTrace.includes("receive from-broker")
        ? inTrace
        : undefined;
    },
    5000,
    "spans of every hop in one trace",
  );
  for (const name of [
    "receive intake",
    "process to-broker",
    "send to[0]:amqp",
    "receive from-broker",
    "process from-broker",
    "send to[0]:http",
  ]) {
    assert.ok(names.includes(name), `${name} in the trace: ${names.join(", ")}`);
  }
  const byName = new Map(
    otlp.spans.filter((span) => span.traceId === traceId).map((span) => [span.name, span]),
  );
  assert.equal(
    byName.get("receive from-broker")!.parentSpanId,
    byName.get("send to[0]:amqp")!.spanId,
    "the broker hop links send to receive",
  );
  otlp.close();
  await warehouse.close();
});
