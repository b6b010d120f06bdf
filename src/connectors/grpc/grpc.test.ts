import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import jsonata from "jsonata";
import { eventually, type RunningEngine, startEngine, tempDir } from "../../../test/helpers/engine.js";
import { Receiver } from "../../../test/helpers/receiver.js";
import type { ComponentContext } from "../../api/component.js";
import { ConfigError, ConnectionError, DeliveryRejectedError, TimeoutError } from "../../api/errors.js";
import { silentLogger } from "../../observe/logger.js";
import { classifyGrpcError, GrpcCaller } from "./client.js";
import { loadMethod } from "./proto.js";
import { headersFromMetadata } from "./source.js";

const PROTO = readFileSync(new URL("./fixtures/orders.proto", import.meta.url), "utf8");
const SERVICE = "shop.orders.v1.OrderService";

/** A free TCP port on loopback (for the gRPC source, which binds its own listener). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A real grpc-js OrderService: Create (unary) can be told to fail; ListLines streams three lines. */
class OrderPeer {
  readonly calls: { method: string; request: any; metadata: Record<string, unknown> }[] = [];
  /** UNAVAILABLE answers still to give, per order id. */
  readonly unavailable = new Map<string, number>();
  readonly #server = new Server();
  address = "";

  async start(): Promise<this> {
    const { service } = loadMethod(
      { proto: "orders.proto", service: SERVICE, method: "Create" },
      this.#dir(),
      "peer",
    );
    this.#server.addService(service, {
      Create: (
        call: ServerUnaryCall<any, any>,
        callback: (error: Partial<ServiceError> | null, reply?: unknown) => void,
      ) => {
        this.calls.push({ method: "Create", request: call.request, metadata: call.metadata.getMap() });
        const { orderId } = call.request;
        const left = this.unavailable.get(orderId) ?? 0;
        if (left > 0) {
          this.unavailable.set(orderId, left - 1);
          callback({ code: status.UNAVAILABLE, details: "orders database restarting" });
        } else if (String(orderId).startsWith("BAD")) {
          callback({ code: status.INVALID_ARGUMENT, details: `order ${orderId} has no lines` });
        } else {
          callback(null, { id: `C-${orderId}`, status: "CREATED" });
        }
      },
      ListLines: (call: ServerWritableStream<any, any>) => {
        this.calls.push({ method: "ListLines", request: call.request, metadata: call.metadata.getMap() });
        for (let n = 1; n <= 3; n++)
          call.write({ sku: `${call.request.orderId}-L${n}`, quantity: n, price: n * 1.5 });
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    this.address = `127.0.0.1:${port}`;
    return this;
  }

  #dir(): string {
    return tempDir({ "orders.proto": PROTO });
  }

  close(): void {
    this.#server.forceShutdown();
  }
}

