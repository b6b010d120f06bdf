import type { CircuitBreakerModel, ComponentRef, IntegrationModel, RouteModel } from "../config/model.js";
import { parseDuration } from "../config/schema-types.js";
import { retryPlan } from "../reliability/retry.js";
import { routeId, systemId } from "./build.js";
import type { IntegrationMap, MapEdge, MapLink } from "./types.js";

export interface AnalysisOptions {
  /** The system to take down for the impact and survival analyses. */
  down?: string;
  /** How long it stays down (survival analysis), in milliseconds. */
  outageMs?: number;
  /** Synchronous chains with more request-reply calls than this are reported. Default 3. */
  depth?: number;
  /** A system talking point to point to this many others or more is a hot spot. Default 3. */
  fanout?: number;
}

export interface Hotspot {
  system: string;
  partners: string[];
  /** Systems it sends to, and receives from, point to point. */
  outgoing: string[];
  incoming: string[];
  suggestion: string;
  reasons: string[];
}

export interface Mesh {
  systems: string[];
  /** Point-to-point pairs among them, and the links a hub would need instead. */
  pairs: number;
  hubLinks: number;
  suggestion: string;
  reasons: string[];
}

export interface ConnectionsAnalysis {
  connections: number;
  systems: number;
  links: { total: number; pointToPoint: number; publishSubscribe: number; requestReply: number };
  /** Distinct pairs of systems linked point to point (either direction). */
  pointToPointPairs: number;
  hotspots: Hotspot[];
  meshes: Mesh[];
  /** A system needs a kind of data that no link brings it from a system owning it. */
  unmetNeeds: { system: string; data: string; owners: string[]; reason: string }[];
  /** Systems no flow touches. */
  unlinked: string[];
  /** Sources and sinks that name no system (map nodes of kind endpoint). */
  endpoints: string[];
  reasons: string[];
}

export interface ImpactItem {
  route: string;
  /** The configuration path of the component that touches the system. */
  path: string;
  connector?: string;
  reason: string;
  /** Where messages wait (delayed items). */
  buffer?: string;
  /** Other systems whose deliveries by this route wait too. */
  collateral?: string[];
}

export interface Impact {
  system: string;
  declared: boolean;
  owner?: string;
  /** Routes whose steps call the system: every message stops there. */
  breaksAtOnce: ImpactItem[];
  /** Routes downstream of a broken route: they get nothing new from it. */
  starved: ImpactItem[];
  /** Routes that write to the system: messages wait in a durable channel or inbox and are retried. */
  delayed: ImpactItem[];
  /** Routes that read from the system: nothing new arrives. */
  noNewInput: ImpactItem[];
  affectedRoutes: string[];
  /** Other systems that stop receiving data or receive it late. */
  affectedSystems: string[];
  /** Exposed APIs affected; the model has no APIs yet, so this is empty. */
  affectedApis: string[];
  /** What refers to the system: what to change when it is replaced. */
  touchpoints: { connections: string[]; components: string[] };
  reasons: string[];
}

export interface RetryHorizon {
  policy: string;
  attempts: number;
  jitter: "full" | "equal" | "none";
  /** Longest the retries can last (sum of the capped delays, or maxElapsed). */
  ceilingMs: number;
  /** What they last on average with the jitter. */
  expectedMs: number;
  deadLetter: boolean;
  maxDelayMs: number;
}

export type SurvivalVerdict = "survives" | "at-risk" | "dead-letters" | "retries-forever" | "no-input";

export interface SurvivalItem {
  route: string;
  relation: "request" | "sink" | "source";
  path: string;
  verdict: SurvivalVerdict;
  horizon?: RetryHorizon;
  breaker?: { from: string; halfOpenAfterMs: number; trials: number; deadLetterUpTo: number };
  buffer?: string;
  maxDepth?: number;
  /** From live figures: messages that would pile up during the outage. */
  backlog?: number;
  reason: string;
}

export interface Survival {
  system: string;
  outageMs: number;
  routes: SurvivalItem[];
  notes: string[];
}

export interface SilentFailures {
  alertsDeclared: boolean;
  /** Routes no alert rule watches. */
  noAlert: string[];
  /** Routes reading from a system that no silence alert watches. */
  noSilenceAlert: string[];
  noDeadLetter: { route: string; policy: string; reason: string }[];
  noIdempotency: {
    route: string;
    path: string;
    connector: string;
    system?: string;
    reason: string;
    mitigatedBy?: string;
  }[];
  reasons: string[];
}

export interface SharedDatabase {
  database: string;
  engine: "postgres" | "mysql";
  systems: string[];
  connections: string[];
  reason: string;
}

export interface SyncCall {
  system: string;
  route: string;
  step: string;
}

export interface SyncChain {
  from: string | null;
  to: string[];
  routes: string[];
  calls: SyncCall[];
  depth: number;
  /** Most calls made in one attempt of one route. */
  inOneAttempt: number;
  reason: string;
}

export interface SyncChainsAnalysis {
  limit: number;
  deepest: number;
  chains: SyncChain[];
}

