import { createReadStream } from "node:fs";
import { extname } from "node:path";
import { Readable } from "node:stream";
import { ValidationError } from "../../api/errors.js";
import type { PayloadFormat } from "../../formats/payload.js";
import type { ColumnTypeName, RecordFormatName } from "./config.js";

/**
 * One record read from a file, in file order. A record that cannot be read on its own (a CSV row
 * with the wrong column count, a line that is not JSON) carries a reason instead of a value, so the
 * source can dead-letter it and go on; a problem with the file as a whole is a FileFormatError.
 */
export type RecordItem = { line: number; record: unknown } | { line: number; reason: string; raw: unknown };

export interface ReadOptions {
  /** A record format streamed record by record, or a codec decoding the whole file at once. */
  format: RecordFormatName | PayloadFormat;
  header: boolean;
  names?: string[];
  delimiter: string;
  columns?: Record<string, ColumnTypeName>;
  recordElement?: string;
  maxRecordSize: number;
}

/** The file as a whole cannot be parsed: it moves to the failed directory with this reason. */
export class FileFormatError extends ValidationError {
  readonly line?: number;
  readonly column?: number;

  constructor(message: string, position: { line?: number; column?: number; cause?: unknown } = {}) {
    const where =
      position.line === undefined
        ? ""
        : ` (line ${position.line}${position.column === undefined ? "" : `, column ${position.column}`})`;
    super(`${message}${where}`, {
      code: "JUNCTION_FILE_UNREADABLE",
      cause: position.cause,
      details: {
        ...(position.line === undefined ? {} : { line: position.line }),
        ...(position.column === undefined ? {} : { column: position.column }),
      },
    });
    if (position.line !== undefined) this.line = position.line;
    if (position.column !== undefined) this.column = position.column;
  }
}

const BY_EXTENSION: Record<string, RecordFormatName> = {
  ".csv": "csv",
  ".tsv": "csv",
  ".ndjson": "ndjson",
  ".jsonl": "ndjson",
  ".json": "json",
  ".xml": "xml",
};

/** The configured format, else the one the extension names; undefined when neither says. */
export function formatOf(name: string, configured?: RecordFormatName): RecordFormatName | undefined {
  return configured ?? BY_EXTENSION[extname(name).toLowerCase()];
}

/** Read exactly `size` bytes: what was stat'ed is what is read, even if a writer appends later. */
export function openSnapshot(path: string, size: number): Readable {
  if (size === 0) return Readable.from([]);
  return createReadStream(path, { start: 0, end: size - 1, highWaterMark: 256 * 1024 });
}

/** A short, printable excerpt of an oversized or bad record, for the dead letter. */
export function preview(text: string, max = 1024): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
