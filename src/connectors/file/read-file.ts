import { csvRecords } from "./csv-records.js";
import { jsonRecords } from "./json-records.js";
import { ndjsonRecords } from "./ndjson-records.js";
import { openSnapshot, type ReadOptions, type RecordItem } from "./records.js";
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
  return READERS[options.format](openSnapshot(path, size), options);
}