export interface Analysis {
  file?: string;
  connections: ConnectionsAnalysis;
  /** For `down`, or one per system. */
  impact: Impact[];
  /** With an outage time: for `down`, or one per system. */
  survival?: Survival[];
  silentFailures: SilentFailures;
  sharedDatabases: SharedDatabase[];
  syncChains: SyncChainsAnalysis;
}

const nameOf = (id: string): string => id.slice(id.indexOf(":") + 1);
const plural = (count: number, word: string, many = `${word}s`): string =>
  `${count} ${count === 1 ? word : many}`;
/** "1 route writes" / "2 routes write". */
const verb = (count: number, singular: string, many: string): string =>
  `${plural(count, "route")} ${count === 1 ? singular : many}`;
const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/** 451 min → "7h31m"; 127 s → "2m7s"; 500 ms → "500ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let seconds = Math.round(ms / 1000);
  const days = Math.floor(seconds / 86400);
  seconds -= days * 86400;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  const parts = [
    days ? `${days}d` : "",
    hours ? `${hours}h` : "",
    minutes ? `${minutes}m` : "",
    seconds ? `${seconds}s` : "",
  ].join("");
  return parts || "0s";
}

export class UnknownSystemError extends Error {}

/** Run every analysis on a map built from the model. */
export function analyze(
  model: IntegrationModel,
  map: IntegrationMap,
  options: AnalysisOptions = {},
): Analysis {
  const systems = map.nodes.filter((node) => node.kind === "system").map((node) => node.name);
  if (options.down !== undefined && !systems.includes(options.down)) {
    throw new UnknownSystemError(
      `system "${options.down}" is not in the map (systems: ${systems.join(", ") || "none"})`,
    );
  }
  const targets = options.down !== undefined ? [options.down] : systems;
  return {
    ...(map.file ? { file: map.file } : {}),
    connections: analyzeConnections(model, map, options.fanout ?? 3),
    impact: targets.map((system) => analyzeImpact(model, map, system)),
    ...(options.outageMs !== undefined
      ? { survival: targets.map((system) => analyzeSurvival(model, map, system, options.outageMs!)) }
      : {}),
    silentFailures: analyzeSilentFailures(model, map),
    sharedDatabases: analyzeSharedDatabases(model),
    syncChains: analyzeSyncChains(map, options.depth ?? 3),
  };
}

// 1. Connections and N² growth ------------------------------------------------------------------

/** Maximal cliques (Bron–Kerbosch with pivoting) of an undirected graph. */
function cliques(adjacency: Map<string, Set<string>>): string[][] {
  const found: string[][] = [];
  const visit = (r: string[], p: Set<string>, x: Set<string>) => {
    if (p.size === 0 && x.size === 0) {
      found.push([...r].sort());
      return;
    }
    const pivot = [...p, ...x].reduce(
      (best, node) => ((adjacency.get(node)?.size ?? 0) > (adjacency.get(best)?.size ?? 0) ? node : best),
      [...p, ...x][0],
    );
    for (const node of [...p].filter((candidate) => !adjacency.get(pivot)?.has(candidate))) {
      const neighbours = adjacency.get(node) ?? new Set<string>();
      visit(
        [...r, node],
        new Set([...p].filter((other) => neighbours.has(other))),
        new Set([...x].filter((other) => neighbours.has(other))),
      );
      p.delete(node);
      x.add(node);
    }
  };
  visit([], new Set(adjacency.keys()), new Set());
  return found;
}