describe("grpc connector against a grpc-js peer", () => {
  let running: RunningEngine;
  let peer: OrderPeer;
  let receiver: Receiver;
  let slow: Receiver;
  let sourcePort: number;
  let busyPort: number;
  let client: Client;
  const create = loadMethod(
    { proto: "orders.proto", service: SERVICE, method: "Create" },
    tempDir({ "orders.proto": PROTO }),
    "test",
  );

  before(async () => {
    peer = await new OrderPeer().start();
    receiver = await new Receiver().start();
    slow = await new Receiver().start();
    slow.delayMs = 800;
    sourcePort = await freePort();
    busyPort = await freePort();
    running = await startEngine(
      `
policies:
  fast: { retry: { attempts: 4, initial: 10ms, max: 50ms }, deadLetter: true }
routes:
  order-enrich:
    from: { webhook: { path: /enrich } }
    steps:
      - enrich:
          with: { grpc: { proto: orders.proto, service: ${SERVICE}, method: Create, address: "${peer.address}", input: '{ "orderId": orderId, "customerId": customer }' } }
          into: created
      - enrich:
          with: { grpc: { proto: orders.proto, service: ${SERVICE}, method: ListLines, address: "${peer.address}", input: '{ "orderId": orderId }' } }
          into: lines
    to: [ { http: { url: "${receiver.url}/enriched" } } ]
  order-create:
    from: { webhook: { path: /create } }
    policy: fast
    to:
      - grpc:
          proto: orders.proto
          service: ${SERVICE}
          method: Create
          address: "${peer.address}"
          metadata: { x-tenant: "{{ tenant }}" }
          timeout: 2s
  orders-in:
    from: { grpc: { listen: "127.0.0.1:${sourcePort}", proto: orders.proto, service: ${SERVICE}, method: Create, system: shop } }
    to: [ { http: { url: "${receiver.url}/from-grpc" } } ]
  orders-busy:
    concurrency: 1
    maxDepth: 1
    from:
      grpc:
        listen: "127.0.0.1:${busyPort}"
        proto: orders.proto
        service: ${SERVICE}
        method: Create
        reply: '{ "id": $message.id, "status": "ACCEPTED:" & orderId }'
    to: [ { http: { url: "${slow.url}/busy" } } ]
`,
      { files: { "orders.proto": PROTO } },
    );
    client = new Client(`127.0.0.1:${sourcePort}`, credentials.createInsecure());
  });

  after(async () => {
    client.close();
    await running.stop();
    peer.close();
    await receiver.close();
    await slow.close();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${running.url}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", ...headers },
    });
    assert.equal(response.status, 202);
    return ((await response.json()) as { id: string }).id;
  };

  const trace = async (id: string) =>
    ((await (await fetch(`${running.adminUrl}/api/trace/${id}`)).json()) as { hops: any[] }).hops;

  /** Call Junction's Create with a raw request body, answering the reply, its status and its header metadata. */
  const callJunction = (
    target: Client,
    request: Buffer,
    metadata = new Metadata(),
  ): Promise<{ error: ServiceError | null; reply: any; headers: Metadata | undefined }> =>
    new Promise((resolve) => {
      let headers: Metadata | undefined;
      const call = target.makeUnaryRequest(
        create.definition.path,
        (value: Buffer) => value,
        create.definition.responseDeserialize,
        request,
        metadata,
        { deadline: Date.now() + 5000 },
        (error, reply) => resolve({ error, reply, headers }),
      );
      call.on("metadata", (received) => {
        headers = received;
      });
    });

  test("enrich: a unary reply and the collected server stream are merged into the data; metadata carries trace, correlation and message id", async () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const id = await post(
      "/enrich",
      { orderId: "SO-1", customer: "CU-7" },
      { "x-correlation-id": "corr-grpc-1", traceparent },
    );
    const delivered = await eventually(
      () =>
        receiver.requests.find((request) => request.url === "/enriched" && request.headers["ce-id"] === id),
      5000,
      "the enriched message",
    );
    assert.deepEqual(JSON.parse(delivered.body), {
      orderId: "SO-1",
      customer: "CU-7",
      created: { id: "C-SO-1", status: "CREATED" },
      lines: [
        { sku: "SO-1-L1", quantity: 1, price: 1.5 },
        { sku: "SO-1-L2", quantity: 2, price: 3 },
        { sku: "SO-1-L3", quantity: 3, price: 4.5 },
      ],
    });
    const call = peer.calls.find((c) => c.method === "Create" && c.request.orderId === "SO-1")!;
    assert.equal(call.request.customerId, "CU-7");
    assert.equal(call.metadata["x-correlation-id"], "corr-grpc-1");
    assert.equal(call.metadata["ce-id"], id);
    assert.match(String(call.metadata.traceparent), /^00-4bf92f3577b34da6a3ce929d0e0e4736-/);
  });

  test("sink: UNAVAILABLE is retried, then the order is created once", async () => {
    peer.unavailable.set("SO-FLAKY", 1);
    const id = await post("/create", { orderId: "SO-FLAKY", customerId: "CU-1", tenant: "acme" });
    await eventually(async () => (await trace(id)).some((hop) => hop.outcome === "sent"), 5000, "delivery");
    const calls = peer.calls.filter((c) => c.method === "Create" && c.request.orderId === "SO-FLAKY");
    assert.equal(calls.length, 2);
    assert.equal(calls[1].metadata["x-tenant"], "acme");
    const retry = (await trace(id)).find((hop) => hop.outcome === "retry");
    assert.equal(retry.error.code, "JUNCTION_GRPC_UNAVAILABLE");
    assert.equal(retry.error.retryable, true);
  });

  test("sink: INVALID_ARGUMENT is permanent: one call, then a dead letter with the status", async () => {
    const id = await post("/create", { orderId: "BAD-1", customerId: "CU-1", tenant: "acme" });
    const dead = await eventually(
      async () =>
        (await running.engine.store.deadLetters({ route: "order-create" })).find((d) => d.message.id === id),
      5000,
      "the dead letter",
    );
    assert.equal(dead.error.code, "JUNCTION_GRPC_INVALID_ARGUMENT");
    assert.equal(dead.error.retryable, false);
    assert.equal(dead.error.details?.status, "INVALID_ARGUMENT");
    assert.match(String(dead.error.details?.details), /has no lines/);
    assert.equal(peer.calls.filter((c) => c.request.orderId === "BAD-1").length, 1);
  });

  test("source: the caller gets { id } only after the commit; its correlation id reaches the http sink", async () => {
    const metadata = new Metadata();
    metadata.set("x-correlation-id", "corr-from-grpc");
    metadata.set("traceparent", "00-11112222333344445555666677778888-1111222233334444-01");
    metadata.set("x-tenant", "acme");
    metadata.set("authorization", "Bearer secret");
    const request = create.definition.requestSerialize({
      orderId: "SO-42",
      customerId: "CU-9",
      lines: [{ sku: "A", quantity: 2 }],
    });
    const { error, reply, headers } = await callJunction(client, request, metadata);
    assert.equal(error, null);
    const id = reply.id as string;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(headers?.get("junction-message-id")[0], id);
    // Stored before the answer: the journal already has the intake.
    assert.ok((await trace(id)).some((hop) => hop.outcome === "received"));
    const delivered = await eventually(
      () => receiver.requests.find((r) => r.url === "/from-grpc" && r.headers["ce-id"] === id),
      5000,
      "the message at the http sink",
    );
    assert.equal(delivered.headers["x-correlation-id"], "corr-from-grpc");
    assert.match(String(delivered.headers.traceparent), /^00-11112222333344445555666677778888-/);
    assert.equal(delivered.headers["ce-source"], "shop");
    assert.equal(delivered.headers["ce-type"], `${SERVICE}.Create`);
    assert.deepEqual(JSON.parse(delivered.body), {
      orderId: "SO-42",
      customerId: "CU-9",
      lines: [{ sku: "A", quantity: 2, price: 0 }],
    });
    const [stored] = await running.engine.store.deadLetters({ route: "orders-in", ids: [id] });
    assert.equal(stored, undefined);
  });

  test("source: a request that cannot be decoded is answered INVALID_ARGUMENT and kept as a dead letter with its bytes", async () => {
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff]);
    const { error } = await callJunction(client, garbage);
    assert.equal(error?.code, status.INVALID_ARGUMENT);
    assert.match(String(error?.details), /could not be decoded.*dead letter/);
    const [dead] = await running.engine.store.deadLetters({
      route: "orders-in",
      code: "JUNCTION_GRPC_UNDECODABLE",
    });
    assert.equal(dead.message.data, garbage.toString("base64"));
    assert.equal(dead.message.headers["junction-raw-encoding"], "base64");
    assert.equal(dead.error.retryable, false);
  });

  test("source: a full route answers RESOURCE_EXHAUSTED with retry-after; a custom reply expression is used", async () => {
    const busy = new Client(`127.0.0.1:${busyPort}`, credentials.createInsecure());
    try {
      const outcomes: { error: ServiceError | null; reply: any }[] = [];
      for (let n = 0; n < 5 && !outcomes.some((o) => o.error); n++) {
        const request = create.definition.requestSerialize({ orderId: `SO-B${n}` });
        outcomes.push(await callJunction(busy, request));
      }
      assert.equal(outcomes[0].error, null);
      assert.equal(outcomes[0].reply.status, "ACCEPTED:SO-B0");
      const refused = outcomes.find((o) => o.error)!;
      assert.ok(refused, "some call was refused");
      assert.equal(refused.error!.code, status.RESOURCE_EXHAUSTED);
      assert.equal(refused.error!.metadata.get("retry-after")[0], "1");
    } finally {
      busy.close();
    }
  });
});

