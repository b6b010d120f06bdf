import { describeFigures, edgeTitle, nodeTitle } from "./describe.js";
import { layoutMap, type MapLayout, type NodeBox } from "./layout.js";
import type { IntegrationMap, MapEdge, MapNode } from "./types.js";

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? "" : "s"}`;
const n = (value: number): string => String(Math.round(value * 10) / 10);

function shape(node: MapNode, box: NodeBox): string {
  const { width: w, height: h } = box;
  switch (node.kind) {
    case "system":
      return `<rect class="shape" width="${n(w)}" height="${n(h)}" rx="${n(Math.min(h / 2, 18))}"/>`;
    case "channel": {
      if (node.channelKind === "topic") {
        const points = [
          [11, 0],
          [w - 11, 0],
          [w, h / 2],
          [w - 11, h],
          [11, h],
          [0, h / 2],
        ];
        return `<polygon class="shape" points="${points.map(([x, y]) => `${n(x)},${n(y)}`).join(" ")}"/>`;
      }
      const r = 9;
      return `<path class="shape" d="M${r},0 H${n(w - r)} A${r},${n(h / 2)} 0 0 1 ${n(w - r)},${n(h)} H${r} A${r},${n(h / 2)} 0 0 1 ${r},0 Z"/><path class="shape-line" d="M${n(w - r)},0 A${r},${n(h / 2)} 0 0 0 ${n(w - r)},${n(h)}"/>`;
    }
    case "api":
      return `<polygon class="shape" points="11,0 ${n(w)},0 ${n(w - 11)},${n(h)} 0,${n(h)}"/>`;
    default:
      return `<rect class="shape" width="${n(w)}" height="${n(h)}" rx="3"/>`;
  }
}

function health(figures: { errorRate: number | null } | undefined): string {
  if (!figures || figures.errorRate === null) return "";
  if (figures.errorRate >= 0.1) return " failing";
  if (figures.errorRate > 0) return " degraded";
  return " healthy";
}

function nodeSvg(node: MapNode, box: NodeBox, map: IntegrationMap): string {
  const texts = box.lines
    .map((line, index) => {
      const y = 9 + 15 * index + 11;
      return `<text class="${index === 0 ? "name" : "detail"}" x="${n(box.width / 2)}" y="${y}">${escapeHtml(line)}</text>`;
    })
    .join("");
  const kind = node.kind === "channel" ? `channel ${node.channelKind}` : node.kind;
  return `<g class="node ${kind}${health(node.figures)}" data-id="${escapeHtml(node.id)}" transform="translate(${n(box.x)},${n(box.y)})"><title>${escapeHtml(nodeTitle(node, map))}</title>${shape(node, box)}${texts}</g>`;
}

function edgeSvg(edge: MapEdge, layout: MapLayout, map: IntegrationMap): string {
  const route = layout.edges.get(edge.id);
  if (!route || route.points.length < 2) return "";
  const d = route.points
    .map((point, index) => `${index === 0 ? "M" : "L"}${n(point.x)},${n(point.y)}`)
    .join(" ");
  const markers =
    edge.kind === "request"
      ? ' marker-start="url(#arrow)" marker-end="url(#arrow)"'
      : ' marker-end="url(#arrow)"';
  const label = route.label
    ? `<rect class="label-bg" x="${n(route.label.x)}" y="${n(route.label.y)}" width="${n(route.label.width)}" height="${n(route.label.height)}"/><text class="label" x="${n(route.label.x + route.label.width / 2)}" y="${n(route.label.y + route.label.height - 3)}">${escapeHtml(route.label.text)}</text>`
    : "";
  return `<g class="edge ${edge.kind}${edge.conditional ? " conditional" : ""}${health(edge.figures)}" data-id="${escapeHtml(edge.id)}"><title>${escapeHtml(edgeTitle(edge, map))}</title><path class="hit" d="${d}"/><path class="line" d="${d}"${markers}/>${label}</g>`;
}

/** The laid-out map as an inline SVG: one `<g class="node">` per node, one `<g class="edge">` per edge. */
export function renderSvg(map: IntegrationMap, layout: MapLayout): string {
  const edges = map.edges.map((edge) => edgeSvg(edge, layout, map)).join("\n");
  const nodes = map.nodes
    .map((node) => {
      const box = layout.nodes.get(node.id);
      return box ? nodeSvg(node, box, map) : "";
    })
    .join("\n");
  return `<svg class="map" viewBox="0 0 ${layout.width} ${layout.height}" width="${layout.width}" height="${layout.height}" role="img" aria-label="Integration map">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>
