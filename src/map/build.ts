import type { ComponentRef, FunctionStepRef, IntegrationModel, RouteModel } from "../config/model.js";
import type { Registry } from "../config/registry.js";
import { mergeFigures } from "./figures.js";
import {
  type Figures,
  type IntegrationMap,
  type LinkPath,
  MAP_VERSION,
  type MapEdge,
  type MapFigures,
  type MapLink,
  type MapNode,
  type Pattern,
} from "./types.js";

export interface BuildOptions {
  /**
   * Used to find components nested in steps (a switch's targets, an enrich's request). Without it,
   * the built-in steps' shapes are known: `enrich.with` and `switch.cases[].to` / `otherwise.to`.
   */
  registry?: Registry;
}

interface Nested {
  kind: "sink" | "request";
  value: Record<string, unknown>;
  /** Path below the step's config. */
  path: (string | number)[];
}

const CHANNEL = "channel";

export const systemId = (name: string): string => `system:${name}`;
export const channelId = (name: string): string => `channel:${name}`;
export const routeId = (name: string): string => `route:${name}`;

/** The system a component reads from or writes to: its own `system:`, else its connection's. */
export function systemOf(config: unknown, model: IntegrationModel): { system?: string; connection?: string } {
  if (!config || typeof config !== "object") return {};
  const body = config as Record<string, unknown>;
  const connection = typeof body.connection === "string" ? body.connection : undefined;
  const system =
    typeof body.system === "string"
      ? body.system
      : connection
        ? model.connections[connection]?.system
        : undefined;
  return { ...(system ? { system } : {}), ...(connection ? { connection } : {}) };
}

/** The name the engine gives a step or target in the journal: the last path segment and the kind. */
export function journalStepName(path: string, kind: string): string {
  return `${path.slice(path.lastIndexOf(".") + 1)}:${kind}`;
}

function nestedOf(step: ComponentRef, registry?: Registry): Nested[] {
  const config = step.config ?? {};
  const definition = registry?.steps.get(step.kind);
  if (definition) {
    return (definition.slots?.(config) ?? [])
      .filter((slot) => slot.kind === "sink" || slot.kind === "request")
      .filter((slot) => slot.value && typeof slot.value === "object")
      .map((slot) => ({
        kind: slot.kind as "sink" | "request",
        value: slot.value as Record<string, unknown>,
        path: slot.path,
      }));
  }
  if (registry) return [];
  const nested: Nested[] = [];
  if (step.kind === "enrich" && config.with && typeof config.with === "object") {
    nested.push({ kind: "request", value: config.with, path: ["with"] });
  }
  if (step.kind === "switch") {
    (Array.isArray(config.cases) ? config.cases : []).forEach((branch: any, index: number) => {
      (Array.isArray(branch?.to) ? branch.to : []).forEach((target: any, position: number) => {
        nested.push({ kind: "sink", value: target, path: ["cases", index, "to", position] });
      });
    });
    (Array.isArray(config.otherwise?.to) ? config.otherwise.to : []).forEach(
      (target: any, position: number) => {
        nested.push({ kind: "sink", value: target, path: ["otherwise", "to", position] });
      },
    );
  }
  return nested;
}

function pathText(base: string, path: (string | number)[]): string {
  return path.reduce<string>(
    (text, part) => (typeof part === "number" ? `${text}[${part}]` : `${text}.${part}`),
    base,
  );
}

function slot(value: Record<string, unknown>, path: string): ComponentRef {
  const kind = Object.keys(value)[0];
  return { kind, config: value[kind], path };
}

/** A short, secret-free description of a component that names no system. */
function endpointLabel(ref: ComponentRef): string {
  const config = ref.config ?? {};
  if (typeof config.connection === "string") return `${ref.kind} (${config.connection})`;
  for (const key of ["path", "queue", "topic", "subject", "stream", "table"]) {
    if (typeof config[key] === "string") return `${ref.kind} ${config[key]}`;
  }
  return ref.kind;
}

/**
 * Build the integration map from the model: a pure function, so every analysis can be tested on a
 * configuration alone. `figures` (a summary of the journal) annotates routes, edges and links.
 */
