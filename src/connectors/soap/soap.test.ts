import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import jsonata from "jsonata";
import * as soap from "soap";
import { eventually, type RunningEngine, startEngine, tempDir } from "../../../test/helpers/engine.js";
import { Receiver } from "../../../test/helpers/receiver.js";
import type { ComponentContext } from "../../api/component.js";
import { ConfigError, ConnectionError, DeliveryRejectedError, TimeoutError } from "../../api/errors.js";
import { createMessage } from "../../api/message.js";
import { builtinRegistry } from "../../builtins.js";
import { formatIssue } from "../../config/issues.js";
import { parseYaml } from "../../config/load.js";
import { Engine } from "../../engine/engine.js";
import { silentLogger } from "../../observe/logger.js";
import { classifySoapError, faultKind, SoapCaller } from "./client.js";

const WSDL = readFileSync(new URL("./fixtures/stock.wsdl", import.meta.url), "utf8");

/** A real SOAP service (node-soap's server) with a StockService whose ReserveStock can be told to fault. */
class StockServer {
  readonly calls: { operation: string; args: any; headers: IncomingHttpHeaders }[] = [];
  /** Server faults still to answer, per order id. */
  readonly serverFaults = new Map<string, number>();
  delayMs = 0;
  #server: Server = createServer((_request, response) => {
    response.statusCode = 404;
    response.end();
  });
  url = "";

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/stock`;
    soap.listen(
      this.#server,
      "/stock",
      {
        StockService: {
          StockPort: {
            GetStock: async (args: any, _callback: unknown, _headers: unknown, request: any) => {
              this.calls.push({ operation: "GetStock", args, headers: request.headers });
              if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
              return { sku: args.sku, quantity: args.sku === "TEA-01" ? 12 : 0, warehouse: "W1" };
            },
            ReserveStock: (args: any, _callback: unknown, _headers: unknown, request: any) => {
              this.calls.push({ operation: "ReserveStock", args, headers: request.headers });
              const faults = this.serverFaults.get(args.orderId) ?? 0;
              if (faults > 0) {
                this.serverFaults.set(args.orderId, faults - 1);
                throw { Fault: { faultcode: "soap:Server", faultstring: "stock database unavailable" } };
              }
              if (String(args.sku).startsWith("UNKNOWN")) {
                throw {
                  Fault: {
                    faultcode: "soap:Client",
                    faultstring: `unknown sku ${args.sku}`,
                    detail: { sku: args.sku },
                  },
                };
              }
              return { reservationId: `R-${args.orderId}` };
            },
          },
        },
      },
      WSDL,
    );
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

describe("soap connector against a node-soap server", () => {
  let running: RunningEngine;
  let service: StockServer;
  let receiver: Receiver;

  before(async () => {
    service = await new StockServer().start();
    receiver = await new Receiver().start();
    running = await startEngine(
      `
policies:
  fast: { retry: { attempts: 4, initial: 10ms, max: 50ms }, deadLetter: true }
routes:
  stock-enrich:
    from: { webhook: { path: /enrich } }
    steps:
      - enrich:
          with: { soap: { wsdl: stock.wsdl, endpoint: "${service.url}", operation: GetStock, input: '{ "sku": sku }' } }
          into: stock
    to: [ { http: { url: "${receiver.url}/enriched" } } ]
  reserve:
    from: { webhook: { path: /reserve } }
    policy: fast
    to:
      - soap:
          wsdl: stock.wsdl
          endpoint: "${service.url}"
          service: StockService
          port: StockPort
          operation: ReserveStock
          input: '{ "orderId": orderId, "sku": sku, "quantity": qty }'
          headers: { x-tenant: "{{ tenant }}" }
