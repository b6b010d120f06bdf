import type { Readable } from "node:stream";
import { CsvError, parse } from "csv-parse";
import { convertCell } from "./convert.js";
import { FileFormatError, type ReadOptions, type RecordItem } from "./records.js";

/**
 * CSV rows as records (RFC 4180 quoting, by csv-parse, streaming). The header row names the
 * columns; a row with another field count, or a cell that does not convert to its declared type,
 * is a bad record. Quoting errors break the file's structure, so they fail the whole file.
 */
export async function* csvRecords(input: Readable, options: ReadOptions): AsyncGenerator<RecordItem> {
  const parser = input.pipe(
    parse({
      bom: true,
      delimiter: options.delimiter,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
      max_record_size: options.maxRecordSize,
    }),
  );
  // pipe() does not forward read errors; the parser must see them or iteration would hang.
  input.on("error", (error) => parser.destroy(error));
  let names: string[] | undefined = options.names;
  let headerPending = options.header;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      const line = info.lines;
      if (headerPending) {
        // Configured names win over the file's header row, which is then skipped.
        headerPending = false;
        names ??= record.map((name, index) => name.trim() || `column${index + 1}`);
        continue;
      }
      if (names === undefined) {
        yield { line, record };
        continue;
      }
      if (record.length !== names.length) {
        yield {
          line,
          reason: `the row has ${record.length} field${record.length === 1 ? "" : "s"} where the ${options.names ? "names list has" : "header has"} ${names.length}`,
          raw: record,
        };
        continue;
      }
      yield toObject(names, record, line, options);
    }
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines;
      throw new FileFormatError(`malformed CSV: ${error.message}`, {
        ...(typeof line === "number" ? { line } : {}),
        cause: error,
      });
    }
    throw error;
  } finally {
    input.destroy();
  }
}

function toObject(names: string[], cells: string[], line: number, options: ReadOptions): RecordItem {
  const record: Record<string, unknown> = {};
  for (let index = 0; index < names.length; index++) {
    const name = names[index];
    const type = options.columns?.[name];
    if (type === undefined) {
      record[name] = cells[index];
      continue;
    }
    const converted = convertCell(cells[index], type);
    if (!converted.ok) {
      return {
        line,
        reason: `column "${name}": ${JSON.stringify(cells[index])} is ${converted.reason}`,
        raw: cells,
      };
    }
    record[name] = converted.value;
  }
  return { line, record };
}
