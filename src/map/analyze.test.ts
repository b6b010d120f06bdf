import assert from "node:assert/strict";
import { test } from "node:test";
import {
  analyze,
  analyzeConnections,
  analyzeImpact,
  analyzeSharedDatabases,
  analyzeSilentFailures,
  analyzeSurvival,
  analyzeSyncChains,
  databaseOf,
  formatDuration,
  retryHorizon,
  UnknownSystemError,
} from "./analyze.js";
import { buildMap } from "./build.js";
import { summarizeJournal } from "./figures.js";
import { formatAnalysis } from "./format-analysis.js";
import { example, modelOf } from "./test-helpers.js";

const HOUR = 3_600_000;
const mapOf = (name: string) => buildMap(example(name));

// 1. Connections ----------------------------------------------------------------------------------

test("mesh.yaml: 4 systems fully meshed point to point, every one a hot spot", () => {
  const result = analyzeConnections(example("mesh.yaml"), mapOf("mesh.yaml"));
  assert.equal(result.connections, 4);
  assert.equal(result.systems, 4);
  assert.deepEqual(result.links, { total: 6, pointToPoint: 6, publishSubscribe: 0, requestReply: 0 });
  assert.equal(result.pointToPointPairs, 6);
  assert.deepEqual(
    result.hotspots.map((hotspot) => hotspot.system),
    ["billing", "crm", "erp", "shop"],
  );
  const shop = result.hotspots.find((hotspot) => hotspot.system === "shop")!;
  assert.deepEqual(shop.outgoing, ["billing", "crm", "erp"]);
  assert.match(shop.suggestion, /topic/);
  const billing = result.hotspots.find((hotspot) => hotspot.system === "billing")!;
  assert.deepEqual(billing.incoming, ["crm", "erp", "shop"]);
  assert.match(billing.suggestion, /hub/);
  assert.equal(result.meshes.length, 1);
  assert.deepEqual(result.meshes[0].systems, ["billing", "crm", "erp", "shop"]);
  assert.equal(result.meshes[0].pairs, 6);
  assert.equal(result.meshes[0].hubLinks, 4);
  assert.ok(result.meshes[0].reasons.length > 0);
});

test("hub.yaml: through a topic and a queue, no hot spot and no mesh", () => {
  const result = analyzeConnections(example("hub.yaml"), mapOf("hub.yaml"));
  assert.equal(result.connections, 5);
  assert.deepEqual(result.links, { total: 5, pointToPoint: 1, publishSubscribe: 4, requestReply: 0 });
  assert.deepEqual(result.hotspots, []);
  assert.deepEqual(result.meshes, []);
});

test("needs and coverage: what a system needs but no route brings; systems no flow touches", () => {
  const shared = analyzeConnections(example("shared-database.yaml"), mapOf("shared-database.yaml"));
  assert.deepEqual(
    shared.unmetNeeds.map((need) => [need.system, need.data, need.owners]),
    [
      ["billing", "customer", ["crm"]],
      ["warehouse", "stock", ["erp"]],
    ],
  );
  assert.deepEqual(shared.unlinked, ["billing", "warehouse"]);
  for (const name of ["mesh.yaml", "hub.yaml", "outage.yaml", "sync-chain.yaml"]) {
    const result = analyzeConnections(example(name), mapOf(name));
    assert.deepEqual([result.unmetNeeds, result.unlinked, result.endpoints], [[], [], []], name);
  }
});

test("the fan-out threshold is a parameter", () => {
  const result = analyzeConnections(example("mesh.yaml"), mapOf("mesh.yaml"), 4);
  assert.deepEqual(result.hotspots, []);
  assert.equal(result.meshes.length, 1, "a mesh is a mesh whatever the fan-out threshold");
});

// 2. Impact ---------------------------------------------------------------------------------------