`,
      { files: { "stock.wsdl": WSDL } },
    );
  });

  after(async () => {
    await running.stop();
    await service.close();
    await receiver.close();
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

  test("enrich calls GetStock with the mapped input and merges the result; correlation id and traceparent go as HTTP headers", async () => {
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const id = await post(
      "/enrich",
      { sku: "TEA-01", qty: 2 },
      { "x-correlation-id": "corr-soap-1", traceparent },
    );
    const delivered = await eventually(
      () => receiver.requests.find((request) => request.headers["ce-id"] === id),
      5000,
      "the enriched message",
    );
    assert.deepEqual(JSON.parse(delivered.body), {
      sku: "TEA-01",
      qty: 2,
      stock: { sku: "TEA-01", quantity: 12, warehouse: "W1" },
    });
    const call = service.calls.find((c) => c.operation === "GetStock" && c.args.sku === "TEA-01")!;
    assert.deepEqual(call.args, { sku: "TEA-01" });
    assert.equal(call.headers["x-correlation-id"], "corr-soap-1");
    assert.equal(call.headers["ce-id"], id);
    assert.match(String(call.headers.traceparent), /^00-0af7651916cd43dd8448eb211c80319c-/);
    assert.match(String(call.headers.soapaction), /GetStock/);
  });

  test("a Server fault is retried, then the reservation succeeds", async () => {
    service.serverFaults.set("SO-RETRY", 2);
    const id = await post("/reserve", { orderId: "SO-RETRY", sku: "TEA-01", qty: 3, tenant: "acme" });
    await eventually(
      async () => {
        const hops = (await (await fetch(`${running.adminUrl}/api/trace/${id}`)).json()) as { hops: any[] };
        return hops.hops.some((hop) => hop.outcome === "sent");
      },
      5000,
      "the reservation after two faults",
    );
    const calls = service.calls.filter(
      (c) => c.operation === "ReserveStock" && c.args.orderId === "SO-RETRY",
    );
    assert.equal(calls.length, 3);
    assert.deepEqual(calls[2].args, { orderId: "SO-RETRY", sku: "TEA-01", quantity: 3 });
    assert.equal(calls[2].headers["x-tenant"], "acme");
    const hops = (await (await fetch(`${running.adminUrl}/api/trace/${id}`)).json()) as { hops: any[] };
    const retry = hops.hops.find((hop) => hop.outcome === "retry");
    assert.equal(retry.error.code, "JUNCTION_SOAP_SERVER_FAULT");
    assert.equal(retry.error.retryable, true);
    assert.deepEqual(await running.engine.store.deadLetters({ route: "reserve", ids: [id] }), []);
  });

  test("a Client fault is permanent: one call, then a dead letter with faultcode and faultstring", async () => {
    const id = await post("/reserve", { orderId: "SO-BAD", sku: "UNKNOWN-9", qty: 1, tenant: "acme" });
    const [dead] = await eventually(
      async () => {
        const letters = await running.engine.store.deadLetters({ route: "reserve" });
        return letters.filter((letter) => letter.message.id === id).length ? letters : undefined;
      },
      5000,
      "the dead letter",
    );
    assert.equal(dead.error.code, "JUNCTION_SOAP_CLIENT_FAULT");
    assert.equal(dead.error.retryable, false);
    assert.equal(dead.error.details?.faultcode, "soap:Client");
    assert.equal(dead.error.details?.faultstring, "unknown sku UNKNOWN-9");
    assert.match(String(dead.error.details?.detail), /UNKNOWN-9/);
    assert.equal(service.calls.filter((c) => c.args.orderId === "SO-BAD").length, 1);
  });
});

/** Start an engine that is expected to fail, and release what it opened before the failure. */
async function startFailing(yaml: string, files: Record<string, string> = {}): Promise<void> {
  const dir = tempDir(files);
  const text = `${yaml}\nengine: { store: { sqlite: { path: store.db } }, http: { listen: "127.0.0.1:0" } }\n`;
  const { model, issues } = parseYaml(text, join(dir, "junction.yaml"), builtinRegistry(), process.env);
  if (!model) throw new Error(issues.map(formatIssue).join("\n"));
  const engine = new Engine({ model, registry: builtinRegistry(), logger: silentLogger() });
  try {
    await engine.start();
  } finally {
    await engine.stop();
  }
}

describe("soap connector configuration", () => {
  test("a missing WSDL file stops the engine from starting, naming the file", async () => {
    await assert.rejects(
      startFailing(`
routes:
  r:
    from: { webhook: { path: /x } }
    to: [ { soap: { wsdl: wsdl/missing.wsdl, operation: GetStock } } ]
`),
      (error: unknown) =>
        error instanceof ConfigError && /WSDL file not found: wsdl\/missing\.wsdl/.test(error.message),
    );
  });

  test("an operation the WSDL does not have is a startup error listing the ones it has", async () => {
    await assert.rejects(
      startFailing(
        `
