import type { Figures, IntegrationMap, MapEdge, MapLink, MapNode } from "./types.js";

/** "12.5/min, 2.0% errors, last seen 2026-05-01T10:00:00Z", or "" without figures. */
export function describeFigures(figures: Figures | undefined): string {
  if (!figures) return "";
  const parts = [`${figures.rate}/min`];
  if (figures.errorRate !== null) parts.push(`${(figures.errorRate * 100).toFixed(1)}% errors`);
  parts.push(figures.lastSeen ? `last seen ${figures.lastSeen}` : "never seen");
  return parts.join(", ");
}

/** The lines a picture shows in a node: its name, then its kind or owner. */
export function nodeLines(node: MapNode): string[] {
  switch (node.kind) {
    case "system":
      return [
        node.label,
        node.owner ? `owner: ${node.owner}` : node.declared ? "system" : "system (undeclared)",
      ];
    case "channel":
      return [node.label, node.channelKind ?? "queue"];
    case "route":
      return [node.label, node.policy ? `route, policy ${node.policy}` : "route"];
    case "endpoint":
      return [node.label, "no system declared"];
    default:
      return [node.label, node.kind];
  }
}

/** A hover text: everything known about the node. */
export function nodeTitle(node: MapNode, map: IntegrationMap): string {
  const lines = [`${node.kind} ${node.name}`];
  if (node.description) lines.push(node.description);
  if (node.kind === "system") {
    lines.push(`owner: ${node.owner ?? "unknown"}`);
    lines.push(`owns: ${node.owns?.length ? node.owns.join(", ") : "-"}`);
    lines.push(`needs: ${node.needs?.length ? node.needs.join(", ") : "-"}`);
    if (!node.declared) lines.push("named by a component but not declared under systems:");
    const links = map.links.filter((link) => link.from === node.id || link.to === node.id);
    for (const link of links) lines.push(linkTitle(link, map));
  }
  if (node.kind === "channel") {
    lines.push(`${node.channelKind}, retention ${node.retention}, maxDepth ${node.maxDepth}`);
    if (node.partitionBy) lines.push(`partitioned by ${node.partitionBy}`);
  }
  if (node.kind === "route") {
    lines.push(`policy: ${node.policy ?? "default"}`);
    if (node.steps?.length) lines.push(`steps: ${node.steps.join(", ")}`);
  }
  if (node.kind === "endpoint") lines.push(`${node.connector}: the component names no system`);
  const figures = describeFigures(node.figures);
  if (figures) lines.push(figures);
  return lines.join("\n");
}

const nameOf = (id: string): string => id.slice(id.indexOf(":") + 1);

export function linkTitle(link: MapLink, _map?: IntegrationMap): string {
  const figures = describeFigures(link.figures);
  return `${nameOf(link.from)} → ${nameOf(link.to)}: ${link.pattern} via ${link.routes.join(", ")}${figures ? ` (${figures})` : ""}`;
}

/** What an edge is, with the pattern of the links it carries. */
export function edgeTitle(edge: MapEdge, map: IntegrationMap): string {
  const kind =
    edge.kind === "request"
      ? "request-reply call"
      : edge.kind === "source"
        ? "source"
        : edge.kind === "sink"
          ? "sink"
          : edge.kind === "publish"
            ? "writes to channel"
            : "reads from channel";
  const lines = [
    `${nameOf(edge.from)} → ${nameOf(edge.to)}: ${kind}${edge.connector ? ` (${edge.connector}${edge.connection ? `, connection ${edge.connection}` : ""})` : ""}`,
    edge.path,
  ];
  if (edge.conditional) lines.push("only for messages a switch case sends here");
  const route = `route:${edge.route}`;
  const carries = (via: string[]): boolean => {
    if (!via.includes(route)) return false;
    if (edge.kind === "sink" || edge.kind === "request") return via.at(-1) === route;
    if (edge.kind === "source") return via[0] === route;
    return via.includes(edge.kind === "publish" ? edge.to : edge.from);
  };
  const patterns = [
    ...new Set(
      map.links
        .filter((link) => (edge.kind !== "sink" && edge.kind !== "request" ? true : link.to === edge.to))
        .filter((link) => edge.kind !== "source" || link.from === edge.from)
        .filter((link) => link.paths.some((path) => carries(path.via)))
        .map((link) => link.pattern),
    ),
  ];
  if (patterns.length) lines.push(`pattern: ${patterns.join(", ")}`);
  const figures = describeFigures(edge.figures);
  if (figures) lines.push(figures);
  return lines.join("\n");
}

/** Short label on an edge in a picture. */
export function edgeLabel(edge: MapEdge): string {
  if (edge.kind === "request") return `${edge.connector ?? "request"} (request-reply)`;
  if (edge.kind === "source" || edge.kind === "sink") return edge.connector ?? "";
  return "";
}