test("outage.yaml, tax down: the enrich route breaks at once, the sink route is only delayed", () => {
  const impact = analyzeImpact(example("outage.yaml"), mapOf("outage.yaml"), "tax");
  assert.deepEqual(
    impact.breaksAtOnce.map((item) => [item.route, item.path]),
    [["orders-to-finance", "routes.orders-to-finance.steps[0].enrich.with"]],
  );
  assert.deepEqual(impact.breaksAtOnce[0].collateral, ["finance"]);
  assert.deepEqual(
    impact.delayed.map((item) => [item.route, item.buffer]),
    [["finance-to-tax", "the route's durable inbox"]],
  );
  assert.deepEqual(impact.noNewInput, []);
  assert.deepEqual(impact.starved, []);
  assert.deepEqual(impact.affectedRoutes, ["finance-to-tax", "orders-to-finance"]);
  assert.deepEqual(impact.affectedSystems, ["finance"]);
  assert.deepEqual(impact.affectedApis, []);
  assert.deepEqual(impact.touchpoints.connections, ["tax-api"]);
  assert.equal(impact.owner, "tax-vendor");
  assert.match(impact.reasons.join("\n"), /breaks at once: orders-to-finance/);
});

test("outage.yaml, shop down: its webhook route gets no new input, nothing breaks", () => {
  const impact = analyzeImpact(example("outage.yaml"), mapOf("outage.yaml"), "shop");
  assert.deepEqual(impact.breaksAtOnce, []);
  assert.deepEqual(impact.delayed, []);
  assert.deepEqual(
    impact.noNewInput.map((item) => item.route),
    ["shop-orders-in"],
  );
});

test("outage.yaml, warehouse down: the breaker pauses the route; its buffer is the topic subscription", () => {
  const impact = analyzeImpact(example("outage.yaml"), mapOf("outage.yaml"), "warehouse");
  assert.deepEqual(
    impact.delayed.map((item) => [item.route, item.buffer]),
    [["orders-to-warehouse", "channel orders (topic, subscription orders-to-warehouse)"]],
  );
  assert.match(impact.delayed[0].reason, /circuit breaker \(policy patient\)/);
});

test("sync-chain.yaml, pricing down: the caller breaks, everything downstream starves", () => {
  const impact = analyzeImpact(example("sync-chain.yaml"), mapOf("sync-chain.yaml"), "pricing");
  assert.deepEqual(
    impact.breaksAtOnce.map((item) => item.route),
    ["checkout-prepare"],
  );
  assert.deepEqual(
    impact.starved.map((item) => item.route),
    ["orders-fulfil"],
  );
  assert.deepEqual(impact.affectedSystems, ["crm", "inventory", "risk", "warehouse"]);
});

test("a route that writes to a channel and to the failing system holds its channel output back", () => {
  const model = modelOf(`
systems: { shop: {}, crm: {}, erp: {} }
connections:
  crm-api: { http: { baseUrl: "http://127.0.0.1:9001" }, system: crm }
  erp-api: { http: { baseUrl: "http://127.0.0.1:9002" }, system: erp }
channels:
  orders: { queue: {} }
routes:
  in:
    from: { webhook: { path: /orders, system: shop } }
    to: [{ http: { connection: crm-api, path: /orders, idempotencyKey: "{{ $message.id }}" } }, { channel: orders }]
  out:
    from: { channel: orders }
    to: [{ http: { connection: erp-api, path: /orders, idempotencyKey: "{{ $message.id }}" } }]
`);
  const impact = analyzeImpact(model, buildMap(model), "crm");
  assert.equal(impact.delayed.length, 1);
  assert.deepEqual(impact.delayed[0].collateral, ["erp"]);
  assert.match(impact.delayed[0].reason, /written only once every target confirmed/);
});

test("an unknown system is an error naming the known ones", () => {
  assert.throws(
    () => analyze(example("outage.yaml"), mapOf("outage.yaml"), { down: "taxes" }),
    (error: unknown) => error instanceof UnknownSystemError && /not in the map.*tax/.test(error.message),
  );
});

