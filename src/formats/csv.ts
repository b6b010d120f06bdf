import { CsvError, parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { type Static, Type } from "typebox";
import {
  type Codec,
  decodeError,
  encodeError,
  isPlainObject,
  loneSurrogateIndex,
  messageOf,
  setOwn,
  utf8Text,
} from "./codec.js";
import { stringifyJson } from "./json.js";

const ColumnType = Type.Union(
  [
    Type.Literal("string"),
    Type.Literal("number"),
    Type.Literal("integer"),
    Type.Literal("boolean"),
    Type.Literal("date"),
  ],
  {
    description:
      "What a cell becomes: number (decimal notation), integer (safe integers only), boolean (true/false, yes/no, y/n, 1/0), date (ISO 8601 date or date-time, normalised: `2024-05-01` stays, a date-time becomes UTC `2024-05-01T10:00:00.000Z`), string. An empty cell in a typed column is null.",
  },
);
export type CsvColumnType = Static<typeof ColumnType>;

export const CsvOptionsSchema = Type.Object(
  {
    delimiter: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4, default: ",", description: "Field separator." }),
    ),
    quote: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1,
        default: '"',
        description: "Quote character; a quote inside a quoted field is doubled (RFC 4180).",
      }),
    ),
    header: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          "Decode: the first row names the columns and rows become objects. Off: rows are arrays of strings, or objects by `columns`. Encode: write a header row.",
      }),
    ),
    columns: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          "Column names in order. Decode: names the cells (the file's header row, if any, is skipped). Encode: which keys are written and in what order; unset, every key of the rows in first-seen order.",
        examples: [["sku", "qty", "price"]],
      }),
    ),
    types: Type.Optional(
      Type.Record(Type.String(), ColumnType, {
        description:
          "Decode: convert these columns' cells; a cell that does not convert fails the payload with its line and column. Other columns stay strings.",
        examples: [{ qty: "integer", price: "number", active: "boolean", shipped: "date" }],
      }),
    ),
    lineEnding: Type.Optional(
      Type.Union([Type.Literal("lf"), Type.Literal("crlf")], {
        default: "lf",
        description: "Encode: the record separator (RFC 4180 says CRLF). Decode accepts both.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "CSV (RFC 4180 quoting), one record per row. Decode skips blank lines and a byte order mark.",
  },
);
export type CsvOptions = Static<typeof CsvOptionsSchema>;

const NUMBER = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const INTEGER = /^[+-]?[0-9]+$/;
const TRUE = new Set(["true", "yes", "y", "1"]);
const FALSE = new Set(["false", "no", "n", "0"]);
const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const DATE_TIME =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|z|[+-][0-9]{2}:?[0-9]{2})?$/;

function validDate(year: string, month: string, day: string): boolean {
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** An ISO 8601 date stays as written; a date-time becomes UTC ISO (no zone: taken as UTC). */
export function normaliseDate(text: string): string | undefined {
  const date = DATE.exec(text);
  if (date) return validDate(date[1], date[2], date[3]) ? text : undefined;
  const time = DATE_TIME.exec(text);
  if (!time) return undefined;
  const [, year, month, day, hour, minute, second = "00", fraction = "", zone = "Z"] = time;
  if (!validDate(year, month, day) || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) {
    return undefined;
  }
  const offset =
    zone === "Z" || zone === "z" ? "Z" : zone.includes(":") ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const millis = fraction.slice(0, 3).padEnd(3, "0");
  const ms = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}.${millis}${offset}`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** One cell as its declared type, or the reason it does not convert. */
export function convertCell(
  cell: string,
  type: CsvColumnType,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (type === "string") return { ok: true, value: cell };
  const text = cell.trim();
  if (text === "") return { ok: true, value: null };
  switch (type) {
    case "number":
      return NUMBER.test(text) ? { ok: true, value: Number(text) } : { ok: false, reason: "not a number" };
    case "integer": {
      if (!INTEGER.test(text)) return { ok: false, reason: "not an integer" };
      const value = Number(text);
      return Number.isSafeInteger(value)
        ? { ok: true, value }
        : { ok: false, reason: "an integer beyond ±2^53 (declare the column number or string)" };
    }
    case "boolean": {
      const lower = text.toLowerCase();
      if (TRUE.has(lower)) return { ok: true, value: true };
      if (FALSE.has(lower)) return { ok: true, value: false };
      return { ok: false, reason: "not a boolean (true/false, yes/no, y/n, 1/0)" };
    }
    case "date": {
      const value = normaliseDate(text);
      return value === undefined
        ? { ok: false, reason: "not an ISO 8601 date or date-time (2024-05-01, 2024-05-01T10:00:00Z)" }
        : { ok: true, value };
    }
  }
}

function quoteForMessage(cell: string): string {
  return JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}…` : cell);
}

interface ParsedRow {
  record: string[];
  info: { lines: number };
}

