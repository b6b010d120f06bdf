import type { Source, SourceContext } from "../api/component.js";
import { ConfigError } from "../api/errors.js";
import type { Logger } from "../observe/logger.js";

const INITIAL_MS = 500;
const MAX_MS = 30_000;

/**
 * Owns a source's connection lifecycle so connectors never write reconnect loops: a start that
 * fails with anything but a config error is retried with capped exponential backoff (full jitter),
 * and a source that reports `lost()` is stopped and started again the same way.
 */
export class SourceSupervisor {
  #attempt = 0;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #restarting: Promise<void> | undefined;
  #state: "idle" | "running" | "reconnecting" | "failed" = "idle";

  constructor(
    private readonly source: Source,
    private readonly context: (lost: (error: unknown) => void) => SourceContext,
    private readonly logger: Logger,
  ) {}

  get state() {
    return this.#state;
  }

  /** First start: a ConfigError fails the engine's start; other errors are retried in the background. */
  async start(): Promise<void> {
    try {
      await this.source.start(this.context((error) => this.#lost(error)));
      this.#state = "running";
      this.#attempt = 0;
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      this.#schedule(error);
    }
  }

  #lost(error: unknown): void {
    if (this.#stopped || this.#state === "reconnecting") return;
    this.#state = "reconnecting";
    this.logger.warn({ err: error }, "source lost its system; reconnecting");
    this.#restarting = this.source
      .stop()
      .catch(() => {})
      .then(() => this.#schedule(error));
  }

  #schedule(error: unknown): void {
    if (this.#stopped) return;
    this.#state = "reconnecting";
    this.#attempt++;
    const ceiling = Math.min(MAX_MS, INITIAL_MS * 2 ** (this.#attempt - 1));
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.logger.warn(
      { err: error, attempt: this.#attempt, retryInMs: delay },
      `source could not start: ${(error as Error)?.message ?? error}`,
    );
    this.#timer = setTimeout(() => {
      if (this.#stopped) return;
      this.start().catch((failure) => {
        // A configuration problem found on a later start will not go away by retrying.
        this.#state = "failed";
        this.logger.error({ err: failure }, `source stopped: ${(failure as Error)?.message ?? failure}`);
      });
    }, delay);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#restarting;
    await this.source.stop();
    this.#state = "idle";
  }
}