export function analyzeConnections(
  model: IntegrationModel,
  map: IntegrationMap,
  fanout = 3,
): ConnectionsAnalysis {
  const count = (pattern: MapLink["pattern"]) => map.links.filter((link) => link.pattern === pattern).length;
  const p2p = map.links.filter((link) => link.pattern === "point-to-point");
  const adjacency = new Map<string, Set<string>>();
  const outgoing = new Map<string, Set<string>>();
  const incoming = new Map<string, Set<string>>();
  const add = (table: Map<string, Set<string>>, key: string, value: string) => {
    const set = table.get(key) ?? new Set<string>();
    set.add(value);
    table.set(key, set);
  };
  for (const link of p2p) {
    const from = nameOf(link.from);
    const to = nameOf(link.to);
    add(adjacency, from, to);
    add(adjacency, to, from);
    add(outgoing, from, to);
    add(incoming, to, from);
  }
  const pairs = [...adjacency.values()].reduce((total, set) => total + set.size, 0) / 2;
  const owns = (system: string) => model.systems[system]?.owns ?? [];

  const hotspots: Hotspot[] = [];
  for (const [system, partners] of [...adjacency].sort(([a], [b]) => a.localeCompare(b))) {
    if (partners.size < fanout) continue;
    const out = sorted(outgoing.get(system) ?? []);
    const inc = sorted(incoming.get(system) ?? []);
    const data = owns(system);
    const suggestion =
      out.length >= fanout
        ? `publish ${system}'s ${data.length ? data.join(", ") : "data"} once on a topic${data.length ? ` (e.g. \`${data[0]}s\`)` : ""} and let ${out.join(", ")} subscribe: one route in, one subscription per consumer`
        : inc.length >= fanout
          ? `let ${inc.join(", ")} write to one channel (a hub with a canonical model) and deliver to ${system} from there with one route`
          : `route ${system}'s exchanges through a hub: topics per kind of data with a canonical model`;
    hotspots.push({
      system,
      partners: sorted(partners),
      outgoing: out,
      incoming: inc,
      suggestion,
      reasons: [
        `${system} talks point to point to ${plural(partners.size, "system")} (${sorted(partners).join(", ")}), at or above the threshold ${fanout}`,
        ...(out.length ? [`it sends to ${out.join(", ")}: each consumer has a route of its own`] : []),
        ...(inc.length ? [`it receives from ${inc.join(", ")}: each producer has a route of its own`] : []),
        "every new partner adds another route and another contract to keep in step",
      ],
    });
  }

  const meshes: Mesh[] = [];
  for (const clique of cliques(adjacency)) {
    if (clique.length < 3) continue;
    const k = clique.length;
    const meshPairs = (k * (k - 1)) / 2;
    meshes.push({
      systems: clique,
      pairs: meshPairs,
      hubLinks: k,
      suggestion: `put a hub between ${clique.join(", ")}: each publishes what it owns on a topic and subscribes to what it needs`,
      reasons: [
        `${clique.join(", ")} are fully meshed point to point: ${meshPairs} pairs, each with its own routes and contracts`,
        `${k} systems meshed need k(k-1)/2 = ${meshPairs} links; through a hub they need ${k}, and a new system adds 1 link instead of ${k}`,
      ],
    });
  }
  meshes.sort(
    (a, b) => b.systems.length - a.systems.length || a.systems.join().localeCompare(b.systems.join()),
  );

  const systemNodes = map.nodes.filter((node) => node.kind === "system");
  const unmetNeeds: ConnectionsAnalysis["unmetNeeds"] = [];
  for (const node of systemNodes) {
    for (const data of node.needs ?? []) {
      const owners = systemNodes.filter((other) => other.owns?.includes(data)).map((other) => other.name);
      const fed = map.links.some(
        (link) =>
          link.to === node.id && link.pattern !== "request-reply" && owners.includes(nameOf(link.from)),
      );
      if (fed) continue;
      unmetNeeds.push({
        system: node.name,
        data,
        owners,
        reason: owners.length
          ? `${node.name} needs ${data}, owned by ${owners.join(", ")}, but no route brings it there`
          : `${node.name} needs ${data}, and no system declares that it owns ${data}`,
      });
    }
  }
  const touched = new Set(map.edges.flatMap((edge) => [edge.from, edge.to]));
  const unlinked = systemNodes.filter((node) => !touched.has(node.id)).map((node) => node.name);
  const endpoints = map.nodes.filter((node) => node.kind === "endpoint").map((node) => node.label);
  const systems = systemNodes.length;
  const connections = Object.keys(model.connections).length;
  return {
    connections,
    systems,
    links: {
      total: map.links.length,
      pointToPoint: p2p.length,
      publishSubscribe: count("publish-subscribe"),
      requestReply: count("request-reply"),
    },
    pointToPointPairs: pairs,
    hotspots,
    meshes,
    unmetNeeds,
    unlinked,
    endpoints,
    reasons: [
      `${plural(connections, "connection")} to ${plural(systems, "system")}; ${plural(map.links.length, "system-to-system link")}: ${p2p.length} point-to-point, ${count("publish-subscribe")} publish-subscribe, ${count("request-reply")} request-reply`,
      `${plural(pairs, "pair")} of systems linked point to point; ${systems} systems fully meshed would be ${(systems * (systems - 1)) / 2} pairs`,
      ...(unlinked.length ? [`no flow touches ${unlinked.join(", ")}`] : []),
      ...(endpoints.length
        ? [
            `${plural(endpoints.length, "source or sink", "sources and sinks")} ${endpoints.length === 1 ? "names" : "name"} no system and ${endpoints.length === 1 ? "stays" : "stay"} off the system links: ${endpoints.join(", ")}`,
          ]
        : []),
      ...unmetNeeds.map((need) => need.reason),
    ],
  };
}

// 2. Impact ---------------------------------------------------------------------------------------

function edgesOf(map: IntegrationMap, route: string): MapEdge[] {
  return map.edges.filter((edge) => edge.route === route);
}

/** Routes reading the channels a route writes, transitively. */
function downstream(map: IntegrationMap, route: string): string[] {
  const found: string[] = [];
  const queue = [route];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const publish of edgesOf(map, current).filter((edge) => edge.kind === "publish")) {
      for (const subscribe of map.edges.filter(
        (edge) => edge.kind === "subscribe" && edge.from === publish.to,
      )) {
        if (subscribe.route !== route && !found.includes(subscribe.route)) {
          found.push(subscribe.route);
          queue.push(subscribe.route);
        }
      }
    }
  }
  return found;
}

