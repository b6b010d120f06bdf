import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js";
import { describeFigures, edgeLabel, nodeLines } from "./describe.js";
import type { IntegrationMap, MapNode } from "./types.js";

export interface Point {
  x: number;
  y: number;
}

export interface NodeBox {
  x: number;
  y: number;
  width: number;
  height: number;
  lines: string[];
}

export interface EdgeRoute {
  points: Point[];
  label?: { x: number; y: number; width: number; height: number; text: string };
}

export interface MapLayout {
  width: number;
  height: number;
  nodes: Map<string, NodeBox>;
  edges: Map<string, EdgeRoute>;
}

type Elk = { layout(graph: ElkNode): Promise<ElkNode> };
let elk: Promise<Elk> | undefined;

/** ELK is 1.8 MB of JavaScript: loaded on the first layout only. */
function loadElk(): Promise<Elk> {
  elk ??= import("elkjs/lib/elk.bundled.js").then((module: any) => {
    const Constructor = (module.default?.default ?? module.default ?? module) as new () => Elk;
    return new Constructor();
  });
  return elk;
}

const LINE_HEIGHT = 15;
const PADDING_X = 14;
const PADDING_Y = 9;

/** Approximate text widths of the page's sans-serif font: enough for ELK to size boxes. */
export function textWidth(text: string, size: number): number {
  let units = 0;
  for (const char of text) {
    if ("il.,:;|!'".includes(char)) units += 0.3;
    else if ("mwMW".includes(char)) units += 0.85;
    else if (char >= "A" && char <= "Z") units += 0.68;
    else units += 0.56;
  }
  return units * size;
}

export function boxLines(node: MapNode): string[] {
  const lines = nodeLines(node);
  const figures = describeFigures(node.figures);
  if (figures) {
    const [rate, errors] = figures.split(", ");
    lines.push(errors && !errors.startsWith("last") ? `${rate} · ${errors}` : rate);
  }
  return lines;
}

function boxSize(node: MapNode, lines: string[]): { width: number; height: number } {
  const widest = Math.max(
    ...lines.map((line, index) => textWidth(line, index === 0 ? 12.5 : 10.5) + (index === 0 ? 4 : 0)),
  );
  const extra = node.kind === "channel" || node.kind === "api" ? 22 : 0;
  return {
    width: Math.ceil(Math.max(90, widest + 2 * PADDING_X + extra)),
    height: lines.length * LINE_HEIGHT + 2 * PADDING_Y,
  };
}

/**
 * Lay the map out with ELK's layered algorithm, left to right, orthogonal edges. Runs in Node: the
 * HTML page gets finished coordinates and needs no script.
 */
export async function layoutMap(map: IntegrationMap): Promise<MapLayout> {
  const lines = new Map(map.nodes.map((node) => [node.id, boxLines(node)]));
  const known = new Set(map.nodes.map((node) => node.id));
  const edges = map.edges.filter((edge) => known.has(edge.from) && known.has(edge.to));
  const graph: ElkNode = {
    id: "map",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.edgeRouting": "ORTHOGONAL",
      "elk.layered.spacing.nodeNodeBetweenLayers": "70",
      "elk.spacing.nodeNode": "26",
      "elk.spacing.edgeNode": "18",
      "elk.spacing.edgeEdge": "12",
      "elk.spacing.edgeLabel": "4",
      "elk.edgeLabels.placement": "CENTER",
      "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
      "elk.padding": "[top=20,left=20,bottom=20,right=20]",
    },
    children: map.nodes.map((node) => ({ id: node.id, ...boxSize(node, lines.get(node.id)!) })),
    edges: edges.map((edge): ElkExtendedEdge => {
      const label = edgeLabel(edge);
      return {
        id: edge.id,
        sources: [edge.from],
        targets: [edge.to],
        ...(label
          ? { labels: [{ id: `${edge.id}#label`, text: label, width: textWidth(label, 10) + 6, height: 13 }] }
          : {}),
      };
    }),
  };
  const result = await (await loadElk()).layout(graph);
  const nodes = new Map<string, NodeBox>();
  for (const child of result.children ?? []) {
    nodes.set(child.id, {
      x: child.x ?? 0,
      y: child.y ?? 0,
      width: child.width ?? 0,
      height: child.height ?? 0,
      lines: lines.get(child.id) ?? [],
    });
  }
  const routes = new Map<string, EdgeRoute>();
  for (const edge of result.edges ?? []) {
    const points: Point[] = [];
    for (const section of edge.sections ?? []) {
      points.push(section.startPoint, ...(section.bendPoints ?? []), section.endPoint);
    }
    const label = edge.labels?.[0];
    routes.set(edge.id, {
      points,
      ...(label?.text
        ? {
            label: {
              x: label.x ?? 0,
              y: label.y ?? 0,
              width: label.width ?? 0,
              height: label.height ?? 0,
              text: label.text,
            },
          }
        : {}),
    });
  }
  return { width: Math.ceil(result.width ?? 0), height: Math.ceil(result.height ?? 0), nodes, edges: routes };
}