export function buildMap(
  model: IntegrationModel,
  figures?: MapFigures,
  options: BuildOptions = {},
): IntegrationMap {
  const nodes = new Map<string, MapNode>();
  const edges: MapEdge[] = [];

  for (const [name, system] of Object.entries(model.systems)) {
    nodes.set(systemId(name), {
      id: systemId(name),
      kind: "system",
      name,
      label: name,
      declared: true,
      ...(system.owner ? { owner: system.owner } : {}),
      owns: [...(system.owns ?? [])],
      needs: [...(system.needs ?? [])],
      ...(system.description ? { description: system.description } : {}),
    });
  }
  const ensureSystem = (name: string): string => {
    const id = systemId(name);
    if (!nodes.has(id)) {
      nodes.set(id, { id, kind: "system", name, label: name, declared: false, owns: [], needs: [] });
    }
    return id;
  };
  for (const connection of Object.values(model.connections)) {
    if (connection.system) ensureSystem(connection.system);
  }
  for (const channel of Object.values(model.channels)) {
    nodes.set(channelId(channel.name), {
      id: channelId(channel.name),
      kind: "channel",
      name: channel.name,
      label: channel.name,
      channelKind: channel.kind,
      ...(channel.partitionBy ? { partitionBy: channel.partitionBy } : {}),
      retention: channel.retention,
      maxDepth: channel.maxDepth,
    });
  }
  const endpoints: MapNode[] = [];
  /** A system node, or an endpoint node for a component that names none. */
  const counterpart = (route: RouteModel, ref: ComponentRef): { id: string; connection?: string } => {
    const { system, connection } = systemOf(ref.config, model);
    if (system) return { id: ensureSystem(system), ...(connection ? { connection } : {}) };
    const id = connection
      ? `endpoint:connection/${connection}`
      : `endpoint:${route.name}/${ref.path.slice(`routes.${route.name}.`.length)}`;
    if (!nodes.has(id) && !endpoints.some((node) => node.id === id)) {
      endpoints.push({
        id,
        kind: "endpoint",
        name: id.slice("endpoint:".length),
        label: endpointLabel(ref),
        connector: ref.kind,
      });
    }
    return { id, ...(connection ? { connection } : {}) };
  };

  const routes = Object.values(model.routes);
  for (const route of routes) {
    const rid = routeId(route.name);
    const stepKinds = route.steps.map((step) =>
      step.kind === "function" ? `function:${(step as FunctionStepRef).name}` : step.kind,
    );
    nodes.set(rid, {
      id: rid,
      kind: "route",
      name: route.name,
      label: route.name,
      ...(route.description ? { description: route.description } : {}),
      ...(route.policy ? { policy: route.policy } : {}),
      steps: stepKinds,
      ...(figures?.routes[route.name] ? { figures: figures.routes[route.name] } : {}),
    });
  }
  const stepFigures = (route: string, step: string): Figures | undefined => figures?.steps[route]?.[step];

  const addTarget = (route: RouteModel, ref: ComponentRef, conditional: boolean) => {
    const rid = routeId(route.name);
    if (ref.kind === CHANNEL) {
      edges.push({
        id: `${rid}>${ref.path}`,
        from: rid,
        to: channelId(String(ref.config)),
        kind: "publish",
        route: route.name,
        path: ref.path,
        step: `channel:${ref.config}`,
        ...(conditional ? { conditional } : {}),
      });
      return;
    }
    const target = counterpart(route, ref);
    const step = journalStepName(ref.path, ref.kind);
    const measured = stepFigures(route.name, step);
    edges.push({
      id: `${rid}>${ref.path}`,
      from: rid,
      to: target.id,
      kind: "sink",
      route: route.name,
      connector: ref.kind,
      ...(target.connection ? { connection: target.connection } : {}),
      path: ref.path,
      step,
      ...(conditional ? { conditional } : {}),
      ...(measured ? { figures: measured } : {}),
    });
  };

  for (const route of routes) {
    const rid = routeId(route.name);
    if (route.from.kind === CHANNEL) {
      edges.push({
        id: `${rid}<${route.from.path}`,
        from: channelId(String(route.from.config)),
        to: rid,
        kind: "subscribe",
        route: route.name,
        path: route.from.path,
      });
    } else {
      const source = counterpart(route, route.from);
      const step = `from:${route.from.kind}`;
      const measured = stepFigures(route.name, step);
      edges.push({
        id: `${rid}<${route.from.path}`,
        from: source.id,
        to: rid,
        kind: "source",
        route: route.name,
        connector: route.from.kind,
        ...(source.connection ? { connection: source.connection } : {}),
        path: route.from.path,
        step,
        ...(measured ? { figures: measured } : {}),
      });
    }
    for (const step of route.steps) {
      if (step.kind === "function") continue;
      const ref = step as ComponentRef;
      const stepName = journalStepName(ref.path, ref.kind);
      for (const nested of nestedOf(ref, options.registry)) {
        const nestedRef = slot(nested.value, pathText(`${ref.path}.${ref.kind}`, nested.path));
        if (nested.kind === "sink") {
          addTarget(route, nestedRef, true);
          continue;
        }
        const target = counterpart(route, nestedRef);
        const measured = stepFigures(route.name, stepName);
        const routeFigures = figures?.routes[route.name];
        edges.push({
          id: `${rid}>${nestedRef.path}`,
          from: rid,
          to: target.id,
          kind: "request",
          route: route.name,
          connector: nestedRef.kind,
          ...(target.connection ? { connection: target.connection } : {}),
          path: nestedRef.path,
          step: stepName,
          ...(measured || routeFigures ? { figures: requestFigures(measured, routeFigures) } : {}),
        });
      }
    }
    for (const target of route.to) addTarget(route, target, false);
  }

  for (const endpoint of endpoints) nodes.set(endpoint.id, endpoint);
  const map: IntegrationMap = {
    version: MAP_VERSION,
    ...(model.file ? { file: model.file } : {}),
    nodes: [...nodes.values()],
    edges,
    links: [],
    ...(figures ? { figures } : {}),
  };
  map.links = linksOf(map);
  return map;
}