function bufferOf(model: IntegrationModel, route: RouteModel): { buffer: string; maxDepth: number } {
  if (route.from.kind === "channel") {
    const channel = model.channels[route.from.config];
    return {
      buffer: `channel ${channel?.name ?? route.from.config} (${channel?.kind ?? "queue"}, subscription ${route.name})`,
      maxDepth: channel?.maxDepth ?? route.maxDepth,
    };
  }
  return { buffer: `the route's durable inbox`, maxDepth: route.maxDepth };
}

function breakerOf(
  model: IntegrationModel,
  route: RouteModel,
  edge: MapEdge,
): { from: string; config: CircuitBreakerModel } | undefined {
  if (edge.kind !== "sink") return undefined;
  const connection = edge.connection ? model.connections[edge.connection] : undefined;
  if (connection?.circuitBreaker)
    return { from: `connection ${edge.connection}`, config: connection.circuitBreaker };
  const policy = route.policy ? model.policies[route.policy] : undefined;
  if (policy?.circuitBreaker) return { from: `policy ${route.policy}`, config: policy.circuitBreaker };
  return undefined;
}

const SOURCE_RESUME: Record<string, string> = {
  webhook:
    "it cannot call the webhook while it is down; whatever it does not resend afterwards is lost to Junction",
  postgres: "the poll resumes from its checkpoint when the database is back",
  mysql: "the poll resumes from its checkpoint when the database is back",
  file: "files wait in the drop folder",
};

export function analyzeImpact(model: IntegrationModel, map: IntegrationMap, system: string): Impact {
  const id = systemId(system);
  const node = map.nodes.find((candidate) => candidate.id === id);
  const touching = map.edges.filter((edge) => edge.to === id || edge.from === id);
  const breaksAtOnce: ImpactItem[] = [];
  const delayed: ImpactItem[] = [];
  const noNewInput: ImpactItem[] = [];
  const affectedSystems = new Set<string>();
  const systemTargets = (route: string) =>
    edgesOf(map, route)
      .filter((edge) => (edge.kind === "sink" || edge.kind === "request") && edge.to.startsWith("system:"))
      .map((edge) => nameOf(edge.to))
      .filter((name) => name !== system);

  for (const edge of touching) {
    const route = model.routes[edge.route];
    if (!route) continue;
    if (edge.kind === "request") {
      const others = sorted(systemTargets(edge.route));
      for (const other of others) affectedSystems.add(other);
      breaksAtOnce.push({
        route: edge.route,
        path: edge.path,
        ...(edge.connector ? { connector: edge.connector } : {}),
        reason: `${edge.path.slice(`routes.${edge.route}.`.length)} calls ${system} and waits for the answer: every message of ${edge.route} fails there and is retried by its policy${others.length ? `; nothing reaches ${others.join(", ")} through this route` : ""}`,
        ...(others.length ? { collateral: others } : {}),
      });
    } else if (edge.kind === "sink") {
      const { buffer } = bufferOf(model, route);
      const breaker = breakerOf(model, route, edge);
      const others = sorted(systemTargets(edge.route));
      const channels = edgesOf(map, edge.route).filter((candidate) => candidate.kind === "publish");
      const waits = breaker ? others : [];
      const collateral = [
        ...waits,
        ...(channels.length
          ? sorted(downstream(map, edge.route).flatMap((name) => systemTargets(name)))
          : []),
      ];
      for (const other of collateral) affectedSystems.add(other);
      delayed.push({
        route: edge.route,
        path: edge.path,
        ...(edge.connector ? { connector: edge.connector } : {}),
        buffer,
        reason: [
          `${edge.path.slice(`routes.${edge.route}.`.length)} writes to ${system}: messages wait in ${buffer} and are retried`,
          breaker
            ? `the circuit breaker (${breaker.from}) opens and pauses the whole route${others.length ? `, so deliveries to ${others.join(", ")} wait too` : ""}`
            : others.length
              ? `deliveries to ${others.join(", ")} go on (a retry skips targets that already confirmed)`
              : "",
          channels.length
            ? `its channel output (${channels.map((channel) => nameOf(channel.to)).join(", ")}) is written only once every target confirmed: downstream routes wait`
            : "",
        ]
          .filter(Boolean)
          .join("; "),
        ...(collateral.length ? { collateral: sorted(collateral) } : {}),
      });
    } else if (edge.kind === "source") {
      const consequence =
        SOURCE_RESUME[edge.connector ?? ""] ?? "messages wait on its side (broker or checkpoint)";
      noNewInput.push({
        route: edge.route,
        path: edge.path,
        ...(edge.connector ? { connector: edge.connector } : {}),
        reason: `${edge.route} reads from ${system} (${edge.connector}): nothing new arrives; ${consequence}`,
      });
    }
  }

  const starved: ImpactItem[] = [];
  for (const item of breaksAtOnce) {
    for (const name of downstream(map, item.route)) {
      if (starved.some((entry) => entry.route === name) || name === item.route) continue;
      const targets = sorted(systemTargets(name));
      for (const other of targets) affectedSystems.add(other);
      starved.push({
        route: name,
        path: model.routes[name].from.path,
        reason: `${name} reads what ${item.route} writes: it gets nothing new from it${targets.length ? `, so ${targets.join(", ")} hear nothing from it` : ""}`,
        ...(targets.length ? { collateral: targets } : {}),
      });
    }
  }

  const components = map.edges.filter((edge) => edge.to === id || edge.from === id).map((edge) => edge.path);
  const connections = Object.entries(model.connections)
    .filter(([, connection]) => connection.system === system)
    .map(([name]) => name);
  const affectedRoutes = sorted([
    ...breaksAtOnce.map((item) => item.route),
    ...starved.map((item) => item.route),
    ...delayed.map((item) => item.route),
    ...noNewInput.map((item) => item.route),
  ]);
  affectedSystems.delete(system);
  return {
    system,
    declared: node?.declared ?? false,
    ...(node?.owner ? { owner: node.owner } : {}),
    breaksAtOnce,
    starved,
    delayed,
    noNewInput,
    affectedRoutes,
    affectedSystems: sorted(affectedSystems),
    affectedApis: [],
    touchpoints: { connections, components },
    reasons: [
      breaksAtOnce.length
        ? `${verb(breaksAtOnce.length, "calls", "call")} ${system} synchronously and ${breaksAtOnce.length === 1 ? "breaks" : "break"} at once: ${breaksAtOnce.map((item) => item.route).join(", ")}`
        : `no route calls ${system} synchronously`,
      ...(starved.length
        ? [
            `${verb(starved.length, "reads", "read")} what a broken route writes and ${starved.length === 1 ? "gets" : "get"} nothing new: ${starved.map((item) => item.route).join(", ")}`,
          ]
        : []),
      delayed.length
        ? `${verb(delayed.length, "writes", "write")} to ${system} through durable buffers and ${delayed.length === 1 ? "is" : "are"} only delayed: ${delayed.map((item) => item.route).join(", ")}`
        : `no route writes to ${system}`,
      ...(noNewInput.length
        ? [
            `${verb(noNewInput.length, "reads", "read")} from ${system} and ${noNewInput.length === 1 ? "gets" : "get"} no new input: ${noNewInput.map((item) => item.route).join(", ")}`,
          ]
        : []),
      "Junction answers webhooks after the durable commit (202), so no caller waits on a system behind Junction",
      "the model declares no APIs yet: no API is affected",
      `replacing ${system} means changing ${plural(connections.length, "connection")}${connections.length ? ` (${connections.join(", ")})` : ""} and ${plural(components.length, "component")} naming it`,
    ],
  };
}

