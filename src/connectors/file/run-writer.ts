import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  type FileHandle,
  mkdir,
  open,
  readFile,
  rename,
  truncate,
  unlink,
  writeFile,
} from "node:fs/promises";
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
  /** Positions (junction-run-seq) staged so far; undefined until the staging file was read. */
  seqs?: Set<number>;
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
      run = { queue: Promise.resolve() };
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
      if (!run.seqs) {
        run.seqs = await stagedSeqs(staging);
        const total = await readFile(`${staging}.total`, "utf8").catch(() => undefined);
        if (total !== undefined) run.total = Number(total);
      }
      const seq = Number(message.headers[RUN_SEQ]);
      await mkdir(dirname(staging), { recursive: true });
      handle = await open(staging, "a");
      // A row redelivered after a crash is staged once: it is known by its position in the run.
      if (!run.seqs.has(seq)) await handle.writeFile(`${JSON.stringify([seq, message.data])}\n`, "utf8");
      if (message.headers[RUN_COMPLETE] === "true") {
        run.total = Number(message.headers[RUN_SEQ]);
        await handle.sync();
        // Kept beside the rows: after a restart the rows still missing are told apart from the end.
        await writeFile(`${staging}.total`, String(run.total), { flush: true });
      }
      await handle.close();
      handle = undefined;
      run.seqs.add(seq);
      // With route concurrency the last message may come before others: finish on the last row.
      if (run.total !== undefined && run.seqs.size >= run.total) {
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
    const temp = join(dir, `.${basename(final)}.${randomBytes(6).toString("hex")}.tmp`);
    const handle = await open(temp, "wx");
    try {
      let columns = this.options.columns;
      let first = true;
      if (this.options.format === "json") await handle.write("[\n");
      const lines = createInterface({ input: createReadStream(staging, "utf8"), crlfDelay: Infinity });
      const seen = new Set<number>();
      for await (const line of lines) {
        if (line === "") continue;
        const [seq, row] = JSON.parse(line) as [number, Record<string, unknown>];
        if (seen.has(seq)) continue;
        seen.add(seq);
        if (this.options.format === "json") await handle.write(`${first ? "" : ",\n"}${JSON.stringify(row)}`);
        else if (this.options.format === "ndjson") await handle.write(jsonLine(row));
        else {
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

/**
 * Positions already staged (after a restart, the staging file holds the run's earlier rows). A
 * last line cut short by a crash is cut off: its row was not acknowledged and comes again.
 */
async function stagedSeqs(path: string): Promise<Set<number>> {
  const seqs = new Set<number>();
  if (!(await exists(path))) return seqs;
  const text = await readFile(path, "utf8");
  const end = text.lastIndexOf("\n") + 1;
  if (end < text.length) await truncate(path, Buffer.byteLength(text.slice(0, end)));
  for (const line of text.slice(0, end).split("\n")) {
    const match = /^\[(\d+),/.exec(line);
    if (match) seqs.add(Number(match[1]));
  }
  return seqs;
}