// 3. Survival -------------------------------------------------------------------------------------

test("retry horizons: default 15 s (5 attempts from 1 s, x2), patient 2m7s, stubborn 7h31m, maxElapsed caps", () => {
  const model = example("outage.yaml");
  const horizon = (route: string) => retryHorizon(model, model.routes[route]);
  assert.deepEqual(
    [horizon("finance-to-tax").ceilingMs, horizon("finance-to-tax").expectedMs],
    [15_000, 7_500],
  );
  assert.equal(formatDuration(horizon("orders-to-warehouse").ceilingMs), "2m7s");
  assert.equal(formatDuration(horizon("orders-to-finance").ceilingMs), "7h31m");
  assert.equal(horizon("orders-to-finance").expectedMs, horizon("orders-to-finance").ceilingMs, "no jitter");
  const capped = modelOf(`
policies:
  capped: { retry: { attempts: 50, initial: 1m, max: 1h, maxElapsed: 3h } }
routes:
  r: { from: { generate: { interval: 1h } }, to: [{ log: {} }], policy: capped }
`);
  assert.equal(retryHorizon(capped, capped.routes.r).ceilingMs, 3 * HOUR);
});

test("outage.yaml, tax down 2h: the stubborn enrich route survives, the default sink dead-letters", () => {
  const survival = analyzeSurvival(example("outage.yaml"), mapOf("outage.yaml"), "tax", 2 * HOUR);
  assert.deepEqual(
    survival.routes.map((item) => [item.route, item.relation, item.verdict]),
    [
      ["orders-to-finance", "request", "survives"],
      ["finance-to-tax", "sink", "dead-letters"],
    ],
  );
  assert.match(survival.routes[1].reason, /junction dlq replay --route finance-to-tax/);
});

test("outage.yaml, tax down 12h: the stubborn route dead-letters too", () => {
  const survival = analyzeSurvival(example("outage.yaml"), mapOf("outage.yaml"), "tax", 12 * HOUR);
  assert.deepEqual(
    survival.routes.map((item) => item.verdict),
    ["dead-letters", "dead-letters"],
  );
});

test("outage.yaml, warehouse down 2h: the circuit breaker pauses the route, 30 messages at worst", () => {
  const survival = analyzeSurvival(example("outage.yaml"), mapOf("outage.yaml"), "warehouse", 2 * HOUR);
  assert.equal(survival.routes.length, 1);
  assert.equal(survival.routes[0].verdict, "survives");
  assert.deepEqual(survival.routes[0].breaker, {
    from: "policy patient",
    halfOpenAfterMs: 30_000,
    trials: 240,
    deadLetterUpTo: 30,
  });
});

test("outage.yaml: crm retries for ever (deadLetter: false); shop's webhook route has no input to lose", () => {
  const crm = analyzeSurvival(example("outage.yaml"), mapOf("outage.yaml"), "crm", 2 * HOUR);
  assert.deepEqual(
    crm.routes.map((item) => item.verdict),
    ["retries-forever"],
  );
  const shop = analyzeSurvival(example("outage.yaml"), mapOf("outage.yaml"), "shop", 2 * HOUR);
  assert.deepEqual(
    shop.routes.map((item) => [item.route, item.verdict]),
    [["shop-orders-in", "no-input"]],
  );
});

test("full jitter: between the expected and the longest horizon a route is at risk", () => {
  const model = example("outage.yaml");
  const map = buildMap(model);
  // finance-to-tax: default policy, expected 7.5 s, at most 15 s.
  const verdict = (ms: number) => analyzeSurvival(model, map, "tax", ms).routes[1].verdict;
  assert.equal(verdict(5_000), "survives");
  assert.equal(verdict(10_000), "at-risk");
  assert.equal(verdict(20_000), "dead-letters");
});