// 3. Outage survival -------------------------------------------------------------------------------

export function retryHorizon(model: IntegrationModel, route: RouteModel): RetryHorizon {
  const policy = route.policy ? model.policies[route.policy] : undefined;
  const plan = retryPlan(policy);
  let ceiling = 0;
  for (let attempt = 1; attempt < plan.attempts; attempt++) {
    ceiling +=
      plan.backoff === "fixed"
        ? plan.initialMs
        : Math.min(plan.maxMs, plan.initialMs * plan.multiplier ** Math.max(0, attempt - 1));
  }
  const factor = plan.jitter === "full" ? 0.5 : plan.jitter === "equal" ? 0.75 : 1;
  let expected = ceiling * factor;
  if (plan.maxElapsedMs !== undefined) {
    ceiling = Math.min(ceiling, plan.maxElapsedMs);
    expected = Math.min(expected, plan.maxElapsedMs);
  }
  return {
    policy: route.policy ?? "default",
    attempts: plan.attempts,
    jitter: plan.jitter,
    ceilingMs: ceiling,
    expectedMs: expected,
    deadLetter: plan.deadLetter,
    maxDelayMs: plan.maxMs,
  };
}

export function analyzeSurvival(
  model: IntegrationModel,
  map: IntegrationMap,
  system: string,
  outageMs: number,
): Survival {
  const id = systemId(system);
  const outage = formatDuration(outageMs);
  const routes: SurvivalItem[] = [];
  for (const edge of map.edges.filter((candidate) => candidate.to === id || candidate.from === id)) {
    const route = model.routes[edge.route];
    if (!route) continue;
    if (edge.kind === "source") {
      routes.push({
        route: edge.route,
        relation: "source",
        path: edge.path,
        verdict: "no-input",
        reason: `reads from ${system}: nothing to retry; ${SOURCE_RESUME[edge.connector ?? ""] ?? "messages wait on its side (broker or checkpoint)"}`,
      });
      continue;
    }
    if (edge.kind !== "sink" && edge.kind !== "request") continue;
    const horizon = retryHorizon(model, route);
    const { buffer, maxDepth } = bufferOf(model, route);
    const rate = map.nodes.find((node) => node.id === routeId(edge.route))?.figures?.rate;
    const backlog = rate !== undefined ? Math.round(rate * (outageMs / 60_000)) : undefined;
    const breaker = breakerOf(model, route, edge);
    const base = {
      route: edge.route,
      relation: edge.kind,
      path: edge.path,
      horizon,
      buffer,
      maxDepth,
      ...(backlog !== undefined ? { backlog } : {}),
    } as const;
    const depthNote =
      backlog !== undefined && backlog > maxDepth
        ? `; at ${rate}/min about ${backlog} messages pile up, above maxDepth ${maxDepth}: upstream intake is then refused (back-pressure)`
        : "";
    const window = `retries last at most ${formatDuration(horizon.ceilingMs)}${horizon.jitter !== "none" ? ` (about ${formatDuration(horizon.expectedMs)} on average with ${horizon.jitter} jitter)` : ""} (policy ${horizon.policy}: ${horizon.attempts} attempts)`;
    if (!horizon.deadLetter) {
      routes.push({
        ...base,
        verdict: "retries-forever",
        reason: `deadLetter is false: once the ${horizon.attempts} attempts are used the message is retried every ${formatDuration(horizon.maxDelayMs)} for ever; nothing is lost, nothing is reported${depthNote}`,
      });
      continue;
    }
    if (breaker) {
      const halfOpenAfterMs = parseDuration(breaker.config.halfOpenAfter ?? "30s");
      const opensAfter = breaker.config.after ?? breaker.config.minimumCalls ?? 5;
      const trials = Math.floor(outageMs / halfOpenAfterMs);
      const deadLetterUpTo = Math.floor((opensAfter + trials) / horizon.attempts);
      routes.push({
        ...base,
        verdict: "survives",
        breaker: { from: breaker.from, halfOpenAfterMs, trials, deadLetterUpTo },
        reason: `the circuit breaker (${breaker.from}) opens after ${opensAfter} failures and pauses the route: messages wait in ${buffer} without using attempts; ${trials} half-open trials in ${outage} use one attempt each, so at worst ${plural(deadLetterUpTo, "message")} dead-letter${deadLetterUpTo === 1 ? "s" : ""} (replay them); without the breaker ${window}${depthNote}`,
      });
      continue;
    }
    if (horizon.ceilingMs < outageMs) {
      routes.push({
        ...base,
        verdict: "dead-letters",
        reason: `${window}, less than ${outage}: messages that meet the outage dead-letter; replay them with \`junction dlq replay --route ${edge.route}\` once ${system} is back${depthNote}`,
      });
    } else if (horizon.expectedMs < outageMs) {
      routes.push({
        ...base,
        verdict: "at-risk",
        reason: `${window}: with the jitter, many messages run out of attempts before ${outage}; they dead-letter${depthNote}`,
      });
    } else {
      routes.push({
        ...base,
        verdict: "survives",
        reason: `${window}, longer than ${outage}: messages wait in ${buffer} and are delivered when ${system} is back${depthNote}`,
      });
    }
  }
  return {
    system,
    outageMs,
    routes,
    notes: [
      "retry horizons leave out the time each failed attempt takes (up to its timeout), which only lengthens them",
      "channel retention removes only messages every subscription has consumed: waiting messages are kept whatever the retention; maxDepth is the limit that matters, above it intake is refused",
    ],
  };
}

