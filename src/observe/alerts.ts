import type { Message } from "../api/message.js";
import { createMessage } from "../api/message.js";
import type { AlertModel, IntegrationModel } from "../config/model.js";
import { parseDuration } from "../config/schema-types.js";
import type { Logger } from "../observe/logger.js";
import type { Store } from "../store/store.js";
import type { Activity } from "./activity.js";

export type AlertState = "ok" | "pending" | "firing" | "resolving";

export interface AlertStatus {
  name: string;
  state: AlertState;
  severity: AlertModel["severity"];
  since: string;
  value: number;
  summary: string;
}

interface Measurement {
  active: boolean;
  value: number;
  summary: string;
}

export interface AlertDependencies {
  model: IntegrationModel;
  store: Store;
  activity: Activity;
  breakers: () => { key: string; state: string }[];
  subscriptionOf: (route: string) => string | undefined;
  /** Send a notice to the alert's targets; throws when one of them fails. */
  notify: (alert: AlertModel, notice: Message) => Promise<void>;
  logger: Logger;
  now?: () => number;
}

/**
 * Evaluates `alerts:` rules on a timer. A condition must hold for `for` before the alert fires and
 * stay false for `resolveAfter` before it resolves (hysteresis), so a flapping value does not page
 * twice. Each change is sent to the rule's targets and kept in the store, so a restart does not
 * fire an alert that was already firing.
 */