test("live figures estimate the backlog against maxDepth", () => {
  const model = example("outage.yaml");
  const now = Date.now();
  const hops = Array.from({ length: 600 }, (_, i) => ({
    at: new Date(now - (i % 600) * 1000).toISOString(),
    messageId: `m${i}`,
    correlationId: `m${i}`,
    route: "finance-to-tax",
    step: null,
    outcome: "processed" as const,
    durationMs: 1,
  }));
  const map = buildMap(model, summarizeJournal(hops, { now, windowMinutes: 10 }));
  const item = analyzeSurvival(model, map, "tax", 2 * HOUR).routes.find((r) => r.route === "finance-to-tax")!;
  assert.equal(item.backlog, 60 * 120);
  assert.equal(item.maxDepth, 100_000);
});

// 4. Silent failures ------------------------------------------------------------------------------

test("outage.yaml: no dead letters and no idempotency on orders-to-crm; no alerts at all", () => {
  const silent = analyzeSilentFailures(example("outage.yaml"), mapOf("outage.yaml"));
  assert.deepEqual(
    silent.noDeadLetter.map((item) => [item.route, item.policy]),
    [["orders-to-crm", "fire-and-forget"]],
  );
  assert.deepEqual(
    silent.noIdempotency.map((item) => [item.route, item.path, item.system]),
    [["orders-to-crm", "routes.orders-to-crm.to[0]", "crm"]],
  );
  assert.equal(silent.alertsDeclared, false);
  assert.equal(silent.noAlert.length, 5);
  assert.match(silent.reasons[0], /no alerts: section/);
  assert.deepEqual(silent.noSilenceAlert, ["finance-to-tax", "shop-orders-in"]);
});

test("mesh.yaml and sync-chain.yaml: every write idempotent, every route dead-letters", () => {
  for (const name of ["mesh.yaml", "sync-chain.yaml", "hub.yaml"]) {
    const silent = analyzeSilentFailures(example(name), mapOf(name));
    assert.deepEqual(silent.noDeadLetter, [], name);
    assert.deepEqual(silent.noIdempotency, [], name);
  }
});

test("alert rules cover routes: by route, by channel, by connection, silence by system", () => {
  const model = modelOf(`
systems: { shop: {}, crm: {} }
connections:
  crm-api: { http: { baseUrl: "http://127.0.0.1:9001" }, system: crm }
channels:
  orders: { queue: {} }
policies:
  forever: { deadLetter: false }
routes:
  in:
    from: { webhook: { path: /orders, system: shop } }
    to: [{ channel: orders }]
  out:
    from: { channel: orders }
    steps: [{ dedupe: {} }]
    to: [{ http: { connection: crm-api, path: /orders } }]
  forever:
    from: { generate: { interval: 1h } }
    to: [{ log: {} }]
    policy: forever
alerts:
  backlog: { when: { channelDepth: { channel: orders, above: 100 } }, notify: [{ log: {} }] }
  quiet-shop: { when: { silence: { system: shop, for: 2h } }, notify: [{ log: {} }] }
  dead: { when: { deadLetters: { above: 0 } }, notify: [{ log: {} }] }
`);
  const silent = analyzeSilentFailures(model, buildMap(model));
  assert.equal(silent.alertsDeclared, true);
  assert.deepEqual(
    silent.noAlert,
    ["forever"],
    "a dead-letter alert cannot fire for a route that never dead-letters",
  );
  assert.deepEqual(silent.noSilenceAlert, []);
  assert.equal(silent.noIdempotency.length, 1);
  assert.match(silent.noIdempotency[0].mitigatedBy ?? "", /dedupe step/);
});

test("SQL sinks: a plain insert without key is not idempotent, an upsert is", () => {
  const silent = analyzeSilentFailures(example("shared-database.yaml"), mapOf("shared-database.yaml"));
  assert.deepEqual(silent.noIdempotency, []);
  const model = modelOf(`
systems: { crm: {}, reporting: {} }
connections:
  reporting-db: { postgres: { url: "postgres://r@db:5432/analytics" }, system: reporting }
routes:
  r:
    from: { webhook: { path: /c, system: crm } }
    to: [{ postgres: { connection: reporting-db, table: customers, columns: { id: id } } }]
`);
  const insert = analyzeSilentFailures(model, buildMap(model));
  assert.match(insert.noIdempotency[0]?.reason ?? "", /plain INSERT into customers/);
});