/** A component context without an engine: JSONata evaluated in-process. */
function fakeContext(configDir: string): ComponentContext {
  return {
    owner: "test",
    configDir,
    logger: silentLogger(),
    connection: () => {
      throw new Error("no connections");
    },
    httpServer: () => {
      throw new Error("no http");
    },
    evaluate: async (expression, data, message) => jsonata(expression).evaluate(data, { message }),
    render: async (template) => template,
  };
}

describe("grpc connector configuration and errors", () => {
  const config = { proto: "orders.proto", service: SERVICE, method: "Create", address: "127.0.0.1:1" };

  test("a missing proto, service or method is a startup error that names it", () => {
    assert.throws(
      () => new GrpcCaller({ ...config, proto: "protos/missing.proto" }, fakeContext(tempDir())),
      (error: unknown) =>
        error instanceof ConfigError && /proto file not found: protos\/missing\.proto/.test(error.message),
    );
    const dir = tempDir({ "orders.proto": PROTO });
    assert.throws(
      () => new GrpcCaller({ ...config, service: "OrderService" }, fakeContext(dir)),
      (error: unknown) =>
        error instanceof ConfigError && /it has: shop\.orders\.v1\.OrderService/.test(error.message),
    );
    assert.throws(
      () => new GrpcCaller({ ...config, method: "Cancel" }, fakeContext(dir)),
      (error: unknown) =>
        error instanceof ConfigError && /"Cancel" is not in .*it has: Create, ListLines/.test(error.message),
    );
  });

  test("an unreachable server is a retryable UNAVAILABLE naming the address", async () => {
    const caller = new GrpcCaller(
      { ...config, timeout: "2s" },
      fakeContext(tempDir({ "orders.proto": PROTO })),
    );
    const { createMessage } = await import("../../api/message.js");
    await assert.rejects(
      caller.call(
        createMessage({ source: "t", type: "t", data: { orderId: "X" } }),
        AbortSignal.timeout(5000),
      ),
      (error: unknown) =>
        error instanceof ConnectionError &&
        error.code === "JUNCTION_GRPC_UNAVAILABLE" &&
        /127\.0\.0\.1:1/.test(error.message),
    );
    await caller.close();
  });

  test("metadata becomes headers, without credentials, transport or binary entries", () => {
    const metadata = new Metadata();
    metadata.set("x-correlation-id", "c-1");
    metadata.set("x-tenant", "acme");
    metadata.set("authorization", "Bearer secret");
    metadata.set("grpc-timeout", "5S");
    metadata.set("trace-bin", Buffer.from([1, 2]));
    assert.deepEqual(headersFromMetadata(metadata), { "x-correlation-id": "c-1", "x-tenant": "acme" });
  });

  test("status codes map to retryable and permanent errors", () => {
    const call = { method: `${SERVICE}/Create`, address: "x:1" };
    const error = (code: number) => Object.assign(new Error("failed"), { code, details: "why" });
    assert.ok(classifyGrpcError(error(status.DEADLINE_EXCEEDED), call) instanceof TimeoutError);
    for (const code of [status.UNAVAILABLE, status.RESOURCE_EXHAUSTED, status.ABORTED, status.INTERNAL]) {
      assert.ok(classifyGrpcError(error(code), call) instanceof ConnectionError, `status ${code} retries`);
    }
    for (const code of [
      status.INVALID_ARGUMENT,
      status.NOT_FOUND,
      status.ALREADY_EXISTS,
      status.PERMISSION_DENIED,
      status.FAILED_PRECONDITION,
      status.UNIMPLEMENTED,
    ]) {
      const mapped = classifyGrpcError(error(code), call);
      assert.ok(mapped instanceof DeliveryRejectedError, `status ${code} is permanent`);
      assert.equal(mapped.retryable, false);
    }
    const throttled = Object.assign(error(status.RESOURCE_EXHAUSTED), { metadata: new Metadata() });
    throttled.metadata.set("retry-after", "3");
    assert.equal(classifyGrpcError(throttled, call).retryAfterMs, 3000);
  });
});