// 4. Silent failures --------------------------------------------------------------------------------

const DEDUPE_MITIGATION =
  "dedupe step (drops repeated input; a crash between the write and the acknowledgement still repeats it)";

/** Which alert rules watch each route: failures (dead letters, errors, backlog, breakers) or silence. */
export function alertCoverage(
  model: IntegrationModel,
  map: IntegrationMap,
): Map<string, { failure: string[]; silence: string[] }> {
  const coverage = new Map(
    Object.keys(model.routes).map((name) => [name, { failure: [] as string[], silence: [] as string[] }]),
  );
  const routesReading = (channel: string) =>
    Object.values(model.routes)
      .filter((route) => route.from.kind === "channel" && route.from.config === channel)
      .map((route) => route.name);
  const routesUsing = (connection?: string) =>
    sorted(
      map.edges
        .filter(
          (edge) => edge.kind === "sink" && (connection === undefined || edge.connection === connection),
        )
        .map((edge) => edge.route),
    );
  for (const [name, alert] of Object.entries(model.alerts ?? {})) {
    const [kind] = Object.keys(alert.when ?? {});
    const when = alert.when?.[kind] ?? {};
    const all = Object.keys(model.routes);
    let failure: string[] = [];
    let silence: string[] = [];
    switch (kind) {
      case "deadLetters":
        // Routes that never dead-letter cannot trip a dead-letter alert.
        failure = (when.route ? [when.route] : all).filter(
          (route: string) =>
            model.routes[route] &&
            retryPlan(model.routes[route].policy ? model.policies[model.routes[route].policy!] : undefined)
              .deadLetter,
        );
        break;
      case "errorRate":
      case "schemaViolations":
        failure = when.route ? [when.route] : all;
        break;
      case "consumerLag":
        failure = [when.route];
        break;
      case "channelDepth":
      case "channelAge":
        failure = routesReading(when.channel);
        break;
      case "circuitOpen":
        failure = routesUsing(when.connection);
        break;
      case "silence":
        silence = when.route
          ? [when.route]
          : map.edges
              .filter((edge) => edge.kind === "source" && edge.from === systemId(String(when.system)))
              .map((edge) => edge.route);
        break;
      default:
        break;
    }
    for (const route of failure) coverage.get(route)?.failure.push(name);
    for (const route of silence) coverage.get(route)?.silence.push(name);
  }
  return coverage;
}

