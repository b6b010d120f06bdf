import { edgeLabel, nodeLines } from "./describe.js";
import { type IntegrationMap, MAP_VERSION, type MapNode } from "./types.js";

/** Identifiers safe for Mermaid and DOT: `system_shop`, unique even when names differ only in punctuation. */
function identifiers(map: IntegrationMap): Map<string, string> {
  const ids = new Map<string, string>();
  const used = new Set<string>();
  for (const node of map.nodes) {
    const base = node.id.replace(/[^A-Za-z0-9]+/g, "_").replace(/_+$/, "");
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    ids.set(node.id, id);
  }
  return ids;
}

function mermaidText(text: string): string {
  return text.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}

function mermaidShape(node: MapNode, label: string): string {
  const text = `"${label}"`;
  switch (node.kind) {
    case "system":
      return `([${text}])`;
    case "channel":
      return node.channelKind === "topic" ? `{{${text}}}` : `[(${text})]`;
    case "route":
      return `[${text}]`;
    case "api":
      return `[/${text}/]`;
    default:
      return `>${text}]`;
  }
}

/**
 * Mermaid `flowchart LR`: one shape per kind (system: stadium, queue: cylinder, topic: hexagon,
 * route: rectangle, API: parallelogram, endpoint without a system: flag), no subgraphs.
 * Request-reply calls are dotted and point both ways; a switch case's target is dotted.
 */
export function renderMermaid(map: IntegrationMap): string {
  const ids = identifiers(map);
  const lines = ["flowchart LR"];
  for (const node of map.nodes) {
    const label = nodeLines(node).map(mermaidText).join("<br/>");
    lines.push(`  ${ids.get(node.id)}${mermaidShape(node, label)}`);
  }
  for (const edge of map.edges) {
    const from = ids.get(edge.from);
    const to = ids.get(edge.to);
    if (!from || !to) continue;
    const label = edgeLabel(edge);
    const arrow = edge.kind === "request" ? "<-.->" : edge.conditional ? "-.->" : "-->";
    lines.push(`  ${from} ${arrow}${label ? `|"${mermaidText(label)}"|` : ""} ${to}`);
  }
  const classes: Record<string, string> = {
    system: "fill:#e8f1fb,stroke:#2f6db5,color:#0b2545",
    channel: "fill:#fff4e0,stroke:#c27c0e,color:#4a2f00",
    route: "fill:#eef7ee,stroke:#3b8a3e,color:#123d14",
    api: "fill:#f3e8fb,stroke:#7b3fb5,color:#2e0b45",
    endpoint: "fill:#f4f4f4,stroke:#888,stroke-dasharray:4 3,color:#333",
  };
  for (const [kind, style] of Object.entries(classes)) {
    const members = map.nodes.filter((node) => node.kind === kind).map((node) => ids.get(node.id));
    if (members.length === 0) continue;
    lines.push(`  classDef ${kind} ${style}`);
    lines.push(`  class ${members.join(",")} ${kind}`);
  }
  return `${lines.join("\n")}\n`;
}

function dotString(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

const DOT_NODE: Record<string, string> = {
  system: 'shape=box, style="rounded,filled", fillcolor="#e8f1fb", color="#2f6db5"',
  queue: 'shape=cylinder, style=filled, fillcolor="#fff4e0", color="#c27c0e"',
  topic: 'shape=hexagon, style=filled, fillcolor="#fff4e0", color="#c27c0e"',
  route: 'shape=box, style=filled, fillcolor="#eef7ee", color="#3b8a3e"',
  api: 'shape=parallelogram, style=filled, fillcolor="#f3e8fb", color="#7b3fb5"',
  endpoint: 'shape=note, style="dashed", color="#888888"',
};

/** Graphviz DOT, left to right. `dot -Tsvg map.dot > map.svg` draws it. */
export function renderDot(map: IntegrationMap): string {
  const ids = identifiers(map);
  const lines = [
    "digraph junction {",
    "  rankdir=LR;",
    '  graph [fontname="Helvetica", nodesep=0.4, ranksep=0.8];',
    '  node [fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
  ];
  for (const node of map.nodes) {
    const style = DOT_NODE[node.kind === "channel" ? (node.channelKind ?? "queue") : node.kind];
    lines.push(`  ${ids.get(node.id)} [label=${dotString(nodeLines(node).join("\n"))}, ${style}];`);
  }
  for (const edge of map.edges) {
    const from = ids.get(edge.from);
    const to = ids.get(edge.to);
    if (!from || !to) continue;
    const attributes: string[] = [];
    const label = edgeLabel(edge);
    if (label) attributes.push(`label=${dotString(label)}`);
    if (edge.kind === "request") attributes.push("dir=both", "style=dashed");
    else if (edge.conditional) attributes.push("style=dashed");
    lines.push(`  ${from} -> ${to}${attributes.length ? ` [${attributes.join(", ")}]` : ""};`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/** The map as JSON: what `GET /api/map` serves and `parseMap` reads back. */
export function renderJson(map: IntegrationMap): string {
  return `${JSON.stringify(map, null, 2)}\n`;
}

export function parseMap(text: string): IntegrationMap {
  const value = JSON.parse(text);
  if (!value || typeof value !== "object" || !Array.isArray(value.nodes) || !Array.isArray(value.edges)) {
    throw new Error("not an integration map: nodes and edges are missing");
  }
  if (value.version !== MAP_VERSION) {
    throw new Error(`integration map version ${value.version} is not supported (expected ${MAP_VERSION})`);
  }
  return value as IntegrationMap;
}
