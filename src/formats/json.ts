import { randomUUID } from "node:crypto";
import { type Static, Type } from "typebox";
import {
  type Codec,
  childPath,
  decodeError,
  encodeError,
  lineColumn,
  type Position,
  utf8Text,
} from "./codec.js";

export const JsonOptionsSchema = Type.Object(
  {
    pretty: Type.Optional(
      Type.Boolean({ default: false, description: "Encode: indent by two spaces instead of one line." }),
    ),
  },
  { additionalProperties: false, description: "JSON (RFC 8259), one value per payload." },
);
export type JsonOptions = Static<typeof JsonOptionsSchema>;

const OBJECT = 1;
const ARRAY = 2;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * Index of the first syntax error in `text` (text.length when it ends too early), or -1 when it
 * is valid JSON. Only run after JSON.parse failed: V8's messages do not always give a position.
 */
export function jsonErrorIndex(text: string): number {
  const n = text.length;
  const stack: number[] = [];
  let i = 0;
  let state: "value" | "key" | "after" = "value";
  const skipSpace = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const string = (): boolean => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 92) {
        const e = text[i + 1];
        if (e === undefined) {
          i = n;
          return false;
        }
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i++;
            return false;
          }
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) {
          i++;
          return false;
        }
        i += 2;
        continue;
      }
      i++;
    }
    return false;
  };
  for (;;) {
    skipSpace();
    if (state === "value") {
      if (i >= n) return n;
      const c = text[i];
      if (c === "{" || c === "[") {
        stack.push(c === "{" ? OBJECT : ARRAY);
        i++;
        skipSpace();
        if (text[i] === (c === "{" ? "}" : "]")) {
          stack.pop();
          i++;
          state = "after";
        } else state = c === "{" ? "key" : "value";
        continue;
      }
      if (c === '"') {
        if (!string()) return i;
        state = "after";
        continue;
      }
      NUMBER.lastIndex = i;
      const number = NUMBER.exec(text);
      if (number) {
        i += number[0].length;
        state = "after";
        continue;
      }
      const literal = ["true", "false", "null"].find((word) => text.startsWith(word, i));
      if (literal === undefined) return i;
      i += literal.length;
      state = "after";
      continue;
    }
    if (state === "key") {
      if (i >= n) return n;
      if (text[i] !== '"' || !string()) return i;
      skipSpace();
      if (i >= n) return n;
      if (text[i] !== ":") return i;
      i++;
      state = "value";
      continue;
    }
    // after a value
    if (stack.length === 0) return i < n ? i : -1;
    if (i >= n) return n;
    const top = stack[stack.length - 1];
    const c = text[i];
    if (c === ",") {
      i++;
      state = top === OBJECT ? "key" : "value";
      continue;
    }
    if ((top === OBJECT && c === "}") || (top === ARRAY && c === "]")) {
      stack.pop();
      i++;
      continue;
    }
    return i;
  }
}

/** JSON.parse with the failure's line and column. `line` shifts the reported line (NDJSON). */
export function parseJson(text: string, format: string, where: Position = {}): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const index = jsonErrorIndex(text);
    if (index < 0) throw decodeError(format, `not valid JSON: ${(error as Error).message}`, where, error);
    const at = lineColumn(text, index);
    const line = (where.line ?? 1) + at.line - 1;
    // V8's own message quotes a slice of the input; a short one of ours reads better in a dead letter.
    const reason =
      index >= text.length
        ? "the text ends early"
        : `unexpected ${JSON.stringify(String.fromCodePoint(text.codePointAt(index)!))}`;
    throw decodeError(format, `not valid JSON: ${reason}`, { ...where, line, column: at.column }, error);
  }
}

/** The path of the first value that JSON.stringify refuses (a cycle), for the error message. */
function findCycle(value: unknown, path: string, ancestors: Set<object>): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  if (ancestors.has(value)) return path === "" ? "(root)" : path;
  ancestors.add(value);
  try {
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? value.map((item, index) => [index, item])
      : Object.entries(value);
    for (const [key, child] of entries) {
      const found = findCycle(child, childPath(path, key), ancestors);
      if (found !== undefined) return found;
    }
  } finally {
    ancestors.delete(value);
  }
  return undefined;
}

/**
 * JSON text for a value. BigInts are written as exact JSON numbers (a reader with 64-bit
 * integers sees the exact value; JavaScript's JSON.parse rounds beyond 2^53).
 */
export function stringifyJson(value: unknown, format: string, indent?: number, record?: number): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, indent);
  } catch (error) {
    if (error instanceof TypeError && /BigInt/i.test(error.message)) {
      const marker = `bigint-${randomUUID()}:`;
      text = JSON.stringify(
        value,
        (_key, item) => (typeof item === "bigint" ? marker + item.toString() : item),
        indent,
      );
      text = text?.replace(new RegExp(`"${marker}(-?[0-9]+)"`, "g"), "$1");
    } else {
      const cycle = findCycle(value, "", new Set());
      throw encodeError(
        format,
        cycle === undefined ? messageOrString(error) : "the value refers to itself (a cycle)",
        { field: cycle, record },
        error,
      );
    }
  }
  if (text === undefined) {
    throw encodeError(format, `${typeof value} has no JSON form`, { record });
  }
  return text;
}

function messageOrString(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const jsonCodec: Codec<JsonOptions> = {
  name: "json",
  summary: "JSON: one value per payload.",
  mediaTypes: ["application/json", "text/json"],
  options: JsonOptionsSchema,
  multiple: () => false,
  decode(bytes) {
    const text = utf8Text(bytes, "json", { stripBom: true });
    if (text.trim() === "") throw decodeError("json", "the payload is empty", { line: 1, column: 1 });
    return parseJson(text, "json");
  },
  encode(value, options = {}) {
    return Buffer.from(stringifyJson(value, "json", options.pretty ? 2 : undefined), "utf8");
  },
};
