import type { ChildProcess } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type Agent, request } from "undici";
import { tempDir } from "../helpers/engine.js";
import { exited, freePort, spawnJunction, waitReady } from "../helpers/process.js";

/**
 * Shared pieces of the chaos scenarios: the size switch (CI or full), seeded randomness, an engine
 * running as a real `junction run` process that can be SIGKILLed and restarted, and small
 * measuring tools. Every scenario prints a one-line summary and its seed.
 */

export const FULL = process.env.CHAOS_SIZE === "full";

/** The CI value or, with CHAOS_SIZE=full, the full one. */
export function size<T>(ci: T, full: T): T {
  return FULL ? full : ci;
}

/** A seed from CHAOS_SEED (to replay a run) or a fresh one. */
export function chaosSeed(): number {
  const given = process.env.CHAOS_SEED;
  if (given !== undefined && given !== "") return Number(given) >>> 0;
  return (Math.random() * 2 ** 32) >>> 0;
}

/** mulberry32: a small, fast, seedable generator in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** One line per scenario, greppable: `chaos <name>: k=v k=v ...`. */
export function summary(name: string, fields: Record<string, unknown>): void {
  const parts = Object.entries(fields).map(([key, value]) =>
    typeof value === "number" && !Number.isInteger(value) ? `${key}=${value.toFixed(1)}` : `${key}=${value}`,
  );
  console.log(`chaos ${name}: ${parts.join(" ")}`);
}

