import { mkdir } from "node:fs/promises";
import { extname, resolve } from "node:path";
import type { Source, SourceContext } from "../../api/component.js";
import { BackpressureError, ShuttingDownError, ValidationError } from "../../api/errors.js";
import { type MessageInit, withPayload } from "../../api/message.js";
import { parseDuration, parseSize } from "../../config/schema-types.js";
import { type PayloadFormat, resolveFormat } from "../../formats/payload.js";
import type { FileSourceConfig, RecordFormatName } from "./config.js";
import { moveInto, moveToFailed, remove } from "./disposition.js";
import { readRecords } from "./read-file.js";
import { FileFormatError, formatOf, type ReadOptions, type RecordItem } from "./records.js";
import { type Candidate, DropWatcher, fileIdentity } from "./watch.js";

/** Resolves after `ms`, or at once when the signal aborts: never rejects. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      done();
    }
    signal.addEventListener("abort", finish, { once: true });
  });
}

interface Pending {
  messages: MessageInit[];
  bad: { init: MessageInit; error: ValidationError }[];
}

type Outcome = "done" | "failed" | "stopped";

/**
 * Watches a drop directory and turns each complete file into one message per record. Records are
 * stored in batches, each committed together with the file's progress, so a restart resumes after
 * the last stored record: nothing twice, nothing lost. Finished files move to `done/`, files that
 * cannot be parsed to `failed/` with a reason file; single bad records become dead letters.
 */
export class FileSource implements Source {
  readonly #abort = new AbortController();
  readonly #warned = new Set<string>();
  /** A codec `format: { ... }`: the whole file is one payload. */
  #codec: PayloadFormat | undefined;
  #loop: Promise<void> | undefined;

  constructor(private readonly config: FileSourceConfig) {}

  async start(context: SourceContext): Promise<void> {
    if (context.signal.aborted) this.#abort.abort();
    else context.signal.addEventListener("abort", () => this.#abort.abort(), { once: true });
    // A codec key (`format: { yaml: {} }`); the names csv, ndjson, json and xml stream records instead.
    this.#codec =
      typeof this.config.format === "object"
        ? resolveFormat(this.config.format, context, `file source in route "${context.owner}"`)
        : undefined;
    const dir = resolve(context.configDir, this.config.dir);
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      context.logger.error({ err: error, dir }, "cannot create the drop directory; will keep looking");
    }
    this.#loop = this.#run(context, dir);
  }