export class AlertEvaluator {
  readonly #state = new Map<string, { state: AlertState; since: number; value: number; summary: string }>();
  readonly #undelivered: { alert: AlertModel; notice: Message }[] = [];
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(private readonly deps: AlertDependencies) {
    this.#now = deps.now ?? Date.now;
    for (const alert of Object.values(deps.model.alerts)) {
      const saved = deps.store.checkpoint(`alert:${alert.name}`);
      const state = saved ? (JSON.parse(saved) as { state: AlertState; since: number }) : undefined;
      this.#state.set(alert.name, {
        state: state?.state === "firing" || state?.state === "resolving" ? "firing" : "ok",
        since: state?.since ?? this.#now(),
        value: 0,
        summary: "",
      });
    }
  }

  start(intervalMs: number): void {
    if (Object.keys(this.deps.model.alerts).length === 0) return;
    const tick = () => {
      this.#running = this.evaluate()
        .catch((error) => this.deps.logger.error({ err: error }, "alert evaluation failed"))
        .finally(() => {
          this.#timer = setTimeout(tick, intervalMs);
          this.#timer.unref();
        });
    };
    this.#timer = setTimeout(tick, intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#running;
  }

  status(): AlertStatus[] {
    return Object.values(this.deps.model.alerts).map((alert) => {
      const state = this.#state.get(alert.name)!;
      return {
        name: alert.name,
        state: state.state,
        severity: alert.severity,
        since: new Date(state.since).toISOString(),
        value: state.value,
        summary: state.summary,
      };
    });
  }

  async evaluate(): Promise<void> {
    await this.#retryUndelivered();
    const now = this.#now();
    for (const alert of Object.values(this.deps.model.alerts)) {
      const measured = await this.#measure(alert);
      const current = this.#state.get(alert.name)!;
      current.value = measured.value;
      current.summary = measured.summary;
      const forMs = parseDuration(alert.for);
      const resolveMs = parseDuration(alert.resolveAfter);
      const move = async (state: AlertState, notice?: "firing" | "resolved") => {
        current.state = state;
        current.since = now;
        await this.deps.store.commit({
          checkpoint: { key: `alert:${alert.name}`, value: JSON.stringify({ state, since: now }) },
        });
        if (notice) await this.#send(alert, notice, measured);
      };
      if (measured.active) {
        if (current.state === "ok")
          await move(forMs === 0 ? "firing" : "pending", forMs === 0 ? "firing" : undefined);
        else if (current.state === "pending" && now - current.since >= forMs) await move("firing", "firing");
        else if (current.state === "resolving") await move("firing");
      } else if (current.state === "pending") await move("ok");
      else if (current.state === "firing")
        await move(resolveMs === 0 ? "ok" : "resolving", resolveMs === 0 ? "resolved" : undefined);
      else if (current.state === "resolving" && now - current.since >= resolveMs)
        await move("ok", "resolved");
    }
  }

  async #send(alert: AlertModel, state: "firing" | "resolved", measured: Measurement): Promise<void> {
    const notice = createMessage({
      source: "junction:alerts",
      type: `junction.alert.${state}`,
      subject: alert.name,
      data: {
        alert: alert.name,
        state,
        severity: alert.severity,
        summary: measured.summary,
        value: measured.value,
        ...(alert.description ? { description: alert.description } : {}),
        at: new Date(this.#now()).toISOString(),
      },
    });
    const log =
      state === "firing"
        ? this.deps.logger.warn.bind(this.deps.logger)
        : this.deps.logger.info.bind(this.deps.logger);
    log(
      { alert: alert.name, severity: alert.severity, value: measured.value },
      `alert ${alert.name} ${state}: ${measured.summary}`,
    );
    try {
      await this.deps.notify(alert, notice);
    } catch (error) {
      this.deps.logger.error({ err: error, alert: alert.name }, "alert notice not delivered; will retry");
      this.#undelivered.push({ alert, notice });
    }
  }

  async #retryUndelivered(): Promise<void> {
    const pending = this.#undelivered.splice(0);
    for (const { alert, notice } of pending) {
      try {
        await this.deps.notify(alert, notice);
      } catch {
        this.#undelivered.push({ alert, notice });
      }
    }
  }

  async #measure(alert: AlertModel): Promise<Measurement> {
    const [kind, condition] = Object.entries(alert.when)[0] as [string, any];
    const { store, activity } = this.deps;
    switch (kind) {
      case "deadLetters": {
        const depth = await store.deadLetterDepth();
        const value = condition.route
          ? (depth[condition.route] ?? 0)
          : Object.values(depth).reduce((a, b) => a + b, 0);
        return {
          active: value > condition.above,
          value,
          summary: `${value} open dead letters${condition.route ? ` on ${condition.route}` : ""} (limit ${condition.above})`,
        };
      }
      case "errorRate":
      case "schemaViolations": {
        const window = activity.window(parseDuration(condition.window ?? "5m"), condition.route);
        const attempts = window.finished + window.failed;
        const value =
          kind === "errorRate"
            ? attempts === 0
              ? 0
              : window.failed / attempts
            : window.received === 0
              ? 0
              : window.schemaViolations / window.received;
        const enough = kind === "errorRate" ? attempts >= (condition.minimum ?? 10) : window.received > 0;
        const what = kind === "errorRate" ? "of attempts failed" : "of messages violated their schema";
        return {
          active: enough && value > condition.above,
          value,
          summary: `${(value * 100).toFixed(1)}% ${what} over ${condition.window ?? "5m"}`,
        };
      }
      case "channelDepth":
      case "channelAge": {
        const stats = (await store.stats()).filter((stat) => stat.channel === condition.channel);
        if (kind === "channelDepth") {
          const value = Math.max(0, ...stats.map((stat) => stat.depth));
          return {
            active: value > condition.above,
            value,
            summary: `${value} messages waiting in ${condition.channel}`,
          };
        }
        const value = Math.max(0, ...stats.map((stat) => stat.oldestAgeMs ?? 0)) / 1000;
        return {
          active: value * 1000 > parseDuration(condition.above),
          value,
          summary: `oldest message in ${condition.channel} is ${value.toFixed(0)} s old`,
        };
      }
      case "consumerLag": {
        const subscription = this.deps.subscriptionOf(condition.route);
        const value = subscription ? store.depth(subscription) : 0;
        return {
          active: value > condition.above,
          value,
          summary: `${value} messages waiting for ${condition.route}`,
        };
      }
      case "circuitOpen": {
        // Half-open still counts: the circuit has not recovered until a probe succeeds, and an alert
        // that resolved during every probe window would page once per probe.
        const open = this.deps
          .breakers()
          .filter(
            (breaker) =>
              breaker.state !== "closed" &&
              (!condition.connection || breaker.key === `connection:${condition.connection}`),
          );
        return {
          active: open.length > 0,
          value: open.length,
          summary: open.length ? `circuit open: ${open.map((b) => b.key).join(", ")}` : "all circuits closed",
        };
      }
      case "silence": {
        const routes = condition.route ? [condition.route] : this.#routesFromSystem(condition.system);
        const last = Math.max(...routes.map((route) => activity.lastReceived(route)), 0);
        const silentMs = this.#now() - last;
        const who = condition.route ? `route ${condition.route}` : `system ${condition.system}`;
        return {
          active: silentMs > parseDuration(condition.for),
          value: silentMs / 1000,
          summary: `nothing received from ${who} for ${(silentMs / 1000).toFixed(0)} s (limit ${condition.for})`,
        };
      }
      default:
        return { active: false, value: 0, summary: `unknown condition ${kind}` };
    }
  }

  /** Routes whose source reads from a system: `system:` on the source, or its connection's system. */
  #routesFromSystem(system: string): string[] {
    const { model } = this.deps;
    return Object.values(model.routes)
      .filter((route) => {
        const config = route.from.config;
        if (config && typeof config === "object") {
          if (config.system === system) return true;
          if (
            typeof config.connection === "string" &&
            model.connections[config.connection]?.system === system
          )
            return true;
        }
        return false;
      })
      .map((route) => route.name);
  }
}