/** Poll until `check` returns a truthy value; throws with `what` after `timeoutMs`. */
export async function until<T>(
  check: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  intervalMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export interface ChannelStat {
  channel: string;
  subscription: string;
  kind: string;
  depth: number;
  inFlight: number;
}

export interface RouteStat {
  name: string;
  inFlight: number;
  processed: number;
  failed: number;
  deadLettered: number;
  circuit: "closed" | "open" | "half-open" | "none";
  depth: number;
}

/**
 * A Junction engine as users run it (`junction run -c junction.yaml` through tsx), on ephemeral
 * loopback ports, with its store and log in a temporary directory.
 */
export class EngineProcess {
  readonly dir: string;
  readonly config: string;
  readonly logFile: string;
  readonly storeFile: string;
  httpPort = 0;
  adminPort = 0;
  child: ChildProcess | undefined;
  /** Milliseconds from spawn to /readyz for every start. */
  readonly startTimes: number[] = [];

  private constructor(dir: string) {
    this.dir = dir;
    this.config = join(dir, "junction.yaml");
    this.logFile = join(dir, "junction.log");
    this.storeFile = join(dir, "store.db");
  }

  /**
   * `yaml` holds channels/policies/routes; the engine section (store, ports) is added here.
   * `files` are written beside the config.
   */
  static async create(
    yaml: string,
    options: { files?: Record<string, string>; engine?: string } = {},
  ): Promise<EngineProcess> {
    const engine = new EngineProcess(tempDir(options.files));
    engine.#configText = (ports) => `${yaml}
engine:
  store: { sqlite: { path: store.db } }
  http: { listen: "127.0.0.1:${ports.http}" }
  admin: { listen: "127.0.0.1:${ports.admin}" }
${options.engine ?? ""}
`;
    await engine.#choosePorts();
    return engine;
  }

  #configText: (ports: { http: number; admin: number }) => string = () => "";

  /** Free loopback ports for the listeners, written into the configuration. */
  async #choosePorts(): Promise<void> {
    this.httpPort = await freePort();
    this.adminPort = await freePort();
    writeFileSync(this.config, this.#configText({ http: this.httpPort, admin: this.adminPort }));
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Start and wait for /readyz. A port picked free may still be taken by another process before the
   * engine binds it (`freePort` makes that unlikely): then the engine exits with EADDRINUSE and
   * starts again on new ports.
   */
  async start(timeoutMs = 60_000): Promise<number> {
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      const logBefore = this.log().length;
      this.child = spawnJunction(["run", "-c", this.config], { logFile: this.logFile });
      try {
        await waitReady(`${this.adminUrl}/readyz`, timeoutMs, this.child);
        break;
      } catch (error) {
        if (attempt >= 3 || this.running || !(await this.#loggedSince(logBefore, "EADDRINUSE"))) throw error;
        await this.#choosePorts();
      }
    }
    const elapsed = performance.now() - started;
    this.startTimes.push(elapsed);
    return elapsed;
  }

  /** Whether the log got `text` after `offset`, allowing a moment for the exited child's output to land. */
  async #loggedSince(offset: number, text: string): Promise<boolean> {
    for (let waited = 0; waited <= 1000; waited += 100) {
      if (this.log().slice(offset).includes(text)) return true;
      await sleep(100);
    }
    return false;
  }

  /** SIGKILL: no shutdown hooks, no flush, a crash. */
  async kill(): Promise<void> {
    if (!this.child) return;
    if (this.running) this.child.kill("SIGKILL");
    await exited(this.child);
  }

  /** SIGTERM and wait for the exit; resolves with the exit code. */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (!this.child) return null;
    if (!this.running) return this.child.exitCode;
    const child = this.child;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const { code } = await exited(child);
    clearTimeout(timer);
    return code;
  }

  /** Resident set size of the engine process in MB, from /proc (Linux). */
  rssMb(): number | undefined {
    if (!this.pid || !this.running) return undefined;
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      return match ? Number(match[1]) / 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  async admin<T>(path: string, init?: { method?: string; body?: unknown }): Promise<T> {
    const response = await fetch(`${this.adminUrl}${path}`, {
      method: init?.method ?? "GET",
      ...(init?.body !== undefined
        ? { body: JSON.stringify(init.body), headers: { "content-type": "application/json" } }
        : {}),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (!response.ok)
      throw new Error(`${init?.method ?? "GET"} ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as T;
  }

  channels(): Promise<ChannelStat[]> {
    return this.admin<ChannelStat[]>("/api/channels");
  }

  routes(): Promise<RouteStat[]> {
    return this.admin<RouteStat[]>("/api/routes");
  }

  async route(name: string): Promise<RouteStat> {
    const route = (await this.routes()).find((candidate) => candidate.name === name);
    if (!route) throw new Error(`no route ${name}`);
    return route;
  }

  /** True when every channel and inbox is empty and nothing is in flight. */
  async drained(): Promise<boolean> {
    const channels = await this.channels();
    return channels.every((channel) => channel.depth === 0 && channel.inFlight === 0);
  }

  /** `PRAGMA integrity_check` on the store file, opened read-only (run after a clean stop). */
  integrityCheck(): string {
    const db = new Database(this.storeFile, { readonly: true, fileMustExist: true });
    try {
      return db.pragma("integrity_check", { simple: true }) as string;
    } finally {
      db.close();
    }
  }

  /** Delete the temporary directory (store, log); call it once a scenario passed. */
  remove(): void {
    if (this.running) throw new Error("stop the engine first");
    rmSync(this.dir, { recursive: true, force: true });
  }

  log(): string {
    try {
      return readFileSync(this.logFile, "utf8");
    } catch {
      return "";
    }
  }
}

/** Samples a value every `intervalMs` until stopped; keeps the maximum. */
export class Sampler {
  max = 0;
  readonly samples: number[] = [];
  #timer: NodeJS.Timeout;
  constructor(read: () => number | undefined, intervalMs = 250) {
    this.#timer = setInterval(() => {
      const value = read();
      if (value === undefined) return;
      this.samples.push(value);
      this.max = Math.max(this.max, value);
    }, intervalMs);
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

export interface PostResult {
  status: number | "error";
  id?: string;
  retryAfter?: string;
  replayed?: boolean;
}

/** One POST of a JSON body to the webhook, bounded by a timeout; never throws. */
export async function postJson(
  url: string,
  body: unknown,
  options: { dispatcher?: Agent; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<PostResult> {
  try {
    const response = await request(url, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", ...options.headers },
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const retryAfter = response.headers["retry-after"];
    const replayed = response.headers["idempotent-replayed"] === "true";
    if (response.statusCode === 202) {
      const json = (await response.body.json()) as { id: string };
      return { status: 202, id: json.id, replayed };
    }
    await response.body.dump();
    return {
      status: response.statusCode,
      ...(retryAfter !== undefined ? { retryAfter: String(retryAfter) } : {}),
    };
  } catch {
    return { status: "error" };
  }
}
