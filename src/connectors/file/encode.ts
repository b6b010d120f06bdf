import { stringify } from "csv-stringify/sync";
import { ValidationError } from "../../api/errors.js";
import { envelopeOf, type Message } from "../../api/message.js";

/** One JSON line; undefined data (which JSON cannot express) is written as null. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value) ?? "null"}\n`;
}

/** The ndjson form of one message in append mode: its data, or the whole envelope. */
export function messageLine(message: Message, envelope: boolean): string {
  return jsonLine(envelope ? { ...envelopeOf(message), data: message.data } : message.data);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The rows a message's data gives: an object is one row, an array of objects several. */
export function csvRecords(data: unknown, messageId: string): Record<string, unknown>[] {
  const rows = Array.isArray(data) ? data : [data];
  rows.forEach((row, index) => {
    if (!isRecord(row)) {
      const what = row === null ? "null" : Array.isArray(row) ? "an array" : typeof row;
      throw new ValidationError(
        `message ${messageId} cannot be written as CSV: ${Array.isArray(data) ? `element ${index} is` : "its data is"} ${what}, not an object`,
        { code: "JUNCTION_FILE_ENCODE_FAILED" },
      );
    }
  });
  return rows as Record<string, unknown>[];
}

/** RFC 4180 CSV text (csv-stringify) for rows in column order; nested values become JSON. */
export function csvText(
  rows: Record<string, unknown>[],
  columns: string[],
  options: { delimiter: string; header: boolean },
): string {
  if (columns.length === 0) return "";
  const table = rows.map((row) => columns.map((column) => (Object.hasOwn(row, column) ? row[column] : null)));
  if (options.header) table.unshift(columns);
  return stringify(table, {
    delimiter: options.delimiter,
    record_delimiter: "\n",
    cast: {
      boolean: (value) => String(value),
      object: (value) => JSON.stringify(value),
      date: (value) => value.toISOString(),
    },
  });
}

/** A whole export file's content for one message. */
export function exportText(
  message: Message,
  format: "json" | "ndjson" | "csv",
  csv: { columns?: string[]; delimiter: string; header: boolean },
): string {
  const data = message.data;
  if (format === "json") return jsonLine(data);
  if (format === "ndjson") return (Array.isArray(data) ? data : [data]).map(jsonLine).join("");
  const rows = csvRecords(data, message.id);
  const columns = csv.columns ?? keysOf(rows);
  return csvText(rows, columns, csv);
}

/** Every key of the rows, in first-seen order: an export file stands alone, so all columns fit. */
function keysOf(rows: Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) keys.add(key);
  return [...keys];
}
