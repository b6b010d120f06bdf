import type { ColumnTypeName } from "./config.js";

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const TRUE = new Set(["true", "yes", "y", "1"]);
const FALSE = new Set(["false", "no", "n", "0"]);

export type Converted = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * Convert one CSV cell to its declared type. Only plain decimal notation counts as a number
 * (`Number()` would also take "0x1f" and " "), and an empty cell is null: CSV cannot tell absent
 * from empty.
 */
export function convertCell(cell: string, type: ColumnTypeName): Converted {
  if (type === "string") return { ok: true, value: cell };
  const text = cell.trim();
  if (text === "") return { ok: true, value: null };
  switch (type) {
    case "number":
      return NUMBER.test(text) ? { ok: true, value: Number(text) } : { ok: false, reason: "not a number" };
    case "integer": {
      const value = Number(text);
      return INTEGER.test(text) && Number.isSafeInteger(value)
        ? { ok: true, value }
        : { ok: false, reason: "not an integer" };
    }
    case "boolean": {
      const lower = text.toLowerCase();
      if (TRUE.has(lower)) return { ok: true, value: true };
      if (FALSE.has(lower)) return { ok: true, value: false };
      return { ok: false, reason: "not a boolean (true/false, yes/no, 1/0)" };
    }
  }
}