function decodeCsv(bytes: Uint8Array, options: CsvOptions): unknown[] {
  const text = utf8Text(bytes, "csv", { stripBom: true });
  let rows: ParsedRow[];
  try {
    rows = parse(text, {
      delimiter: options.delimiter ?? ",",
      quote: options.quote ?? '"',
      escape: options.quote ?? '"',
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as ParsedRow[];
  } catch (error) {
    if (error instanceof CsvError) {
      const facts = error as CsvError & { lines?: number; column?: number | string; bytes?: number };
      throw decodeError(
        "csv",
        `malformed CSV: ${error.message.replace(/ at line \d+.*$/s, "")}`,
        {
          line: typeof facts.lines === "number" ? facts.lines : undefined,
          offset: typeof facts.bytes === "number" ? facts.bytes : undefined,
        },
        error,
      );
    }
    throw decodeError("csv", `malformed CSV: ${messageOf(error)}`, {}, error);
  }
  const header = options.header ?? true;
  let names = options.columns;
  let first = 0;
  if (header && rows.length > 0) {
    first = 1;
    if (names === undefined) {
      names = rows[0].record.map((name, index) => name.trim() || `column${index + 1}`);
      const seen = new Set<string>();
      for (const [index, name] of names.entries()) {
        if (seen.has(name)) {
          throw decodeError("csv", `the header names column ${JSON.stringify(name)} twice`, {
            line: rows[0].info.lines,
            column: index + 1,
          });
        }
        seen.add(name);
      }
    }
  }
  const types = options.types ?? {};
  const records: unknown[] = [];
  for (let r = first; r < rows.length; r++) {
    const { record: cells, info } = rows[r];
    const line = info.lines;
    if (names === undefined) {
      records.push(cells);
      continue;
    }
    if (cells.length !== names.length) {
      throw decodeError(
        "csv",
        `the row has ${cells.length} field${cells.length === 1 ? "" : "s"} where the ${options.columns ? "columns list has" : "header has"} ${names.length}`,
        { line, record: records.length },
      );
    }
    const record: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) {
      const name = names[c];
      const type = Object.hasOwn(types, name) ? types[name] : undefined;
      if (type === undefined) {
        setOwn(record, name, cells[c]);
        continue;
      }
      const converted = convertCell(cells[c], type);
      if (!converted.ok) {
        throw decodeError("csv", `${quoteForMessage(cells[c])} is ${converted.reason}`, {
          line,
          column: c + 1,
          field: name,
          record: records.length,
        });
      }
      setOwn(record, name, converted.value);
    }
    records.push(record);
  }
  return records;
}

function cellText(value: unknown, field: string, record: number): string {
  let text: string;
  if (value === null || value === undefined) return "";
  if (typeof value === "string") text = value;
  else if (typeof value === "number") {
    if (!Number.isFinite(value)) throw encodeError("csv", `${value} has no CSV form`, { field, record });
    text = String(value);
  } else if (typeof value === "boolean" || typeof value === "bigint") text = String(value);
  else if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw encodeError("csv", "an invalid Date", { field, record });
    text = value.toISOString();
  } else if (typeof value === "object") text = stringifyJson(value, "csv", undefined, record);
  else throw encodeError("csv", `a ${typeof value} has no CSV form`, { field, record });
  if (loneSurrogateIndex(text) !== -1) {
    throw encodeError("csv", "the text holds a lone UTF-16 surrogate, which UTF-8 cannot carry", {
      field,
      record,
    });
  }
  return text;
}

function encodeCsv(value: unknown, options: CsvOptions): Uint8Array {
  const rows = Array.isArray(value) ? value : [value];
  const arrays = rows.length > 0 && rows.every((row) => Array.isArray(row));
  let columns = options.columns;
  if (!arrays) {
    rows.forEach((row, index) => {
      if (!isPlainObject(row)) {
        const what = row === null ? "null" : Array.isArray(row) ? "an array" : typeof row;
        throw encodeError("csv", `a row must be an object (or every row an array), not ${what}`, {
          record: index,
        });
      }
    });
    if (columns === undefined) {
      const keys = new Set<string>();
      for (const row of rows as Record<string, unknown>[]) for (const key of Object.keys(row)) keys.add(key);
      columns = [...keys];
    }
  }
  const table: string[][] = [];
  const header = options.header ?? true;
  if (header && columns !== undefined && columns.length > 0) table.push(columns);
  rows.forEach((row, index) => {
    if (arrays) {
      table.push((row as unknown[]).map((cell, c) => cellText(cell, columns?.[c] ?? `[${c}]`, index)));
    } else {
      const object = row as Record<string, unknown>;
      table.push(
        (columns ?? []).map((name) =>
          cellText(Object.hasOwn(object, name) ? object[name] : null, name, index),
        ),
      );
    }
  });
  // A one-column row whose only cell is empty would be a blank line, which readers skip.
  const width = table.reduce((widest, row) => Math.max(widest, row.length), 0);
  if (table.every((row) => row.length === 0)) return Buffer.alloc(0);
  const text = stringify(table, {
    delimiter: options.delimiter ?? ",",
    quote: options.quote ?? '"',
    escape: options.quote ?? '"',
    record_delimiter: options.lineEnding === "crlf" ? "\r\n" : "\n",
    quoted_empty: width === 1,
  });
  return Buffer.from(text, "utf8");
}

export const csvCodec: Codec<CsvOptions> = {
  name: "csv",
  summary: "CSV (RFC 4180): one record per row, objects by the header row, typed columns.",
  mediaTypes: ["text/csv", "application/csv"],
  options: CsvOptionsSchema,
  multiple: () => true,
  decode: (bytes, options = {}) => decodeCsv(bytes, options),
  encode: (value, options = {}) => encodeCsv(value, options),
};