  /** Ends the poll loop; a file in progress stops at its next batch boundary (its progress is kept). */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  async #run(context: SourceContext, dir: string): Promise<void> {
    const signal = this.#abort.signal;
    const watcher = new DropWatcher(dir, this.config.pattern);
    const interval = parseDuration(this.config.pollInterval ?? "1s");
    let lastError = "";
    while (!signal.aborted) {
      try {
        for (const file of await watcher.poll()) {
          if (signal.aborted) break;
          const outcome = await this.#take(context, dir, file);
          if (outcome === "done" || outcome === "failed") watcher.forget(file.name);
        }
        lastError = "";
      } catch (error) {
        // One log line per distinct problem, not one per poll.
        const text = String((error as Error)?.message ?? error);
        if (text !== lastError) context.logger.error({ err: error, dir }, "file source poll failed");
        lastError = text;
      }
      await pause(interval, signal);
    }
  }

  /** Process one ready file; undefined when it was left in place (unknown format). */
  async #take(context: SourceContext, dir: string, file: Candidate): Promise<Outcome | undefined> {
    const format =
      this.#codec ??
      formatOf(
        file.name,
        typeof this.config.format === "string" ? (this.config.format as RecordFormatName) : undefined,
      );
    if (!format) {
      if (!this.#warned.has(file.name)) {
        this.#warned.add(file.name);
        context.logger.warn(
          { file: file.name },
          "left in place: no `format` configured and the extension names none (.csv, .tsv, .ndjson, .jsonl, .json, .xml)",
        );
      }
      return undefined;
    }
    const started = Date.now();
    const outcome = await this.processFile(context, file, format);
    if (outcome.result === "done") {
      if (this.config.delete) await remove(file.path);
      else await moveInto(file.path, file.name, resolve(dir, this.config.doneDir ?? "done"));
      context.logger.info(
        { file: file.name, records: outcome.records, ms: Date.now() - started },
        "file processed",
      );
    } else if (outcome.result === "failed") {
      const error = outcome.error!;
      const reason = [
        `${file.name} cannot be read as ${typeof format === "string" ? format : format.name}: ${error.message}`,
        `Records stored before the error: ${outcome.records}`,
        `Failed at: ${new Date().toISOString()}`,
      ].join("\n");
      await moveToFailed(file.path, file.name, resolve(dir, this.config.failedDir ?? "failed"), reason);
      context.logger.warn({ file: file.name, reason: error.message }, "file moved to failed");
    }
    return outcome.result;
  }

  /**
   * Read a file's records and store them from the checkpoint on. Exposed for tests: it neither
   * moves nor deletes the file.
   */
  async processFile(
    context: SourceContext,
    file: Candidate,
    format: RecordFormatName | PayloadFormat,
  ): Promise<{ result: Outcome; records: number; error?: FileFormatError }> {
    const signal = this.#abort.signal;
    const key = `file:${fileIdentity(file)}`;
    const done = Number(context.checkpoint(key) ?? 0);
    const options = this.#readOptions(format, file.name);
    const batchSize = this.config.batch ?? 500;

    if (done === 0 && (this.config.precheck ?? true)) {
      // Read it all once first: a truncated or malformed file is refused before any record is stored.
      try {
        for await (const _ of readRecords(file.path, file.size, options)) {
          if (signal.aborted) return { result: "stopped", records: 0 };
        }
      } catch (error) {
        if (error instanceof FileFormatError) return { result: "failed", records: 0, error };
        throw error;
      }
    }

    const source = this.config.system ?? `file:${this.config.dir}`;
    let pending: Pending = { messages: [], bad: [] };
    let number = 0;
    let stored = done;
    const flush = async (): Promise<boolean> => {
      if (number === stored) return true;
      const ok = await this.#store(context, pending, { key, value: String(number) });
      if (ok) {
        stored = number;
        pending = { messages: [], bad: [] };
      }
      return ok;
    };
    try {
      for await (const item of readRecords(file.path, file.size, options)) {
        number++;
        if (number <= done) continue; // stored before a restart
        this.#add(pending, item, number, file.name, source);
        if (number - stored >= batchSize && !(await flush())) return { result: "stopped", records: stored };
      }
    } catch (error) {
      if (!(error instanceof FileFormatError)) throw error;
      // Keep what was read before the error, so the reason file's count is exact.
      if (!(await flush())) return { result: "stopped", records: stored };
      return { result: "failed", records: stored, error };
    }
    if (!(await flush())) return { result: "stopped", records: stored };
    return { result: "done", records: number };
  }

  #readOptions(format: RecordFormatName | PayloadFormat, name: string): ReadOptions {
    const config = this.config;
    return {
      format,
      header: config.header ?? true,
      delimiter: config.delimiter ?? (extname(name).toLowerCase() === ".tsv" ? "\t" : ","),
      maxRecordSize: parseSize(config.maxRecordSize ?? "16mb"),
      ...(config.names ? { names: config.names } : {}),
      ...(config.columns ? { columns: config.columns } : {}),
      ...(config.recordElement ? { recordElement: config.recordElement } : {}),
    };
  }

  #add(pending: Pending, item: RecordItem, number: number, name: string, source: string): void {
    const headers = {
      "junction-file": name,
      "junction-record": String(number),
      "junction-line": String(item.line),
    };
    const base = { source, type: "junction.file.record", subject: name, headers };
    if ("record" in item) {
      pending.messages.push(withPayload(base, item.record, "application/json"));
      return;
    }
    pending.bad.push({
      init: { ...base, data: item.raw },
      error: new ValidationError(`${name} line ${item.line} (record ${number}): ${item.reason}`, {
        code: "JUNCTION_FILE_BAD_RECORD",
        details: { file: name, line: item.line, record: number },
      }),
    });
  }

  /**
   * Dead-letter the batch's bad records, then store its good ones with the checkpoint. A crash in
   * between can repeat a dead letter, never lose one. Returns false when stopped before the commit.
   */
  async #store(
    context: SourceContext,
    pending: Pending,
    checkpoint: { key: string; value: string },
  ): Promise<boolean> {
    const signal = this.#abort.signal;
    if (signal.aborted) return false;
    for (const { init, error } of pending.bad) await context.deadLetter(init, error);
    pending.bad = [];
    for (;;) {
      if (signal.aborted) return false;
      try {
        await context.emit(pending.messages, { checkpoint });
        return true;
      } catch (error) {
        if (error instanceof ShuttingDownError) return false;
        // The route is full: wait and offer the same batch again; nothing is skipped.
        if (error instanceof BackpressureError) await pause(error.retryAfterMs ?? 1000, signal);
        else throw error;
      }
    }
  }
}
