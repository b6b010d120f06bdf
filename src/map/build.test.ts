import assert from "node:assert/strict";
import { test } from "node:test";
import { buildMap, systemOf } from "./build.js";
import { summarizeJournal } from "./figures.js";
import { example, modelOf } from "./test-helpers.js";

const links = (map: ReturnType<typeof buildMap>) =>
  map.links.map((link) => `${link.from} -> ${link.to} ${link.pattern}`).sort();

test("nodes are systems (owner, owns, needs), channels and routes; edges follow the data", () => {
  const map = buildMap(example("hub.yaml"));
  const shop = map.nodes.find((node) => node.id === "system:shop");
  assert.deepEqual(
    { kind: shop?.kind, owner: shop?.owner, owns: shop?.owns, needs: shop?.needs, declared: shop?.declared },
    { kind: "system", owner: "web-team", owns: ["order"], needs: [], declared: true },
  );
  const orders = map.nodes.find((node) => node.id === "channel:orders");
  assert.equal(orders?.channelKind, "topic");
  assert.equal(orders?.partitionBy, "customerId");
  assert.equal(map.nodes.find((node) => node.id === "channel:payments")?.channelKind, "queue");
  assert.equal(map.nodes.filter((node) => node.kind === "route").length, 7);

  const edges = map.edges.map((edge) => `${edge.kind} ${edge.from} -> ${edge.to}`);
  assert.ok(edges.includes("source system:shop -> route:shop-orders-in"));
  assert.ok(edges.includes("publish route:shop-orders-in -> channel:orders"));
  assert.ok(edges.includes("subscribe channel:orders -> route:orders-to-crm"));
  assert.ok(edges.includes("sink route:orders-to-crm -> system:crm"));
  assert.ok(edges.includes("sink route:payments-to-billing -> system:billing"));
});

test("links: through a topic is publish-subscribe, through a queue or direct is point-to-point", () => {
  assert.deepEqual(links(buildMap(example("hub.yaml"))), [
    "system:psp -> system:billing point-to-point",
    "system:shop -> system:billing publish-subscribe",
    "system:shop -> system:crm publish-subscribe",
    "system:shop -> system:erp publish-subscribe",
    "system:shop -> system:warehouse publish-subscribe",
  ]);
  const viaQueue = buildMap(example("hub.yaml")).links.find((link) => link.from === "system:psp");
  assert.deepEqual(viaQueue?.paths, [
    { via: ["route:psp-payments-in", "channel:payments", "route:payments-to-billing"] },
  ]);
  assert.deepEqual(viaQueue?.routes, ["payments-to-billing", "psp-payments-in"]);
  assert.equal(links(buildMap(example("mesh.yaml"))).length, 6);
});

test("enrich steps are request-reply edges and links, from every system whose data reaches them", () => {
  const map = buildMap(example("sync-chain.yaml"));
  const requests = map.edges.filter((edge) => edge.kind === "request");
  assert.deepEqual(
    requests.map((edge) => `${edge.route} ${edge.step} -> ${edge.to}`),
    [
      "checkout-prepare steps[0]:enrich -> system:crm",
      "checkout-prepare steps[1]:enrich -> system:pricing",
      "orders-fulfil steps[0]:enrich -> system:inventory",
      "orders-fulfil steps[1]:enrich -> system:risk",
    ],
  );
  assert.equal(requests[0].path, "routes.checkout-prepare.steps[0].enrich.with");
  assert.equal(requests[0].connection, "crm-api");
  assert.deepEqual(links(map), [
    "system:shop -> system:crm request-reply",
    "system:shop -> system:inventory request-reply",
    "system:shop -> system:pricing request-reply",
    "system:shop -> system:risk request-reply",
    "system:shop -> system:warehouse point-to-point",
  ]);
});