/**
 * A request step journals only its failures; the messages that passed it are (about) the route's
 * processed messages. So: the route's message count, the step's retries and dead letters.
 */
function requestFigures(step: Figures | undefined, route: Figures | undefined): Figures {
  const passed = Math.max(0, (route?.messages ?? 0) - (route?.deadLettered ?? 0));
  const retries = step?.retries ?? 0;
  const deadLettered = step?.deadLettered ?? 0;
  const attempts = passed + retries + deadLettered;
  const lastSeen =
    [step?.lastSeen, route?.lastSeen]
      .filter((at): at is string => !!at)
      .sort()
      .at(-1) ?? null;
  return {
    rate: route?.rate ?? 0,
    errorRate: attempts > 0 ? (retries + deadLettered) / attempts : null,
    messages: passed + deadLettered,
    attempts,
    retries,
    deadLettered,
    lastSeen,
  };
}

interface Input {
  system: string;
  via: string[];
}

/** Every system whose data can reach each route, with the routes and channels in between. */
export function routeInputs(map: IntegrationMap): Map<string, Input[]> {
  const subscribe = new Map<string, string>(); // route id → channel id it reads
  const source = new Map<string, string[]>(); // route id → system ids it reads
  const writers = new Map<string, string[]>(); // channel id → route ids writing it
  const kindOf = new Map(map.nodes.map((node) => [node.id, node.kind]));
  for (const edge of map.edges) {
    const route = routeId(edge.route);
    if (edge.kind === "subscribe") subscribe.set(route, edge.from);
    if (edge.kind === "source" && kindOf.get(edge.from) === "system") {
      source.set(route, [...(source.get(route) ?? []), edge.from]);
    }
    if (edge.kind === "publish") {
      const list = writers.get(edge.to) ?? [];
      if (!list.includes(route)) list.push(route);
      writers.set(edge.to, list);
    }
  }
  const memo = new Map<string, Input[]>();
  const visit = (route: string, stack: Set<string>): Input[] => {
    const known = memo.get(route);
    if (known) return known;
    if (stack.has(route)) return [];
    stack.add(route);
    const inputs: Input[] = (source.get(route) ?? []).map((system) => ({ system, via: [] }));
    const channel = subscribe.get(route);
    if (channel) {
      for (const writer of writers.get(channel) ?? []) {
        for (const input of visit(writer, stack)) {
          inputs.push({ system: input.system, via: [...input.via, writer, channel] });
        }
      }
    }
    stack.delete(route);
    memo.set(route, inputs);
    return inputs;
  };
  const result = new Map<string, Input[]>();
  for (const node of map.nodes) if (node.kind === "route") result.set(node.id, visit(node.id, new Set()));
  return result;
}

/** System-to-system links, each classified by its pattern. */
function linksOf(map: IntegrationMap): MapLink[] {
  const byId = new Map(map.nodes.map((node) => [node.id, node]));
  const inputs = routeInputs(map);
  const links = new Map<string, MapLink & { measured: Map<string, Figures> }>();
  for (const edge of map.edges) {
    if (edge.kind !== "sink" && edge.kind !== "request") continue;
    if (byId.get(edge.to)?.kind !== "system") continue;
    const route = routeId(edge.route);
    for (const input of inputs.get(route) ?? []) {
      if (input.system === edge.to) continue;
      const via = [...input.via, route];
      const pattern: Pattern =
        edge.kind === "request"
          ? "request-reply"
          : via.some((id) => byId.get(id)?.channelKind === "topic")
            ? "publish-subscribe"
            : "point-to-point";
      const id = `${input.system}->${edge.to}:${pattern}`;
      let link = links.get(id);
      if (!link) {
        link = { id, from: input.system, to: edge.to, pattern, paths: [], routes: [], measured: new Map() };
        links.set(id, link);
      }
      if (!link.paths.some((path) => path.via.join(" ") === via.join(" ")))
        link.paths.push({ via } as LinkPath);
      for (const hop of via) {
        const name = hop.startsWith("route:") ? hop.slice("route:".length) : undefined;
        if (name && !link.routes.includes(name)) link.routes.push(name);
      }
      if (edge.figures) link.measured.set(edge.id, edge.figures);
    }
  }
  return [...links.values()].map(({ measured, ...link }) => {
    link.routes.sort();
    const figures = mergeFigures([...measured.values()]);
    return figures ? { ...link, figures } : link;
  });
}
