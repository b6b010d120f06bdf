import type { JournalRecord } from "../store/store.js";
import type { Figures, MapFigures } from "./types.js";

export interface SummaryOptions {
  /** Rates are per minute over this many minutes before `now`. Default 15. */
  windowMinutes?: number;
  now?: number;
  /** The limit the journal was read with: reaching it inside the window marks the summary truncated. */
  limit?: number;
}

interface Counter {
  messages: number;
  attempts: number;
  retries: number;
  deadLettered: number;
  lastSeen: number;
}

const empty = (): Counter => ({ messages: 0, attempts: 0, retries: 0, deadLettered: 0, lastSeen: 0 });

function finish(counter: Counter, windowMinutes: number): Figures {
  const errors = counter.retries + counter.deadLettered;
  return {
    rate: round(counter.messages / windowMinutes),
    errorRate: counter.attempts > 0 ? round(errors / counter.attempts, 4) : null,
    messages: counter.messages,
    attempts: counter.attempts,
    retries: counter.retries,
    deadLettered: counter.deadLettered,
    lastSeen: counter.lastSeen > 0 ? new Date(counter.lastSeen).toISOString() : null,
  };
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/**
 * Figures per route and per step/target from journal hops (any order). A route's messages are its
 * finished ones (processed, filtered, duplicate, dead-lettered); its attempts add the retries; a
 * target's messages are its `sent` hops. Last seen looks at every hop, inside the window or not.
 */
export function summarizeJournal(hops: JournalRecord[], options: SummaryOptions = {}): MapFigures {
  const windowMinutes = options.windowMinutes ?? 15;
  const now = options.now ?? Date.now();
  const start = now - windowMinutes * 60_000;
  const routes = new Map<string, Counter>();
  const steps = new Map<string, Map<string, Counter>>();
  let oldest = Number.POSITIVE_INFINITY;
  for (const hop of hops) {
    const at = Date.parse(hop.at);
    if (Number.isNaN(at)) continue;
    oldest = Math.min(oldest, at);
    const route = routes.get(hop.route) ?? empty();
    routes.set(hop.route, route);
    route.lastSeen = Math.max(route.lastSeen, at);
    let step: Counter | undefined;
    if (hop.step !== null) {
      const perRoute = steps.get(hop.route) ?? new Map<string, Counter>();
      steps.set(hop.route, perRoute);
      step = perRoute.get(hop.step) ?? empty();
      perRoute.set(hop.step, step);
      step.lastSeen = Math.max(step.lastSeen, at);
    }
    if (at < start || at > now) continue;
    switch (hop.outcome) {
      case "processed":
      case "filtered":
      case "duplicate":
        if (hop.step === null) {
          route.messages++;
          route.attempts++;
        }
        break;
      case "retry":
        route.retries++;
        route.attempts++;
        if (step) {
          step.retries++;
          step.attempts++;
        }
        break;
      case "dead-lettered":
        route.deadLettered++;
        route.messages++;
        route.attempts++;
        if (step) {
          step.deadLettered++;
          step.messages++;
          step.attempts++;
        }
        break;
      case "sent":
      case "received":
        if (step) {
          step.messages++;
          step.attempts++;
        }
        break;
      default:
        break;
    }
  }
  const truncated = options.limit !== undefined && hops.length >= options.limit && oldest > start;
  return {
    windowMinutes,
    from: new Date(start).toISOString(),
    to: new Date(now).toISOString(),
    entries: hops.length,
    truncated,
    routes: Object.fromEntries([...routes].map(([name, counter]) => [name, finish(counter, windowMinutes)])),
    steps: Object.fromEntries(
      [...steps].map(([route, perRoute]) => [
        route,
        Object.fromEntries([...perRoute].map(([name, counter]) => [name, finish(counter, windowMinutes)])),
      ]),
    ),
  };
}

/** Figures of several edges taken together (a link carried by more than one route). */
export function mergeFigures(list: Figures[]): Figures | undefined {
  if (list.length === 0) return undefined;
  if (list.length === 1) return list[0];
  const sum = (key: "rate" | "messages" | "attempts" | "retries" | "deadLettered") =>
    list.reduce((total, figures) => total + figures[key], 0);
  const attempts = sum("attempts");
  const retries = sum("retries");
  const deadLettered = sum("deadLettered");
  const seen = list.map((figures) => figures.lastSeen).filter((at): at is string => at !== null);
  return {
    rate: round(sum("rate")),
    errorRate: attempts > 0 ? round((retries + deadLettered) / attempts, 4) : null,
    messages: sum("messages"),
    attempts,
    retries,
    deadLettered,
    lastSeen: seen.sort().at(-1) ?? null,
  };
}