test("a switch's targets are conditional sink edges; components without a system become endpoints", () => {
  const model = modelOf(`
systems:
  shop: {}
  eu-warehouse: {}
  us-warehouse: {}
connections:
  eu: { http: { baseUrl: "http://127.0.0.1:9001" }, system: eu-warehouse }
  us: { http: { baseUrl: "http://127.0.0.1:9002" }, system: us-warehouse }
  audit-api: { http: { baseUrl: "http://127.0.0.1:9003" } }
routes:
  split-by-region:
    from: { webhook: { path: /orders, system: shop } }
    steps:
      - switch:
          cases:
            - when: 'region = "eu"'
              to: [{ http: { connection: eu, path: /orders, idempotencyKey: "{{ $message.id }}" } }]
          otherwise: { to: [{ http: { connection: us, path: /orders, idempotencyKey: "{{ $message.id }}" } }] }
    to: [{ http: { connection: audit-api, path: /audit } }, { log: {} }]
`);
  const map = buildMap(model);
  const sinks = map.edges.filter((edge) => edge.kind === "sink");
  assert.deepEqual(
    sinks.map((edge) => [edge.to, edge.conditional ?? false, edge.path]),
    [
      ["system:eu-warehouse", true, "routes.split-by-region.steps[0].switch.cases[0].to[0]"],
      ["system:us-warehouse", true, "routes.split-by-region.steps[0].switch.otherwise.to[0]"],
      ["endpoint:connection/audit-api", false, "routes.split-by-region.to[0]"],
      ["endpoint:split-by-region/to[1]", false, "routes.split-by-region.to[1]"],
    ],
  );
  const endpoint = map.nodes.find((node) => node.id === "endpoint:connection/audit-api");
  assert.equal(endpoint?.label, "http (audit-api)");
  assert.deepEqual(links(map), [
    "system:shop -> system:eu-warehouse point-to-point",
    "system:shop -> system:us-warehouse point-to-point",
  ]);
});

test("a component's own system wins over its connection's; systems only named are undeclared", () => {
  const model = modelOf(`
routes:
  r:
    from: { generate: { interval: 1h, system: legacy } }
    to: [{ log: {} }]
`);
  assert.deepEqual(systemOf({ system: "a", connection: "x" }, model), { system: "a", connection: "x" });
  const map = buildMap(model);
  const legacy = map.nodes.find((node) => node.id === "system:legacy");
  assert.equal(legacy?.declared, false);
  assert.equal(map.edges[0].from, "system:legacy");
});

test("buildMap is a pure function of the model: same map twice, the model untouched", () => {
  const model = example("outage.yaml");
  const before = JSON.stringify(model);
  assert.deepEqual(buildMap(model), buildMap(model));
  assert.equal(JSON.stringify(model), before);
  // Connection URLs (which may hold credentials) never reach the map.
  assert.doesNotMatch(
    JSON.stringify(buildMap(example("shared-database.yaml"))),
    /db\.internal|postgres:\/\//,
  );
});

test("figures annotate routes, edges and the links they carry", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  const hop = (minutesAgo: number, route: string, step: string | null, outcome: any) => ({
    at: at(minutesAgo),
    messageId: `m${Math.random()}`,
    correlationId: "c",
    route,
    step,
    outcome,
    durationMs: 1,
  });
  const hops = [
    ...Array.from({ length: 30 }, (_, i) => hop(i % 10, "orders-to-warehouse", "to[0]:http", "sent")),
    ...Array.from({ length: 30 }, (_, i) => hop(i % 10, "orders-to-warehouse", null, "processed")),
    hop(2, "orders-to-warehouse", "to[0]:http", "retry"),
    hop(3, "orders-to-warehouse", "to[0]:http", "retry"),
    hop(1, "orders-to-finance", "steps[0]:enrich", "dead-lettered"),
    hop(1, "orders-to-finance", null, "processed"),
    hop(60, "orders-to-crm", "to[0]:http", "sent"),
  ];
  const figures = summarizeJournal(hops, { now, windowMinutes: 15 });
  const map = buildMap(example("outage.yaml"), figures);
  const route = map.nodes.find((node) => node.id === "route:orders-to-warehouse")?.figures;
  assert.deepEqual(route, {
    rate: 2,
    errorRate: Math.round((2 / 32) * 10000) / 10000,
    messages: 30,
    attempts: 32,
    retries: 2,
    deadLettered: 0,
    lastSeen: at(0),
  });
  const warehouse = map.links.find((link) => link.to === "system:warehouse");
  assert.equal(warehouse?.figures?.messages, 30);
  assert.equal(warehouse?.figures?.retries, 2);
  const enrich = map.edges.find((edge) => edge.kind === "request");
  assert.equal(enrich?.figures?.deadLettered, 1);
  assert.equal(enrich?.figures?.errorRate, 0.5);
  const crm = map.nodes.find((node) => node.id === "route:orders-to-crm")?.figures;
  assert.equal(crm?.rate, 0, "outside the window: no rate");
  assert.equal(crm?.lastSeen, at(60), "but last seen all the same");
  assert.equal(map.figures?.windowMinutes, 15);
});
