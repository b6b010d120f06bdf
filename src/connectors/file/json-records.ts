import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { FileFormatError, preview, type ReadOptions, type RecordItem } from "./records.js";

enum Mode {
  /** Before the top-level value. */
  Start,
  /** Inside the top-level array, expecting an element (or `]` right after `[`). */
  Expect,
  /** Inside an element of the top-level array. */
  Element,
  /** A top-level value that is not an array: the whole file is one record. */
  Single,
  /** After the top-level array: only whitespace may follow. */
  Done,
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const NEWLINE = 10;

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9 || code === 0xfeff;
}

/**
 * Splits a JSON document into records without holding it: a top-level array yields its elements
 * one at a time (each parsed with JSON.parse), any other top-level value is one record. It only
 * tracks strings and bracket nesting; an element that is balanced but not valid JSON is a bad
 * record, while unbalanced brackets or a missing end fail the file.
 */
export class JsonSplitter {
  #mode = Mode.Start;
  #stack: number[] = [];
  #inString = false;
  #escape = false;
  #afterComma = false;
  #parts: string[] = [];
  #size = 0;
  #oversized = false;
  #elementLine = 1;
  #line = 1;
  #column = 0;

  constructor(private readonly maxRecordSize: number) {}

  /** Feed the next piece of text; returns the records it completed. */
  push(text: string): RecordItem[] {
    const out: RecordItem[] = [];
    let start = -1; // where the current element starts within `text`
    if (this.#mode === Mode.Element || this.#mode === Mode.Single) start = 0;
    for (let index = 0; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code === NEWLINE) {
        this.#line++;
        this.#column = 0;
      } else this.#column++;
      switch (this.#mode) {
        case Mode.Start:
          if (isSpace(code)) break;
          if (code === OPEN_BRACKET) {
            this.#mode = Mode.Expect;
            break;
          }
          this.#mode = Mode.Single;
          this.#begin();
          start = index;
          this.#scan(code);
          break;
        case Mode.Expect:
          if (isSpace(code)) break;
          if (code === CLOSE_BRACKET) {
            if (this.#afterComma) throw this.#error("a value is missing after the last comma");
            this.#mode = Mode.Done;
            break;
          }
          if (code === COMMA) throw this.#error("a value is missing before this comma");
          this.#mode = Mode.Element;
          this.#begin();
          start = index;
          this.#scan(code);
          break;
        case Mode.Element: {
          if (this.#inString || this.#stack.length > 0 || (code !== COMMA && code !== CLOSE_BRACKET)) {
            this.#scan(code);
            break;
          }
          // A comma or `]` at depth 0 ends the element.
          this.#keep(text.slice(start, index));
          start = -1;
          out.push(this.#finish());
          this.#afterComma = code === COMMA;
          this.#mode = code === COMMA ? Mode.Expect : Mode.Done;
          break;
        }
        case Mode.Single:
          this.#scan(code);
          break;
        case Mode.Done:
          if (!isSpace(code)) throw this.#error("unexpected content after the top-level array");
          break;
      }
    }
    if (start !== -1) this.#keep(text.slice(start));
    return out;
  }

  /** The input ended: returns the last record, or throws when the document is incomplete. */
  end(): RecordItem[] {
    switch (this.#mode) {
      case Mode.Start:
        throw new FileFormatError("the file holds no JSON value");
      case Mode.Expect:
      case Mode.Element:
        throw this.#error("the file ends inside the top-level array (truncated?)");
      case Mode.Done:
        return [];
      case Mode.Single: {
        if (this.#inString || this.#stack.length > 0)
          throw this.#error("the file ends inside the JSON value (truncated?)");
        const item = this.#finish();
        if ("reason" in item) throw new FileFormatError(`not a JSON document: ${item.reason}`);
        return [item];
      }
    }
  }

  #begin(): void {
    this.#parts = [];
    this.#size = 0;
    this.#oversized = false;
    this.#elementLine = this.#line;
  }

  #keep(piece: string): void {
    this.#size += piece.length;
    if (this.#oversized) return;
    if (this.#size > this.maxRecordSize) {
      this.#oversized = true;
      this.#parts = [(this.#parts.join("") + piece).slice(0, 1024)];
      return;
    }
    this.#parts.push(piece);
  }

  #finish(): RecordItem {
    const text = this.#parts.join("");
    this.#parts = [];
    const line = this.#elementLine;
    if (this.#oversized) {
      return {
        line,
        reason: `the value is ${this.#size} characters, larger than maxRecordSize (${this.maxRecordSize})`,
        raw: preview(text),
      };
    }
    try {
      return { line, record: JSON.parse(text) };
    } catch (error) {
      return { line, reason: `not valid JSON: ${(error as Error).message}`, raw: preview(text) };
    }
  }

  /** Track strings and nesting for one character of an element. */
  #scan(code: number): void {
    if (this.#inString) {
      if (this.#escape) this.#escape = false;
      else if (code === BACKSLASH) this.#escape = true;
      else if (code === QUOTE) this.#inString = false;
      return;
    }
    if (code === QUOTE) this.#inString = true;
    else if (code === OPEN_BRACE || code === OPEN_BRACKET) this.#stack.push(code);
    else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      const open = this.#stack.pop();
      const expected = code === CLOSE_BRACE ? OPEN_BRACE : OPEN_BRACKET;
      if (open !== expected) throw this.#error(`unexpected "${String.fromCharCode(code)}"`);
    }
  }

  #error(message: string): FileFormatError {
    return new FileFormatError(`malformed JSON: ${message}`, { line: this.#line, column: this.#column });
  }
}

/** A JSON file's records, streamed: see JsonSplitter. */
export async function* jsonRecords(input: Readable, options: ReadOptions): AsyncGenerator<RecordItem> {
  const splitter = new JsonSplitter(options.maxRecordSize);
  const decoder = new StringDecoder("utf8");
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      yield* splitter.push(decoder.write(chunk));
    }
    yield* splitter.push(decoder.end());
    yield* splitter.end();
  } finally {
    input.destroy();
  }
}