// 5. Shared databases -----------------------------------------------------------------------------

test("shared-database.yaml: core is shared by crm and billing, erp by erp and warehouse; analytics is not", () => {
  const shared = analyzeSharedDatabases(example("shared-database.yaml"));
  assert.deepEqual(
    shared.map((item) => [item.engine, item.database, item.systems, item.connections]),
    [
      ["postgres", "db.internal:5432/core", ["billing", "crm"], ["billing-db", "crm-db"]],
      ["mysql", "mysql.internal:3306/erp", ["erp", "warehouse"], ["erp-db", "warehouse-db"]],
    ],
  );
  assert.doesNotMatch(JSON.stringify(shared), /crm@|billing@|wms@/, "no user names or passwords");
  assert.deepEqual(analyzeSharedDatabases(example("mesh.yaml")), []);
});

test("database identity: default ports, case of host, postgres' default database is the user", () => {
  assert.equal(databaseOf("postgres", "postgresql://u:p@DB.internal/core"), "db.internal:5432/core");
  assert.equal(databaseOf("mysql", "mysql://u@h/erp"), "h:3306/erp");
  assert.equal(databaseOf("postgres", "postgres://alice@h"), "h:5432/alice");
  assert.equal(databaseOf("postgres", "not a url"), undefined);
});

// 6. Synchronous chains ---------------------------------------------------------------------------

test("sync-chain.yaml: one chain of 4 calls from shop to the warehouse, 2 in one attempt", () => {
  const result = analyzeSyncChains(mapOf("sync-chain.yaml"));
  assert.equal(result.limit, 3);
  assert.equal(result.deepest, 4);
  assert.equal(result.chains.length, 1);
  const [chain] = result.chains;
  assert.equal(chain.from, "shop");
  assert.deepEqual(chain.to, ["warehouse"]);
  assert.deepEqual(chain.routes, ["checkout-prepare", "orders-fulfil"]);
  assert.deepEqual(
    chain.calls.map((call) => call.system),
    ["crm", "pricing", "inventory", "risk"],
  );
  assert.equal(chain.inOneAttempt, 2);
  assert.equal(analyzeSyncChains(mapOf("sync-chain.yaml"), 4).chains.length, 0);
  assert.equal(analyzeSyncChains(mapOf("outage.yaml")).deepest, 1);
  assert.equal(analyzeSyncChains(mapOf("mesh.yaml")).deepest, 0);
});

// All together -------------------------------------------------------------------------------------

test("analyze runs every analysis; the text names each finding with its reasons", () => {
  const analysis = analyze(example("outage.yaml"), mapOf("outage.yaml"), { down: "tax", outageMs: 2 * HOUR });
  assert.equal(analysis.impact.length, 1);
  assert.equal(analysis.survival?.length, 1);
  const text = formatAnalysis(analysis);
  for (const heading of [
    "1. Connections",
    "2. Impact if tax",
    "3. Survival of a 2h outage of tax",
    "4. Silent",
    "5. Databases",
    "6. Synchronous",
  ]) {
    assert.ok(text.includes(heading), heading);
  }
  assert.match(text, /DEAD-LETTERS\s+finance-to-tax/);
  assert.match(text, /SURVIVES\s+orders-to-finance/);
  const all = analyze(example("outage.yaml"), mapOf("outage.yaml"));
  assert.equal(all.impact.length, 5, "without --down: one impact per system");
  assert.equal(all.survival, undefined);
  assert.match(formatAnalysis(all), /Impact per system/);
  assert.deepEqual(JSON.parse(JSON.stringify(analysis)), analysis, "JSON-safe");
});
