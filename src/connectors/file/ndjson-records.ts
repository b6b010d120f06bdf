import type { Readable } from "node:stream";
import { preview, type ReadOptions, type RecordItem } from "./records.js";

/**
 * One JSON value per line. Lines are split on bytes (a newline byte never occurs inside a UTF-8
 * sequence), and a line longer than `maxRecordSize` is not kept: only its start goes to the
 * dead letter, so one endless line cannot exhaust memory. Blank lines are skipped.
 */
export async function* ndjsonRecords(input: Readable, options: ReadOptions): AsyncGenerator<RecordItem> {
  let parts: Buffer[] = [];
  let length = 0;
  let line = 0;
  let oversized = false;
  const take = (piece: Buffer) => {
    length += piece.length;
    if (oversized) return;
    if (length > options.maxRecordSize) {
      oversized = true;
      parts = [Buffer.concat([...parts, piece]).subarray(0, 1024)];
      return;
    }
    parts.push(piece);
  };
  const finish = (): RecordItem | undefined => {
    line++;
    const wasOversized = oversized;
    const size = length;
    let text = parts.length === 1 ? parts[0].toString("utf8") : Buffer.concat(parts).toString("utf8");
    parts = [];
    length = 0;
    oversized = false;
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (wasOversized) {
      return {
        line,
        reason: `the line is ${size} bytes, larger than maxRecordSize (${options.maxRecordSize})`,
        raw: preview(text),
      };
    }
    if (text.endsWith("\r")) text = text.slice(0, -1);
    if (text.trim() === "") return undefined;
    try {
      return { line, record: JSON.parse(text) };
    } catch (error) {
      return { line, reason: `not JSON: ${(error as Error).message}`, raw: preview(text) };
    }
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const newline = chunk.indexOf(10, start);
        if (newline === -1) {
          if (start < chunk.length) take(chunk.subarray(start));
          break;
        }
        take(chunk.subarray(start, newline));
        start = newline + 1;
        const item = finish();
        if (item) yield item;
      }
    }
    if (length > 0) {
      const item = finish();
      if (item) yield item;
    }
  } finally {
    input.destroy();
  }
}
