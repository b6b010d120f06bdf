/**
 * The integration map: systems, channels, routes (and later APIs) as nodes, data flows as edges, and
 * the system-to-system links those flows add up to, each classified by integration pattern.
 * Everything here is plain JSON: `JSON.parse(JSON.stringify(map))` gives the same map back.
 */

export const MAP_VERSION = 1;

export type NodeKind = "system" | "channel" | "route" | "api" | "endpoint";

/** Live figures over a window of the journal. */
export interface Figures {
  /** Messages per minute over the window. */
  rate: number;
  /** (retry + dead-lettered) / attempts over the window; null when nothing was attempted. */
  errorRate: number | null;
  /** Counts over the window. */
  messages: number;
  attempts: number;
  retries: number;
  deadLettered: number;
  /** The newest journal entry, whatever its age; null when none was seen. */
  lastSeen: string | null;
}

export interface MapNode {
  /** `system:<name>`, `channel:<name>`, `route:<name>`, `api:<name>`, `endpoint:<route>/<path>`. */
  id: string;
  kind: NodeKind;
  name: string;
  /** What a picture shows in the node. */
  label: string;
  /** Systems: declared under `systems:` (false when only named by a component). */
  declared?: boolean;
  owner?: string;
  owns?: string[];
  needs?: string[];
  description?: string;
  /** Channels. */
  channelKind?: "queue" | "topic";
  partitionBy?: string;
  retention?: string;
  maxDepth?: number;
  /** Routes. */
  policy?: string;
  steps?: string[];
  /** Endpoints (a source or sink that names no system): the connector. */
  connector?: string;
  figures?: Figures;
}

/**
 * source: system → route (a source reading from it); sink: route → system; publish: route → channel;
 * subscribe: channel → route; request: route → system, a call whose answer the route waits for.
 */
export type EdgeKind = "source" | "sink" | "publish" | "subscribe" | "request";

export interface MapEdge {
  id: string;
  from: string;
  to: string;
  kind: EdgeKind;
  route: string;
  /** Connector of the component (`webhook`, `http`...), absent for channel edges. */
  connector?: string;
  connection?: string;
  /** Where it is declared: `routes.orders.to[0]`. */
  path: string;
  /** The name the journal gives this step or target (`to[0]:http`, `steps[1]:enrich`). */
  step?: string;
  /** A switch case's target: only some messages take it. */
  conditional?: boolean;
  figures?: Figures;
}

export type Pattern = "point-to-point" | "publish-subscribe" | "request-reply";

export interface LinkPath {
  /** Routes and channels the data passes, in order: `route:a`, `channel:orders`, `route:b`. */
  via: string[];
}

/** A system-to-system link: data from `from` reaches `to` (request-reply: `from`'s data makes a route call `to`). */
export interface MapLink {
  id: string;
  from: string;
  to: string;
  pattern: Pattern;
  paths: LinkPath[];
  /** Routes involved, sorted. */
  routes: string[];
  figures?: Figures;
}

export interface MapFigures {
  /** Journal entries summarised and the window they were read over. */
  windowMinutes: number;
  from: string;
  to: string;
  entries: number;
  /** True when the journal read was cut by its limit inside the window: rates are lower bounds. */
  truncated: boolean;
  routes: Record<string, Figures>;
  /** Per route, per step or target name as the journal names it. */
  steps: Record<string, Record<string, Figures>>;
}

export interface IntegrationMap {
  version: number;
  /** The configuration file, when there is one. */
  file?: string;
  nodes: MapNode[];
  edges: MapEdge[];
  links: MapLink[];
  figures?: MapFigures;
}
