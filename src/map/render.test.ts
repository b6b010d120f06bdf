import assert from "node:assert/strict";
import { test } from "node:test";
import { buildMap } from "./build.js";
import { summarizeJournal } from "./figures.js";
import { layoutMap } from "./layout.js";
import { renderHtml } from "./render-html.js";
import { parseMap, renderDot, renderJson, renderMermaid } from "./render-text.js";
import { example } from "./test-helpers.js";

test("Mermaid: flowchart LR, one shape per kind, no subgraph, every node and edge", () => {
  const map = buildMap(example("hub.yaml"));
  const text = renderMermaid(map);
  const lines = text.trim().split("\n");
  assert.equal(lines[0], "flowchart LR");
  assert.doesNotMatch(text, /subgraph/);
  assert.ok(lines.includes('  system_shop(["shop<br/>owner: web-team"])'));
  assert.ok(lines.includes('  channel_orders{{"orders<br/>topic"}}'));
  assert.ok(lines.includes('  channel_payments[("payments<br/>queue")]'));
  assert.ok(lines.includes('  route_orders_to_crm["orders-to-crm<br/>route"]'));
  assert.ok(lines.includes('  system_shop -->|"webhook"| route_shop_orders_in'));
  assert.ok(lines.includes("  route_shop_orders_in --> channel_orders"));
  assert.ok(lines.includes("  channel_orders --> route_orders_to_crm"));
  assert.ok(lines.includes('  route_orders_to_crm -->|"http"| system_crm'));
  const nodeLines = lines.filter((line) => /^ {2}\w+[[({>]/.test(line));
  assert.equal(nodeLines.length, map.nodes.length);
  assert.equal(lines.filter((line) => / (-->|-\.->|<-\.->)/.test(line)).length, map.edges.length);
  assert.match(text, /classDef system /);
});

test("Mermaid: request-reply calls are dotted both ways", () => {
  const text = renderMermaid(buildMap(example("sync-chain.yaml")));
  assert.ok(text.includes('  route_checkout_prepare <-.->|"http (request-reply)"| system_pricing\n'));
});

test("DOT: a left-to-right digraph with every node and edge; request-reply edges dashed both ways", () => {
  const map = buildMap(example("sync-chain.yaml"));
  const text = renderDot(map);
  assert.match(text, /^digraph junction \{\n {2}rankdir=LR;/);
  assert.ok(text.trim().endsWith("}"));
  assert.match(text, /system_shop \[label="shop\\nowner: web-team", shape=box, style="rounded,filled"/);
  assert.match(text, /channel_priced_orders \[label="priced-orders\\nqueue", shape=cylinder/);
  assert.ok(text.includes('  system_shop -> route_checkout_prepare [label="webhook"];'));
  assert.ok(text.includes("  route_checkout_prepare -> channel_priced_orders;"));
  assert.ok(
    text.includes(
      '  route_orders_fulfil -> system_risk [label="http (request-reply)", dir=both, style=dashed];',
    ),
  );
  assert.equal(text.match(/ -> /g)?.length, map.edges.length);
  assert.equal(text.match(/^ {2}\w+ \[label=/gm)?.length, map.nodes.length);
});

test("JSON round-trips, figures included; other versions are refused", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  const figures = summarizeJournal(
    [
      {
        at: new Date(now - 60_000).toISOString(),
        messageId: "m1",
        correlationId: "m1",
        route: "orders-to-crm",
        step: null,
        outcome: "processed",
        durationMs: 3,
      },
    ],
    { now },
  );
  for (const map of [buildMap(example("outage.yaml")), buildMap(example("outage.yaml"), figures)]) {
    assert.deepEqual(parseMap(renderJson(map)), map);
  }
  assert.throws(() => parseMap('{"version": 99, "nodes": [], "edges": []}'), /version 99/);
  assert.throws(() => parseMap('{"version": 1}'), /not an integration map/);
});

test("layout: ELK gives every node a real box, left to right, without overlaps", async () => {
  const map = buildMap(example("hub.yaml"));
  const layout = await layoutMap(map);
  assert.equal(layout.nodes.size, map.nodes.length);
  const boxes = [...layout.nodes.values()];
  for (const box of boxes) {
    assert.ok(box.width >= 90 && box.height > 20);
    assert.ok(
      box.x >= 0 && box.y >= 0 && box.x + box.width <= layout.width && box.y + box.height <= layout.height,
    );
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      const apart =
        a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
      assert.ok(apart, `${i} and ${j} overlap`);
    }
  }
  const x = (id: string) => layout.nodes.get(id)!.x;
  assert.ok(x("system:shop") < x("route:shop-orders-in"));
  assert.ok(x("route:shop-orders-in") < x("channel:orders"));
  assert.ok(x("channel:orders") < x("route:orders-to-crm"));
  assert.ok(x("route:orders-to-crm") < x("system:crm"));
  for (const edge of map.edges) assert.ok((layout.edges.get(edge.id)?.points.length ?? 0) >= 2, edge.id);
});

test("HTML: self-contained, an inline SVG with one element per node and per edge, hover titles", async () => {
  const map = buildMap(example("outage.yaml"));
  const html = await renderHtml(map, { generatedAt: "2026-03-01T12:00:00Z" });
  assert.match(html, /^<!doctype html>/);
  assert.doesNotMatch(html, /https?:\/\//, "no http:// or https:// anywhere");
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|\ssrc=|\shref=|@import|url\((?!#)/i);
  assert.equal(html.match(/<svg /g)?.length, 1);
  assert.equal(html.match(/<g class="node /g)?.length, map.nodes.length);
  assert.equal(html.match(/<g class="edge /g)?.length, map.edges.length);
  for (const node of map.nodes) assert.ok(html.includes(`data-id="${node.id}"`), node.id);
  assert.match(html, /<title>system tax\nowner: tax-vendor\nowns: tax-rate\nneeds: tax-report/);
  assert.match(html, /pattern: publish-subscribe/);
  assert.match(
    html,
    /<g class="edge request" data-id="[^"]+"><title>orders-to-finance → tax: request-reply call/,
  );
  assert.match(html, /marker-start="url\(#arrow\)" marker-end="url\(#arrow\)"/);
  assert.match(html, /<path class="line" d="M[\d.]+,[\d.]+ L/);
});

test("HTML: live figures show on routes and colour failing edges", async () => {
  const now = Date.now();
  const hop = (step: string | null, outcome: any, i: number) => ({
    at: new Date(now - i * 1000).toISOString(),
    messageId: `m${i}`,
    correlationId: `m${i}`,
    route: "orders-to-crm",
    step,
    outcome,
    durationMs: 1,
  });
  const hops = [
    ...Array.from({ length: 15 }, (_, i) => hop(null, "processed", i)),
    ...Array.from({ length: 15 }, (_, i) => hop("to[0]:http", "sent", i)),
    ...Array.from({ length: 5 }, (_, i) => hop("to[0]:http", "retry", i)),
  ];
  const map = buildMap(example("outage.yaml"), summarizeJournal(hops, { now }));
  const html = await renderHtml(map);
  assert.match(html, /<g class="node route failing" data-id="route:orders-to-crm"/);
  assert.match(html, />1\/min · 25\.0% errors</);
  assert.match(
    html,
    /<g class="edge sink failing" data-id="route:orders-to-crm&gt;routes.orders-to-crm.to\[0\]">/,
  );
});