export function analyzeSilentFailures(model: IntegrationModel, map: IntegrationMap): SilentFailures {
  const alertsDeclared = Object.keys(model.alerts ?? {}).length > 0;
  const coverage = alertCoverage(model, map);
  const noAlert = Object.keys(model.routes).filter((name) => {
    const covered = coverage.get(name);
    return !covered || covered.failure.length + covered.silence.length === 0;
  });
  const sourceRoutes = map.edges
    .filter((edge) => edge.kind === "source" && edge.from.startsWith("system:"))
    .map((edge) => edge.route);
  const noSilenceAlert = sorted(
    sourceRoutes.filter((route) => (coverage.get(route)?.silence.length ?? 0) === 0),
  );
  const noDeadLetter = Object.values(model.routes)
    .filter(
      (route) => retryPlan(route.policy ? model.policies[route.policy] : undefined).deadLetter === false,
    )
    .map((route) => ({
      route: route.name,
      policy: route.policy ?? "default",
      reason: `policy ${route.policy} sets deadLetter: false: a message that keeps failing (even a permanent error) is retried for ever at the maximum delay, and no dead letter shows it`,
    }));

  const noIdempotency: SilentFailures["noIdempotency"] = [];
  for (const edge of map.edges) {
    if (edge.kind !== "sink" && edge.kind !== "request") continue;
    const route = model.routes[edge.route];
    const ref = componentAt(route, edge.path);
    if (!ref) continue;
    const config = ref.config ?? {};
    const system = edge.to.startsWith("system:") ? nameOf(edge.to) : undefined;
    const dedupe = route.steps.some((step) => step.kind === "dedupe");
    let reason: string | undefined;
    if (edge.connector === "http" && !config.idempotencyKey) {
      // GET, PUT and DELETE are idempotent by HTTP's definition; POST and PATCH are not.
      const method = String(config.method ?? "POST").toUpperCase();
      if (method === "GET" || method === "PUT" || method === "DELETE") continue;
      reason = `${method} to ${system ?? "an HTTP endpoint"} without idempotencyKey: a retry or a redelivery after a crash repeats the effect`;
    } else if (edge.connector === "soap" && edge.kind === "sink") {
      reason = `SOAP call to ${system ?? "a service"}: no idempotency key is sent, a redelivery repeats the operation unless the service deduplicates`;
    } else if ((edge.connector === "postgres" || edge.connector === "mysql") && edge.kind === "sink") {
      if (config.table && !config.key) {
        reason = `plain INSERT into ${config.table} without key: a redelivered message adds a second row (set key for an upsert)`;
      }
    }
    if (!reason) continue;
    noIdempotency.push({
      route: edge.route,
      path: edge.path,
      connector: edge.connector!,
      ...(system ? { system } : {}),
      reason,
      ...(dedupe ? { mitigatedBy: DEDUPE_MITIGATION } : {}),
    });
  }
  const unmitigated = noIdempotency.filter((item) => !item.mitigatedBy);
  return {
    alertsDeclared,
    noAlert,
    noSilenceAlert,
    noDeadLetter,
    noIdempotency,
    reasons: [
      alertsDeclared
        ? noAlert.length
          ? `${plural(noAlert.length, "route")} no alert rule watches: ${noAlert.join(", ")}`
          : "an alert rule watches every route"
        : `the configuration has no alerts: section, so no route has an alert (${plural(noAlert.length, "route")}): a failing or silent integration is noticed only by looking`,
      ...(noSilenceAlert.length
        ? [
            `${plural(noSilenceAlert.length, "route")} reading from a system without a silence alert (nothing arrives and nobody notices): ${noSilenceAlert.join(", ")}`,
          ]
        : []),
      noDeadLetter.length
        ? `${plural(noDeadLetter.length, "route")} without dead-letter handling: ${noDeadLetter.map((item) => item.route).join(", ")}`
        : "every route dead-letters what it cannot deliver",
      unmitigated.length
        ? `${plural(unmitigated.length, "write")} may repeat effects on redelivery: ${unmitigated.map((item) => `${item.route} (${item.path.slice(`routes.${item.route}.`.length)})`).join(", ")}`
        : "every write that can be redelivered is idempotent or deduplicated",
    ],
  };
}