routes:
  r:
    from: { webhook: { path: /x } }
    to: [ { soap: { wsdl: stock.wsdl, operation: CancelStock } } ]
`,
        { "stock.wsdl": WSDL },
      ),
      (error: unknown) =>
        error instanceof ConfigError &&
        /operation "CancelStock" is not in the WSDL stock\.wsdl \(it has: GetStock, ReserveStock\)/.test(
          error.message,
        ),
    );
  });

  test("a WSDL importing a remote schema is refused instead of fetched", async () => {
    const remote = WSDL.replace(
      '<xsd:schema targetNamespace="http://example.com/stock" elementFormDefault="qualified">',
      '<xsd:schema targetNamespace="http://example.com/stock" elementFormDefault="qualified"><xsd:include schemaLocation="http://127.0.0.1:1/remote.xsd"/>',
    );
    const caller = new SoapCaller(
      { wsdl: "stock.wsdl", operation: "GetStock", endpoint: "http://127.0.0.1:1/stock" },
      fakeContext(tempDir({ "stock.wsdl": remote })),
    );
    await assert.rejects(
      caller.call(createMessage({ source: "t", type: "t", data: { sku: "A" } }), AbortSignal.timeout(5000)),
      (error: unknown) => error instanceof ConfigError && /never fetches WSDL parts/.test(error.message),
    );
    await caller.close();
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

describe("soap calls without an engine", () => {
  let service: StockServer;
  before(async () => {
    service = await new StockServer().start();
  });
  after(() => service.close());

  test("the endpoint of the WSDL is used unless overridden; an unreachable endpoint is retryable", async () => {
    const caller = new SoapCaller(
      { wsdl: "stock.wsdl", operation: "GetStock" },
      fakeContext(tempDir({ "stock.wsdl": WSDL })),
    );
    assert.equal(caller.endpoint, "http://127.0.0.1:9100/stock");
    const closed = new SoapCaller(
      { wsdl: "stock.wsdl", operation: "GetStock", endpoint: "http://127.0.0.1:1/stock" },
      fakeContext(tempDir({ "stock.wsdl": WSDL })),
    );
    await assert.rejects(
      closed.call(createMessage({ source: "t", type: "t", data: { sku: "A" } }), AbortSignal.timeout(5000)),
      (error: unknown) =>
        error instanceof ConnectionError &&
        error.code === "JUNCTION_SOAP_UNREACHABLE" &&
        /127\.0\.0\.1:1/.test(error.message),
    );
    await caller.close();
    await closed.close();
  });

  test("a slow service is a retryable timeout; the answer of a fast one is the result object", async () => {
    const caller = new SoapCaller(
      { wsdl: "stock.wsdl", operation: "GetStock", endpoint: service.url, timeout: "150ms" },
      fakeContext(tempDir({ "stock.wsdl": WSDL })),
    );
    const message = createMessage({ source: "t", type: "t", data: { sku: "TEA-01" } });
    assert.deepEqual(await caller.call(message, AbortSignal.timeout(5000)), {
      sku: "TEA-01",
      quantity: 12,
      warehouse: "W1",
    });
    service.delayMs = 400;
    try {
      await assert.rejects(
        caller.call(message, AbortSignal.timeout(5000)),
        (error: unknown) =>
          error instanceof TimeoutError && error.code === "JUNCTION_SOAP_TIMEOUT" && error.retryable,
      );
    } finally {
      service.delayMs = 0;
      await caller.close();
    }
  });
});

describe("soap 1.2 and basic authentication", () => {
  const WSDL12 = WSDL.replace(
    'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"',
    'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap12/"',
  );
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((_request, response) => {
    response.statusCode = 404;
    response.end();
  });
  let url = "";

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stock`;
    soap.listen(
      server,
      "/stock",
      {
        StockService: {
          StockPort: {
            GetStock: (args: any, _callback: unknown, _headers: unknown, request: any) => {
              seen.push(request.headers);
              return { sku: args.sku, quantity: 3, warehouse: "W2" };
            },
            ReserveStock: (args: any) => {
              const value = args.sku === "BUSY" ? "soap:Receiver" : "soap:Sender";
              throw {
                Fault: { Code: { Value: value }, Reason: { Text: `refused ${args.sku}` }, statusCode: 500 },
              };
            },
          },
        },
      },
      WSDL12,
    );
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test("a port bound with soap12 is called with SOAP 1.2 envelopes; Receiver faults retry, Sender faults do not", async () => {
    const dir = tempDir({ "stock12.wsdl": WSDL12 });
    const message = createMessage({
      source: "t",
      type: "t",
      data: { orderId: "O-1", sku: "BUSY", quantity: 1 },
    });
    const get = new SoapCaller(
      {
        wsdl: "stock12.wsdl",
        operation: "GetStock",
        endpoint: url,
        basicAuth: { username: "junction", password: "s3cret" },
      },
      fakeContext(dir),
    );
    assert.equal(get.target.soap12, true);
    assert.deepEqual(await get.call(message, AbortSignal.timeout(5000)), {
      sku: "BUSY",
      quantity: 3,
      warehouse: "W2",
    });
    assert.match(String(seen[0]["content-type"]), /^application\/soap\+xml/);
    assert.equal(seen[0].authorization, `Basic ${Buffer.from("junction:s3cret").toString("base64")}`);
    const reserve = new SoapCaller(
      { wsdl: "stock12.wsdl", operation: "ReserveStock", endpoint: url },
      fakeContext(dir),
    );
    await assert.rejects(
      reserve.call(message, AbortSignal.timeout(5000)),
      (error: unknown) =>
        error instanceof ConnectionError &&
        error.code === "JUNCTION_SOAP_SERVER_FAULT" &&
        error.details?.faultcode === "soap:Receiver",
    );
    await assert.rejects(
      reserve.call(
        { ...message, data: { orderId: "O-2", sku: "NOPE", quantity: 1 } },
        AbortSignal.timeout(5000),
      ),
      (error: unknown) =>
        error instanceof DeliveryRejectedError &&
        error.details?.faultcode === "soap:Sender" &&
        error.details?.faultstring === "refused NOPE",
    );
    await get.close();
    await reserve.close();
  });
});

