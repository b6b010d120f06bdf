import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { createInterface } from "node:readline";
import { ValidationError } from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { csvText, jsonLine } from "./encode.js";
import { exists, syncDir } from "./fs-util.js";
import { ioError } from "./io-errors.js";

/** The headers an extraction run puts on its messages (see connectors/sql/sql-poll.ts). */
const RUN_ID = "junction-run-id";
const RUN_SEQ = "junction-run-seq";
const RUN_COMPLETE = "junction-run-complete";

export interface RunWriterOptions {
  format: "ndjson" | "csv" | "json";
  columns?: string[];
  delimiter: string;
  header: boolean;
}

interface OpenRun {
  lines: number;
  /** Rows in the run, known once its last message came. */
  total?: number;
  queue: Promise<void>;
}

/** `out/orders.csv` for run `20261124T190500Z-1a2b3c` → `out/orders.20261124T190500Z-1a2b3c.csv`. */
export function runFilePath(path: string, runId: string): string {
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}.${runId}${ext}`;
}

/**
 * One file per extraction run. Rows are appended as JSON lines to a hidden staging file beside
 * the target (`.<name>.run`, which file sources skip; the run's row count beside it once its last
 * message came); once every row of the run is staged, the file is converted to its format in a temp file, fsynced and
 * renamed to its final name. A reader sees the whole run's file or nothing.
 */
export class RunWriter {
  readonly #runs = new Map<string, OpenRun>();

  constructor(
    private readonly path: string,
    private readonly options: RunWriterOptions,
  ) {}

  write(message: Message): Promise<void> {
    const id = message.headers[RUN_ID];
    if (!id || !/^[\w.-]+$/.test(id))
      throw new ValidationError(
        `message ${message.id} has no usable ${RUN_ID} header: mode: run writes the rows of extraction runs (a postgres or mysql source)`,
        { code: "JUNCTION_FILE_ENCODE_FAILED" },
      );
    if (message.data === null || typeof message.data !== "object" || Array.isArray(message.data))
      throw new ValidationError(`message ${message.id}: mode: run writes one object (a row) per message`, {
        code: "JUNCTION_FILE_ENCODE_FAILED",
      });
    const final = runFilePath(this.path, id);
    const staging = join(dirname(final), `.${basename(final)}.run`);
    let run = this.#runs.get(id);
    if (!run) {
      run = { lines: -1, queue: Promise.resolve() };
      this.#runs.set(id, run);
    }
    const current = run;
    // One run's writes go one after the other; runs are independent.
    const done = current.queue.then(() => this.#append(current, message, staging, final, id));
    current.queue = done.catch(() => {});
    return done;
  }

  async #append(run: OpenRun, message: Message, staging: string, final: string, id: string): Promise<void> {
    let handle: FileHandle | undefined;
    try {
      // A redelivery after the run's file was made (a crash before the last acknowledgement).
      if (await exists(final)) {
        await unlink(staging).catch(() => undefined);
        await unlink(`${staging}.total`).catch(() => undefined);
        return;
      }
      if (run.lines < 0) {
        run.lines = await countLines(staging);
        const total = await readFile(`${staging}.total`, "utf8").catch(() => undefined);
        if (total !== undefined) run.total = Number(total);
      }
      await mkdir(dirname(staging), { recursive: true });
      handle = await open(staging, "a");
      await handle.writeFile(jsonLine(message.data), "utf8");
      if (message.headers[RUN_COMPLETE] === "true") {
        run.total = Number(message.headers[RUN_SEQ]);
        await handle.sync();
        // Kept beside the rows: after a restart the rows still missing are told apart from the end.
        await writeFile(`${staging}.total`, String(run.total), { flush: true });
      }
      await handle.close();
      handle = undefined;
      run.lines++;
      // With route concurrency the last message may come before others: finish on the last row.
      if (run.total !== undefined && run.lines >= run.total) {
        await this.#finish(staging, final);
        this.#runs.delete(id);
      }
    } catch (error) {
      await handle?.close().catch(() => undefined);
      throw ioError(error, "write the run file", final);
    }
  }

  async #finish(staging: string, final: string): Promise<void> {
    const dir = dirname(final);
    if (this.options.format === "ndjson") {
      await rename(staging, final);
      await syncDir(dir);
      await unlink(`${staging}.total`).catch(() => undefined);
      return;
    }
    const temp = join(dir, `.${basename(final)}.${randomBytes(6).toString("hex")}.tmp`);
    const handle = await open(temp, "wx");
    try {
      let columns = this.options.columns;
      let first = true;
      if (this.options.format === "json") await handle.write("[\n");
      const lines = createInterface({ input: createReadStream(staging, "utf8"), crlfDelay: Infinity });
      for await (const line of lines) {
        if (line === "") continue;
        if (this.options.format === "json") {
          await handle.write(`${first ? "" : ",\n"}${line}`);
        } else {
          const row = JSON.parse(line) as Record<string, unknown>;
          columns ??= Object.keys(row);
          await handle.write(
            csvText([row], columns, {
              delimiter: this.options.delimiter,
              header: first && this.options.header,
            }),
          );
        }
        first = false;
      }
      if (this.options.format === "json") await handle.write(first ? "]\n" : "\n]\n");
      await handle.sync();
      await handle.close();
      await rename(temp, final);
      await syncDir(dir);
      await unlink(staging);
      await unlink(`${staging}.total`).catch(() => undefined);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#runs.values()].map((run) => run.queue));
  }
}

/** Rows already staged (after a restart, the staging file holds the run's earlier rows). */
async function countLines(path: string): Promise<number> {
  try {
    if ((await stat(path)).size === 0) return 0;
  } catch {
    return 0;
  }
  const text = await readFile(path, "utf8");
  let count = 0;
  for (let index = text.indexOf("\n"); index !== -1; index = text.indexOf("\n", index + 1)) count++;
  return count;
}