/** The component at a configuration path: `routes.r.to[0]`, `routes.r.steps[1].enrich.with`. */
function componentAt(route: RouteModel | undefined, path: string): ComponentRef | undefined {
  if (!route) return undefined;
  const direct = route.to.find((ref) => ref.path === path);
  if (direct) return direct;
  const relative = path.slice(`routes.${route.name}.`.length);
  const match = /^steps\[(\d+)\]\.([^.[]+)(.*)$/.exec(relative);
  if (!match) return undefined;
  const step = route.steps[Number(match[1])] as ComponentRef | undefined;
  if (!step || step.kind !== match[2]) return undefined;
  let value: any = step.config;
  for (const part of match[3].match(/[^.[\]]+/g) ?? []) {
    value = value?.[/^\d+$/.test(part) ? Number(part) : part];
  }
  if (!value || typeof value !== "object") return undefined;
  const kind = Object.keys(value)[0];
  return { kind, config: value[kind], path };
}

// 5. Shared databases ---------------------------------------------------------------------------

const DEFAULT_PORTS: Record<string, number> = { postgres: 5432, mysql: 3306 };

/** host:port/database of a PostgreSQL or MySQL URL, without credentials. */
export function databaseOf(engine: "postgres" | "mysql", url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const host = (parsed.hostname || parsed.searchParams.get("host") || "localhost").toLowerCase();
  const port = parsed.port ? Number(parsed.port) : DEFAULT_PORTS[engine];
  let database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (!database && engine === "postgres") database = decodeURIComponent(parsed.username) || "postgres";
  return `${host}:${port}/${database}`;
}

export function analyzeSharedDatabases(model: IntegrationModel): SharedDatabase[] {
  const groups = new Map<
    string,
    { engine: "postgres" | "mysql"; database: string; items: { connection: string; system?: string }[] }
  >();
  for (const [name, connection] of Object.entries(model.connections)) {
    const kind = connection.ref.kind;
    if (kind !== "postgres" && kind !== "mysql") continue;
    const url = connection.ref.config?.url;
    if (typeof url !== "string") continue;
    const database = databaseOf(kind, url);
    if (!database) continue;
    const key = `${kind} ${database}`;
    const group = groups.get(key) ?? { engine: kind, database, items: [] };
    group.items.push({ connection: name, ...(connection.system ? { system: connection.system } : {}) });
    groups.set(key, group);
  }
  const shared: SharedDatabase[] = [];
  for (const group of groups.values()) {
    const systems = sorted(
      group.items.map((item) => item.system).filter((system): system is string => !!system),
    );
    if (systems.length < 2) continue;
    const connections = group.items.map((item) => item.connection).sort();
    shared.push({
      database: group.database,
      engine: group.engine,
      systems,
      connections,
      reason: `${systems.join(" and ")} reach the same ${group.engine === "postgres" ? "PostgreSQL" : "MySQL"} database ${group.database} (connections ${connections.join(", ")}): they are coupled through its tables, outside any contract; a schema change by one breaks the other, and neither owns the data alone`,
    });
  }
  return shared.sort((a, b) => a.database.localeCompare(b.database));
}

// 6. Synchronous chains -----------------------------------------------------------------------------

export function analyzeSyncChains(map: IntegrationMap, limit = 3): SyncChainsAnalysis {
  const chains: SyncChain[] = [];
  const seen = new Set<string>();
  let deepest = 0;
  const callsOf = (route: string): SyncCall[] =>
    edgesOf(map, route)
      .filter((edge) => edge.kind === "request")
      .map((edge) => ({ system: nameOf(edge.to), route, step: edge.step ?? edge.path }));
  const record = (from: string | null, to: string[], routes: string[], calls: SyncCall[]) => {
    const key = `${from}|${routes.join(">")}|${to.join(",")}`;
    if (seen.has(key)) return;
    seen.add(key);
    deepest = Math.max(deepest, calls.length);
    if (calls.length <= limit) return;
    const inOneAttempt = Math.max(
      ...routes.map((route) => calls.filter((call) => call.route === route).length),
    );
    chains.push({
      from,
      to,
      routes,
      calls,
      depth: calls.length,
      inOneAttempt,
      reason: `${from ? `a message from ${from}` : "a message"} reaches ${to.join(", ") || "its end"} only after ${calls.length} request-reply calls in sequence (${calls.map((call) => call.system).join(" → ")}), more than ${limit}: each of them down stops the flow, their availabilities multiply and their latencies add${inOneAttempt > 1 ? `; ${inOneAttempt} of them in one attempt of one route, so a failure of the last repeats the earlier calls` : ""}`,
    });
  };
  const walk = (route: string, from: string | null, routes: string[], calls: SyncCall[]) => {
    if (routes.includes(route)) {
      record(from, [], routes, calls);
      return;
    }
    const nextRoutes = [...routes, route];
    const nextCalls = [...calls, ...callsOf(route)];
    const edges = edgesOf(map, route);
    const sinks = sorted(edges.filter((edge) => edge.kind === "sink").map((edge) => nameOf(edge.to)));
    const publishes = edges.filter((edge) => edge.kind === "publish");
    if (sinks.length > 0 || publishes.length === 0) record(from, sinks, nextRoutes, nextCalls);
    for (const publish of publishes) {
      for (const subscribe of map.edges.filter(
        (edge) => edge.kind === "subscribe" && edge.from === publish.to,
      )) {
        walk(subscribe.route, from, nextRoutes, nextCalls);
      }
    }
  };
  for (const edge of map.edges.filter((candidate) => candidate.kind === "source")) {
    walk(edge.route, edge.from.startsWith("system:") ? nameOf(edge.from) : null, [], []);
  }
  chains.sort((a, b) => b.depth - a.depth || a.routes.join().localeCompare(b.routes.join()));
  return { limit, deepest, chains };
}
