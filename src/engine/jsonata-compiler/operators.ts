import { CompiledExpressionError } from "./errors.js";
import { isDeepEqual, isNumeric, toBoolean, toJsonataString } from "./sequence.js";

/**
 * jsonata's binary operators on evaluated operands (evaluateNumericExpression,
 * evaluateEqualityExpression, evaluateComparisonExpression, evaluateStringConcat,
 * evaluateIncludesExpression): same checks, same errors, in the same order.
 */
/** The effective boolean value, undefined counting as false (`and`, `or`). */
export function boolize(value: unknown): boolean {
  const booled = toBoolean(value);
  return booled === undefined ? false : booled;
}

function numeric(op: string): (lhs: any, rhs: any) => unknown {
  const apply: (lhs: number, rhs: number) => number =
    op === "+"
      ? (a, b) => a + b
      : op === "-"
        ? (a, b) => a - b
        : op === "*"
          ? (a, b) => a * b
          : op === "/"
            ? (a, b) => a / b
            : (a, b) => a % b;
  return (lhs, rhs) => {
    if (lhs !== undefined && !isNumeric(lhs)) throw new CompiledExpressionError("T2001", { value: lhs });
    if (rhs !== undefined && !isNumeric(rhs)) throw new CompiledExpressionError("T2002", { value: rhs });
    if (lhs === undefined || rhs === undefined) return undefined;
    return apply(lhs, rhs);
  };
}

function comparison(op: string): (lhs: any, rhs: any) => unknown {
  const compare: (lhs: any, rhs: any) => boolean =
    op === "<"
      ? (a, b) => a < b
      : op === "<="
        ? (a, b) => a <= b
        : op === ">"
          ? (a, b) => a > b
          : (a, b) => a >= b;
  return (lhs, rhs) => {
    const ltype = typeof lhs;
    const rtype = typeof rhs;
    const lcomparable = ltype === "undefined" || ltype === "string" || ltype === "number";
    const rcomparable = rtype === "undefined" || rtype === "string" || rtype === "number";
    if (!lcomparable || !rcomparable)
      throw new CompiledExpressionError("T2010", {
        value: !(ltype === "string" || ltype === "number") ? lhs : rhs,
      });
    if (ltype === "undefined" || rtype === "undefined") return undefined;
    if (ltype !== rtype) throw new CompiledExpressionError("T2009", { value: lhs, value2: rhs });
    return compare(lhs, rhs);
  };
}

export const OPERATIONS: Record<string, (lhs: any, rhs: any) => unknown> = {
  "+": numeric("+"),
  "-": numeric("-"),
  "*": numeric("*"),
  "/": numeric("/"),
  "%": numeric("%"),
  "=": (lhs, rhs) => (lhs === undefined || rhs === undefined ? false : isDeepEqual(lhs, rhs)),
  "!=": (lhs, rhs) => (lhs === undefined || rhs === undefined ? false : !isDeepEqual(lhs, rhs)),
  "<": comparison("<"),
  "<=": comparison("<="),
  ">": comparison(">"),
  ">=": comparison(">="),
  "&": (lhs, rhs) => {
    const lstr = lhs === undefined ? "" : (toJsonataString(lhs) as string);
    const rstr = rhs === undefined ? "" : (toJsonataString(rhs) as string);
    return lstr.concat(rstr);
  },
  in: (lhs, rhs) => {
    if (lhs === undefined || rhs === undefined) return false;
    if (!Array.isArray(rhs)) rhs = [rhs];
    for (let i = 0; i < rhs.length; i++) if (rhs[i] === lhs) return true;
    return false;
  },
};
