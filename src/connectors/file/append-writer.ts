import { type FileHandle, mkdir, open, rename } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import type { Message } from "../../api/message.js";
import { csvRecords, csvText, messageLine } from "./encode.js";
import { exists, stamp, syncDir } from "./fs-util.js";
import { ioError } from "./io-errors.js";

export interface AppendOptions {
  format: "ndjson" | "csv";
  columns?: string[];
  delimiter: string;
  header: boolean;
  envelope: boolean;
  /** Rotate before a write would take the file past this many bytes. */
  rotateSize?: number;
  /** Rotate at the first write once the file is this old. */
  rotateEveryMs?: number;
  fsync: boolean;
  now?: () => number;
}

/**
 * Appends one line (ndjson) or row(s) (csv) per message to one file, one write at a time, with
 * size- or age-based rotation. A write that fails is cut back off the file, so a retry never
 * leaves half a line behind.
 */
export class AppendWriter {
  #handle: FileHandle | undefined;
  #size = 0;
  #openedAt = 0;
  #columns: string[] | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly options: AppendOptions,
  ) {
    this.#columns = options.columns;
  }

  /** Resolves once the message's bytes are written to the file (and fsynced when configured). */
  write(message: Message): Promise<void> {
    const result = this.#queue.then(() => this.#write(message));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    await this.#queue;
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  #now(): number {
    return this.options.now?.() ?? Date.now();
  }

  async #write(message: Message): Promise<void> {
    // Encode before touching the file: a message that cannot be encoded changes nothing.
    const rows = this.options.format === "csv" ? csvRecords(message.data, message.id) : undefined;
    const line = rows ? undefined : messageLine(message, this.options.envelope);
    if (rows?.length === 0) return; // an empty array: no rows, and no columns to learn from it
    await this.#open();
    if (rows) this.#columns ??= Object.keys(rows[0]);
    let body = rows ? this.#csv(rows, false) : line!;
    if (this.#shouldRotate(Buffer.byteLength(body))) {
      await this.#rotate();
      await this.#open();
    }
    if (rows && this.#size === 0 && this.options.header) body = this.#csv(rows, true);
    await this.#append(Buffer.from(body, "utf8"));
  }

  #csv(rows: Record<string, unknown>[], header: boolean): string {
    return csvText(rows, this.#columns!, { delimiter: this.options.delimiter, header });
  }

  #shouldRotate(bytes: number): boolean {
    if (this.#size === 0) return false;
    const { rotateSize, rotateEveryMs } = this.options;
    if (rotateSize !== undefined && this.#size + bytes > rotateSize) return true;
    return rotateEveryMs !== undefined && this.#now() - this.#openedAt >= rotateEveryMs;
  }

  async #open(): Promise<void> {
    if (this.#handle) return;
    try {
      await mkdir(dirname(this.path), { recursive: true });
      const created = !(await exists(this.path));
      this.#handle = await open(this.path, "a");
      const stats = await this.#handle.stat();
      this.#size = stats.size;
      this.#openedAt = stats.birthtimeMs > 0 ? stats.birthtimeMs : this.#now();
      if (created && this.options.fsync) await syncDir(dirname(this.path));
      if (this.options.format === "csv" && this.#columns === undefined && this.#size > 0) {
        this.#columns = await this.#existingHeader();
      }
    } catch (error) {
      await this.#drop();
      throw ioError(error, "open", this.path);
    }
  }

  /** Columns of a CSV file that is already there, so appended rows line up with its header. */
  async #existingHeader(): Promise<string[] | undefined> {
    if (!this.options.header) return undefined;
    const handle = await open(this.path, "r");
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, 0);
      const text = buffer.subarray(0, bytesRead).toString("utf8");
      const end = text.indexOf("\n");
      if (end === -1) return undefined;
      const [first] = parseCsv(text.slice(0, end), { delimiter: this.options.delimiter, bom: true });
      return first as string[] | undefined;
    } catch {
      return undefined;
    } finally {
      await handle.close();
    }
  }

  async #rotate(): Promise<void> {
    await this.#drop();
    const dir = dirname(this.path);
    const name = basename(this.path);
    const ext = extname(name);
    const base = name.slice(0, name.length - ext.length);
    // On a clash take the next millisecond, so rotated names still sort in write order.
    let time = this.#now();
    let target = join(dir, `${base}.${stamp(new Date(time))}${ext}`);
    while (await exists(target)) target = join(dir, `${base}.${stamp(new Date(++time))}${ext}`);
    try {
      await rename(this.path, target);
      if (this.options.fsync) await syncDir(dir);
    } catch (error) {
      throw ioError(error, "rotate", this.path);
    }
  }

  async #append(bytes: Buffer): Promise<void> {
    const handle = this.#handle!;
    try {
      let offset = 0;
      while (offset < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
        offset += bytesWritten;
      }
      if (this.options.fsync) await handle.sync();
      this.#size += bytes.length;
    } catch (error) {
      // Cut a partial write off so the retry appends a whole line; reopen on the next write.
      await handle.truncate(this.#size).catch(() => undefined);
      await this.#drop();
      throw ioError(error, "append to", this.path);
    }
  }

  async #drop(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close().catch(() => undefined);
  }
}
