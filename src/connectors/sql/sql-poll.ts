import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Source, SourceContext } from "../../api/component.js";
import {
  BackpressureError,
  ConfigError,
  ConnectionError,
  isJunctionError,
  ShuttingDownError,
  toJunctionError,
} from "../../api/errors.js";
import type { MessageInit } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import { type RunRecord, runLog } from "./run-log.js";
import { checkSchedule, missedTick, RunSchedule } from "./schedule.js";
import type { SqlPollConfig } from "./sql-config.js";
import { namedPlaceholders, type SqlDatabase } from "./sql-database.js";

/** Where the source is: the (watermark, key) of the last row stored. */
export interface PollPosition {
  watermark: unknown;
  key: unknown;
}

export const WATERMARK_CHECKPOINT = "watermark";

/** Headers every extracted message carries. */
export const RUN_ID_HEADER = "junction-run-id";
/** 1-based position of the row in its run. */
export const RUN_SEQ_HEADER = "junction-run-seq";
/** "true" on the last message of a run. */
export const RUN_COMPLETE_HEADER = "junction-run-complete";
/** "true" on the last message of a snapshot run: the sink has seen the whole table. */
export const SNAPSHOT_COMPLETE_HEADER = "junction-snapshot-complete";

/** A run that stored some rows but not its last: resumed, same id, after a restart. */
interface OpenRun {
  id: string;
  seq: number;
  startedAt: string;
  /** Snapshot: the key of the last row stored. */
  after?: unknown;
}

/**
 * The checkpoint: the incremental position (the only content before runs existed, still read),
 * the open run, and when the last finished run started (for misfires).
 */
interface PollState {
  watermark?: unknown;
  key?: unknown;
  run?: OpenRun;
  lastRun?: string;
}

/** Check a polling source's config beyond its schema; the message names the route. */
export function checkPollConfig(config: SqlPollConfig, connector: string, route: string): void {
  const where = `${connector} source in route "${route}"`;
  if (config.table && config.sql) throw new ConfigError(`${where}: give \`table\` or \`sql\`, not both`);
  if (!config.table && !config.sql) throw new ConfigError(`${where}: needs \`table\` or \`sql\` to poll`);
  if (config.interval !== undefined && config.schedule)
    throw new ConfigError(`${where}: give \`interval\` or \`schedule\`, not both`);
  if (config.schedule) checkSchedule(config.schedule, where);
  if (config.mode === "snapshot") {
    if (!config.key)
      throw new ConfigError(
        `${where}: mode: snapshot needs \`key\`, a unique column to page through the table in order`,
      );
    for (const field of ["watermark", "start"] as const) {
      if (config[field] !== undefined)
        throw new ConfigError(
          `${where}: \`${field}\` goes with mode: incremental; a snapshot reads every row`,
        );
    }
    return;
  }
  if (!config.watermark)
    throw new ConfigError(`${where}: needs \`watermark\`, the column that grows on every write`);
  if (!config.key)
    throw new ConfigError(
      `${where}: needs \`key\`, a unique column that orders rows sharing a watermark (else a batch ending inside such a group would lose the rest)`,
    );
  if (config.sql) {
    if (config.where)
      throw new ConfigError(`${where}: \`where\` goes with \`table\`; put the condition in \`sql\``);
    for (const name of ["watermark", "key"]) {
      if (!new RegExp(`(?<![:\\w]):${name}\\b`).test(config.sql))
        throw new ConfigError(
          `${where}: \`sql\` must use the :${name} placeholder, e.g. WHERE (${config.watermark}, ${config.key}) > (:watermark, :key)`,
        );
    }
    if (!config.start)
      throw new ConfigError(
        `${where}: \`sql\` needs \`start: { watermark, key }\`, the position before the first row`,
      );
  }
}

/**
 * Extraction in runs. Incremental: rows past the last (watermark, key), in that order. Snapshot:
 * every row, in key order. Either way `batch` rows at a time, each batch's messages stored with the
 * new position in one commit, so a restart resumes exactly after the last stored row (nothing lost,
 * nothing repeated) and an interrupted run goes on under its own id. Runs follow `interval` (the
 * next starts once the last caught up) or a cron `schedule` (never overlapping). A failed query is
 * reported to the engine, which restarts the source with backoff; the run then resumes at once.
 */