${edges}
${nodes}
</svg>`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1d232b; --muted: #5d6773; --line: #66707c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink); background: #fafbfc; }
header, section { padding: 16px 24px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 8px; }
.meta { color: var(--muted); margin: 0; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; margin-top: 10px; color: var(--muted); font-size: 12px; }
.legend span::before { content: ""; display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -2px; border: 1.5px solid; }
.legend .l-system::before { background: #e8f1fb; border-color: #2f6db5; border-radius: 6px; }
.legend .l-route::before { background: #eef7ee; border-color: #3b8a3e; }
.legend .l-channel::before { background: #fff4e0; border-color: #c27c0e; }
.legend .l-endpoint::before { background: #f4f4f4; border-color: #888; border-style: dashed; }
.legend .l-request::before { border: 0; border-top: 2px dashed var(--line); width: 22px; height: 0; vertical-align: 3px; }
.canvas { overflow: auto; padding: 0 24px; }
svg.map { background: #fff; border: 1px solid #e3e6ea; border-radius: 6px; max-width: none; }
.node .shape { stroke-width: 1.5; }
.node .shape-line { fill: none; stroke-width: 1.2; }
.node.system .shape { fill: #e8f1fb; stroke: #2f6db5; }
.node.route .shape { fill: #eef7ee; stroke: #3b8a3e; }
.node.channel .shape { fill: #fff4e0; stroke: #c27c0e; }
.node.channel .shape-line { stroke: #c27c0e; }
.node.api .shape { fill: #f3e8fb; stroke: #7b3fb5; }
.node.endpoint .shape { fill: #f4f4f4; stroke: #888; stroke-dasharray: 4 3; }
.node.degraded .shape { stroke: #c98a00; stroke-width: 2.5; }
.node.failing .shape { stroke: #c0392b; stroke-width: 3; }
.node text { text-anchor: middle; fill: var(--ink); }
.node text.name { font-size: 12.5px; font-weight: 600; }
.node text.detail { font-size: 10.5px; fill: var(--muted); }
.node:hover .shape { stroke-width: 3; }
.edge .line { fill: none; stroke: var(--line); stroke-width: 1.4; }
.edge .hit { fill: none; stroke: transparent; stroke-width: 10; }
.edge.request .line, .edge.conditional .line { stroke-dasharray: 5 4; }
.edge.degraded .line { stroke: #c98a00; stroke-width: 2; }
.edge.failing .line { stroke: #c0392b; stroke-width: 2.5; }
.edge:hover .line { stroke: #1d232b; stroke-width: 2.4; }
.arrowhead { fill: var(--line); }
.edge .label { font-size: 10px; text-anchor: middle; fill: var(--muted); }
.edge .label-bg { fill: #fff; opacity: 0.85; }
table { border-collapse: collapse; width: 100%; max-width: 1100px; background: #fff; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #e3e6ea; vertical-align: top; font-size: 13px; }
th { color: var(--muted); font-weight: 600; }
`;

function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '<p class="meta">none</p>';
  return `<table><thead><tr>${headers.map((header) => `<th>${escapeHtml(header)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

export interface HtmlOptions {
  title?: string;
  /** When the page was made; default now. */
  generatedAt?: string;
}

/**
 * A self-contained page: inline CSS, the SVG laid out by ELK in Node, hover titles, no script, no
 * external asset, nothing fetched.
 */
export async function renderHtml(map: IntegrationMap, options: HtmlOptions = {}): Promise<string> {
  const layout = await layoutMap(map);
  const count = (kind: string) => map.nodes.filter((node) => node.kind === kind).length;
  const title = options.title ?? `Integration map${map.file ? ` — ${map.file.split("/").pop()}` : ""}`;
  const generated = options.generatedAt ?? new Date().toISOString();
  const systems = map.nodes
    .filter((node) => node.kind === "system")
    .map((node) => [
      node.name + (node.declared ? "" : " (undeclared)"),
      node.owner ?? "",
      (node.owns ?? []).join(", "),
      (node.needs ?? []).join(", "),
    ]);
  const measured = map.figures !== undefined;
  const links = map.links.map((link) => [
    link.from.slice("system:".length),
    link.to.slice("system:".length),
    link.pattern,
    link.paths.map((path) => path.via.map((id) => id.slice(id.indexOf(":") + 1)).join(" → ")).join("; "),
    ...(measured ? [describeFigures(link.figures) || "no traffic"] : []),
  ]);
  const figures = map.figures
    ? ` · figures over the last ${map.figures.windowMinutes} min to ${map.figures.to}${map.figures.truncated ? " (journal read cut by its limit: lower bounds)" : ""}`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${plural(count("system"), "system")} · ${plural(count("channel"), "channel")} · ${plural(count("route"), "route")} · ${plural(map.links.length, "system-to-system link")} · generated ${escapeHtml(generated)}${escapeHtml(figures)}</p>
<div class="legend"><span class="l-system">system</span><span class="l-route">route</span><span class="l-channel">channel (cylinder: queue, hexagon: topic)</span><span class="l-endpoint">no system declared</span><span class="l-request">request-reply call or switch case</span></div>
</header>
<div class="canvas">
${renderSvg(map, layout)}
</div>
<section>
<h2>Links between systems</h2>
${table(["from", "to", "pattern", "via", ...(measured ? ["figures"] : [])], links)}
</section>
<section>
<h2>Systems</h2>
${table(["system", "owner", "owns", "needs"], systems)}
</section>
<section class="meta">Hover a node or an edge for its owner, pattern and figures.</section>
</body>
</html>
`;
}
