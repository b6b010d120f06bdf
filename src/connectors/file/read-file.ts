import { FormatError } from "../../formats/codec.js";
import type { PayloadFormat } from "../../formats/payload.js";
import { csvRecords } from "./csv-records.js";
import { jsonRecords } from "./json-records.js";
import { ndjsonRecords } from "./ndjson-records.js";
import { FileFormatError, openSnapshot, type ReadOptions, type RecordItem } from "./records.js";
import { xmlRecords } from "./xml-records.js";

const READERS = {
  csv: csvRecords,
  ndjson: ndjsonRecords,
  json: jsonRecords,
  xml: xmlRecords,
};

/**
 * Stream the first `size` bytes of a file as records. Breaking out of the loop closes the file.
 * Throws FileFormatError when the file as a whole cannot be parsed.
 */
export function readRecords(path: string, size: number, options: ReadOptions): AsyncGenerator<RecordItem> {
  if (typeof options.format === "object")
    return codecRecords(path, size, options.format, options.maxRecordSize);
  return READERS[options.format](openSnapshot(path, size), options);
}

/** A codec reads the whole file as one payload; a list codec gives its records in order. */
async function* codecRecords(
  path: string,
  size: number,
  format: PayloadFormat,
  maxBytes: number,
): AsyncGenerator<RecordItem> {
  if (size > maxBytes) {
    throw new FileFormatError(
      `the file is ${size} bytes, over maxRecordSize (${maxBytes} bytes); a ${format.name} file is decoded whole`,
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of openSnapshot(path, size)) chunks.push(chunk as Buffer);
  let value: unknown;
  try {
    value = format.decode(Buffer.concat(chunks));
  } catch (error) {
    if (!(error instanceof FormatError)) throw error;
    throw new FileFormatError(error.message, {
      line: error.position.line,
      column: error.position.column,
      cause: error,
    });
  }
  const records = format.multiple ? (value as unknown[]) : [value];
  let line = 0;
  for (const record of records) yield { line: ++line, record };
}