export class SqlPollingSource implements Source {
  #calls = 0;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #schedule: RunSchedule | undefined;
  #state: PollState = {};
  /** The last run failed: the engine restarts this same instance, which then runs again at once. */
  #failed = false;

  constructor(
    private readonly db: SqlDatabase,
    private readonly config: SqlPollConfig,
  ) {}

  get #snapshot(): boolean {
    return this.config.mode === "snapshot";
  }

  async start(context: SourceContext): Promise<void> {
    const first = this.#calls++ === 0;
    const saved = context.checkpoint(WATERMARK_CHECKPOINT);
    this.#state = saved ? (JSON.parse(saved) as PollState) : {};
    if (!this.#snapshot && this.#state.watermark === undefined && this.config.start)
      this.#state = { ...this.#state, ...this.config.start };
    try {
      // A query that returns nothing, to check the table, the columns and the credentials now.
      await this.#page(null, 0, context.signal);
    } catch (thrown) {
      const error = toJunctionError(thrown);
      // Only the first start may fail the engine; later restarts keep retrying with backoff.
      if (first && this.db.dialect.isSetupError(error)) {
        throw new ConfigError(`route "${context.owner}": ${error.message}`, { cause: error });
      }
      throw error;
    }
    const abort = new AbortController();
    this.#abort = abort;
    const signal = AbortSignal.any([abort.signal, context.signal]);
    const wait = (ms: number) => sleep(ms, undefined, { signal }).catch(() => {});

    const schedule = this.config.schedule;
    if (schedule) {
      // Misfires: an interrupted run resumes, and one missed tick (or more) gives one run, at once.
      let pending: RunRecord["trigger"] | undefined = this.#state.run
        ? "resume"
        : this.#failed ||
            (this.#state.lastRun && missedTick(schedule, new Date(this.#state.lastRun), new Date()))
          ? "catch-up"
          : undefined;
      const job = new RunSchedule(
        schedule,
        () => {
          const trigger = pending ?? "tick";
          pending = undefined;
          if (signal.aborted) return Promise.resolve();
          // Kept so that stop() waits for the run in progress.
          this.#loop = this.#run(context, trigger, signal, wait).then((failure) => {
            if (failure !== undefined && !signal.aborted) context.lost(failure);
          });
          return this.#loop;
        },
        (tick) => {
          runLog.skipped(context.owner);
          context.logger.warn(
            { tick: tick.toISOString(), schedule: schedule.cron },
            "extraction tick skipped: the previous run is still going",
          );
        },
      );
      this.#schedule = job;
      job.start();
      context.logger.info(
        { schedule: schedule.cron, timezone: schedule.timezone ?? "UTC", next: job.nextRun()?.toISOString() },
        "extraction scheduled",
      );
      if (pending) void job.runNow();
      return;
    }

    const intervalMs = parseDuration(this.config.interval ?? "5s");
    this.#loop = (async () => {
      while (!signal.aborted) {
        const trigger = this.#state.run ? "resume" : "poll";
        const failure = await this.#run(context, trigger, signal, wait);
        if (signal.aborted) return;
        if (failure !== undefined) {
          context.lost(failure);
          return;
        }
        await wait(intervalMs);
      }
    })();
  }

  /**
   * One run: pages until one comes back short. Each page is stored with the position after its
   * last row; the last page also closes the run. Answers the error that failed it, if any.
   */
  async #run(
    context: SourceContext,
    trigger: RunRecord["trigger"],
    signal: AbortSignal,
    wait: (ms: number) => Promise<void>,
  ): Promise<unknown> {
    const mode = this.#snapshot ? "snapshot" : "incremental";
    const open: OpenRun = this.#state.run ?? {
      id: runId(new Date()),
      seq: 0,
      startedAt: new Date().toISOString(),
    };
    this.#failed = false;
    const began = performance.now();
    const resumedRows = open.seq;
    const batch = this.config.batch ?? 500;
    const retryMs = Math.min(parseDuration(this.config.interval ?? "5s"), 5000);
    const subject = this.config.subject ?? this.config.table;
    const source = this.config.system ?? `${this.db.dialect.name}:${this.db.name}`;
    const type = `junction.${this.db.dialect.name}.row`;
    const quiet = trigger === "poll";
    const log = context.logger.child({ run: open.id, mode });
    const finish = (outcome: RunRecord["outcome"], error?: unknown) => {
      const record: RunRecord = {
        route: context.owner,
        id: open.id,
        mode,
        trigger,
        startedAt: open.startedAt,
        durationMs: Math.round(performance.now() - began),
        rows: open.seq,
        outcome,
        ...(error !== undefined ? { error: (error as Error)?.message ?? String(error) } : {}),
      };
      // An interval poll that found nothing (or was stopped before it did) is not worth a line.
      if (quiet && open.seq === 0 && outcome !== "failed") return;
      runLog.record(record);
      const fields = { rows: record.rows, durationMs: record.durationMs, outcome, trigger: record.trigger };
      if (outcome === "failed") log.warn({ ...fields, err: error }, "extraction run failed");
      else log.info(fields, `extraction run ended: ${outcome}`);
    };
    if (!quiet)
      log.info(
        { trigger, ...(resumedRows > 0 ? { resumedAfterRows: resumedRows } : {}) },
        "extraction run started",
      );

    for (;;) {
      if (signal.aborted) {
        finish("interrupted");
        return undefined;
      }
      const position = this.#snapshot
        ? open.seq > 0
          ? { watermark: null, key: open.after }
          : null
        : this.#state.watermark === undefined
          ? null
          : { watermark: this.#state.watermark, key: this.#state.key };
      let rows: Record<string, unknown>[];
      try {
        // One row more than the batch tells whether this page is the run's last.
        rows = await this.#page(position, batch + 1, signal);
      } catch (error) {
        if (signal.aborted) {
          finish("interrupted");
          return undefined;
        }
        finish("failed", error);
        this.#failed = true;
        return error;
      }
      if (signal.aborted) {
        finish("interrupted");
        return undefined;
      }
      const more = rows.length > batch;
      const page = more ? rows.slice(0, batch) : rows;
      const last = page[page.length - 1];
      const next: PollState = { ...this.#state };
      if (last) {
        const watermark = this.#snapshot ? null : last[this.config.watermark!];
        const key = last[this.config.key!];
        if (
          (!this.#snapshot && (watermark === undefined || watermark === null)) ||
          key === undefined ||
          key === null
        ) {
          const error = new ConfigError(
            `route "${context.owner}": extracted rows must have non-null ${this.#snapshot ? "" : `"${this.config.watermark}" and `}"${this.config.key}" columns`,
          );
          finish("failed", error);
          this.#failed = true;
          return error;
        }
        if (!this.#snapshot) {
          next.watermark = watermark;
          next.key = key;
        }
      }
      if (more)
        next.run = {
          ...open,
          seq: open.seq + page.length,
          ...(this.#snapshot ? { after: last?.[this.config.key!] } : {}),
        };
      else {
        delete next.run;
        next.lastRun = open.startedAt;
      }
      const messages: MessageInit[] = page.map((row, index) => {
        const seq = open.seq + index + 1;
        const end = !more && index === page.length - 1;
        return {
          source,
          type,
          ...(subject ? { subject } : {}),
          datacontenttype: "application/json",
          data: row,
          headers: {
            [RUN_ID_HEADER]: open.id,
            [RUN_SEQ_HEADER]: String(seq),
            ...(end ? { [RUN_COMPLETE_HEADER]: "true" } : {}),
            ...(end && this.#snapshot ? { [SNAPSHOT_COMPLETE_HEADER]: "true" } : {}),
          },
        };
      });
      // An empty end of an interval poll changes nothing worth a commit.
      const store = messages.length > 0 || !quiet || open.seq > 0;
      if (store) {
        try {
          await context.emit(messages, {
            checkpoint: { key: WATERMARK_CHECKPOINT, value: JSON.stringify(next) },
          });
        } catch (error) {
          if (error instanceof ShuttingDownError || signal.aborted) {
            finish("interrupted");
            return undefined;
          }
          // The route's inbox is full: check again soon (a depth check in memory, cheap).
          if (error instanceof BackpressureError) await wait(Math.min(error.retryAfterMs ?? 200, 200));
          else {
            log.warn({ err: error }, "could not store extracted rows; reading the page again");
            await wait(retryMs);
          }
          continue;
        }
      }
      this.#state = next;
      if (page.length > 0) {
        runLog.addRows(context.owner, page.length);
        open.seq += page.length;
        if (this.#snapshot) open.after = last?.[this.config.key!];
      }
      if (!more) {
        finish("success");
        return undefined;
      }
    }
  }

  /** The next page: past `position` in (watermark, key) order, or in key order for a snapshot. */
  #page(position: PollPosition | null, limit: number, signal: AbortSignal) {
    return this.#snapshot
      ? this.#fetchSnapshot(position?.key, limit, signal)
      : this.#fetch(position, limit, signal);
  }

  /** Rows with a key above `after` (all when undefined), in key order; `limit` 0 only checks the query. */
  async #fetchSnapshot(
    after: unknown,
    limit: number,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>[]> {
    const { dialect } = this.db;
    const key = dialect.quote(this.config.key!);
    const params: unknown[] = [];
    const conditions: string[] = [];
    if (this.config.where) conditions.push(`(${this.config.where})`);
    if (after !== undefined && after !== null) {
      params.push(after);
      conditions.push(`${key} > ${dialect.placeholder(1)}`);
    }
    const from = this.config.sql
      ? `(${this.config.sql.trim().replace(/;\s*$/, "")}) junction_snapshot`
      : dialect.quote(this.config.table!);
    const sql = `SELECT * FROM ${from}${conditions.length > 0 ? ` WHERE ${conditions.join(" AND ")}` : ""} ORDER BY ${key} LIMIT ${limit}`;
    return this.#query(sql, params, signal);
  }

  /** The rows after `position`, in (watermark, key) order; `limit` 0 only checks the query. */
  async #fetch(
    position: PollPosition | null,
    limit: number,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>[]> {
    const { dialect } = this.db;
    const watermark = dialect.quote(this.config.watermark!);
    const key = dialect.quote(this.config.key!);
    const params: unknown[] = [];
    let sql: string;
    if (this.config.sql) {
      const named = namedPlaceholders(
        this.config.sql.trim().replace(/;\s*$/, ""),
        ["watermark", "key"],
        dialect,
      );
      const values = position ?? { watermark: null, key: null };
      for (const name of named.order) params.push(name === "watermark" ? values.watermark : values.key);
      sql = `SELECT * FROM (${named.sql}) junction_poll ORDER BY ${watermark}, ${key} LIMIT ${limit}`;
    } else {
      const conditions: string[] = [];
      if (this.config.where) conditions.push(`(${this.config.where})`);
      if (position) {
        const next = (value: unknown) => {
          params.push(value);
          return dialect.placeholder(params.length);
        };
        conditions.push(dialect.after(watermark, key, next, position.watermark, position.key));
      }
      sql = `SELECT * FROM ${dialect.quote(this.config.table!)}${
        conditions.length > 0 ? ` WHERE ${conditions.join(" AND ")}` : ""
      } ORDER BY ${watermark}, ${key} LIMIT ${limit}`;
    }
    return this.#query(sql, params, signal);
  }

  async #query(sql: string, params: unknown[], signal: AbortSignal): Promise<Record<string, unknown>[]> {
    const { dialect } = this.db;
    try {
      return await this.db.query(sql, params, signal);
    } catch (error) {
      if (isJunctionError(error)) throw error;
      throw new ConnectionError(`${dialect.name} "${this.db.name}": ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    this.#schedule?.stop();
    this.#schedule = undefined;
    await this.#loop;
    this.#abort = undefined;
    this.#loop = undefined;
  }
}

/** A run id that sorts by time and can name a file: `20261124T190500Z-1a2b3c`. */
function runId(at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}