describe("soap error classification", () => {
  const call = { operation: "ReserveStock", endpoint: "http://svc/stock", timedOut: false, timeoutMs: 1000 };
  const fault = (body: unknown, status = 500) =>
    Object.assign(new Error("fault"), {
      root: { Envelope: { Body: { Fault: body } } },
      response: { status },
    });

  test("fault codes: Server/Receiver retry, Client/Sender and others do not", () => {
    assert.equal(faultKind("soap:Server"), "server");
    assert.equal(faultKind("SOAP-ENV:Server.Database"), "server");
    assert.equal(faultKind("env:Receiver"), "server");
    assert.equal(faultKind("soap:Client"), "client");
    assert.equal(faultKind("env:Sender"), "client");
    assert.equal(faultKind("soap:MustUnderstand"), "other");
  });

  test("SOAP 1.2 faults keep their code and reason", () => {
    const receiver = classifySoapError(
      fault({ Code: { Value: "env:Receiver" }, Reason: { Text: { $value: "try later" } } }),
      call,
    );
    assert.ok(receiver instanceof ConnectionError);
    assert.equal(receiver.details?.faultcode, "env:Receiver");
    assert.equal(receiver.details?.faultstring, "try later");
    const sender = classifySoapError(
      fault({ Code: { Value: "env:Sender" }, Reason: { Text: "bad sku" } }, 400),
      call,
    );
    assert.ok(sender instanceof DeliveryRejectedError);
    assert.equal(sender.code, "JUNCTION_SOAP_CLIENT_FAULT");
    assert.equal(sender.details?.faultstring, "bad sku");
    assert.equal(sender.details?.status, 400);
  });

  test("HTTP status without a fault: 5xx retry, 4xx do not; network errors retry", () => {
    const http = (status: number) =>
      Object.assign(new Error("Error http status codes"), { response: { status }, body: "oops" });
    assert.ok(classifySoapError(http(503), call) instanceof ConnectionError);
    assert.equal(classifySoapError(http(503), call).code, "JUNCTION_SOAP_503");
    assert.ok(classifySoapError(http(404), call) instanceof DeliveryRejectedError);
    assert.ok(classifySoapError(http(429), call).retryable);
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    assert.equal(classifySoapError(refused, call).code, "JUNCTION_SOAP_UNREACHABLE");
    assert.ok(classifySoapError(refused, { ...call, timedOut: true }) instanceof TimeoutError);
  });
});
