import { CompiledExpressionError } from "./errors.js";
import {
  append,
  createSequence,
  isFunction,
  isNumeric,
  keysOf,
  lookup,
  toBoolean,
  toJsonataString,
} from "./sequence.js";
import { parseSignature, type Validate } from "./signature.js";

/**
 * The built-in functions the compiler supports: jsonata's implementations (functions.js) with
 * jsonata's signatures, all synchronous. Functions that take regexes or lambdas, read the clock or
 * are random are not here, so an expression calling them is left to jsonata.
 */
export interface Native {
  validate: Validate;
  implementation: (...args: any[]) => unknown;
}

function stringToArray(str: string): string[] {
  const arr: string[] = [];
  for (const char of str) arr.push(char);
  return arr;
}

function sum(args: any): number | undefined {
  if (args === undefined) return undefined;
  let total = 0;
  args.forEach((num: number) => {
    total += num;
  });
  return total;
}

function boolean(arg: unknown) {
  return toBoolean(arg);
}

const implementations: Record<string, [string, (...args: any[]) => unknown]> = {
  sum: ["<a<n>:n>", sum],
  count: ["<a:n>", (args: any) => (args === undefined ? 0 : args.length)],
  max: ["<a<n>:n>", (args: any) => (args === undefined || args.length === 0 ? undefined : Math.max(...args))],
  min: ["<a<n>:n>", (args: any) => (args === undefined || args.length === 0 ? undefined : Math.min(...args))],
  average: [
    "<a<n>:n>",
    (args: any) =>
      args === undefined || args.length === 0 ? undefined : (sum(args) as number) / args.length,
  ],
  string: ["<x-b?:s>", (arg: unknown, prettify = false) => toJsonataString(arg, prettify)],
  substring: [
    "<s-nn?:s>",
    (str: string | undefined, start: number, length?: number) => {
      if (str === undefined) return undefined;
      const strArray = stringToArray(str);
      const strLength = strArray.length;
      if (strLength + start < 0) start = 0;
      if (length !== undefined) {
        if (length <= 0) return "";
        const end = start >= 0 ? start + length : strLength + start + length;
        return strArray.slice(start, end).join("");
      }
      return strArray.slice(start).join("");
    },
  ],
  substringBefore: [
    "<s-s:s>",
    (str: string | undefined, chars: string) => {
      if (str === undefined) return undefined;
      const pos = str.indexOf(chars);
      return pos > -1 ? str.substr(0, pos) : str;
    },
  ],
  substringAfter: [
    "<s-s:s>",
    (str: string | undefined, chars: string) => {
      if (str === undefined) return undefined;
      const pos = str.indexOf(chars);
      return pos > -1 ? str.substr(pos + chars.length) : str;
    },
  ],
  lowercase: ["<s-:s>", (str: string | undefined) => (str === undefined ? undefined : str.toLowerCase())],
  uppercase: ["<s-:s>", (str: string | undefined) => (str === undefined ? undefined : str.toUpperCase())],
  length: [
    "<s-:n>",
    (str: string | undefined) => (str === undefined ? undefined : stringToArray(str).length),
  ],
  trim: [
    "<s-:s>",
    (str: string | undefined) => {
      if (str === undefined) return undefined;
      let result = str.replace(/[ \t\n\r]+/gm, " ");
      if (result.charAt(0) === " ") result = result.substring(1);
      if (result.charAt(result.length - 1) === " ") result = result.substring(0, result.length - 1);
      return result;
    },
  ],
  contains: [
    "<s-(sf):b>",
    (str: string | undefined, token: unknown) => {
      if (str === undefined || token === undefined) return undefined;
      if (typeof token !== "string") throw new Error("$contains with a matcher is not compiled");
      return str.indexOf(token) !== -1;
    },
  ],
  split: [
    "<s-(sf)n?:a<s>>",
    (str: string | undefined, separator: unknown, limit?: number) => {
      if (str === undefined) return undefined;
      if ((limit as number) < 0) throw new CompiledExpressionError("D3020", { value: limit, index: 3 });
      let result: string[] = [];
      if (limit === undefined || limit > 0) {
        if (typeof separator !== "string") throw new Error("$split with a matcher is not compiled");
        result = str.split(separator, limit);
      }
      return result;
    },
  ],
  join: [
    "<a<s>s?:s>",
    (strs: string[] | undefined, separator?: string) =>
      strs === undefined ? undefined : strs.join(separator === undefined ? "" : separator),
  ],
  number: [
    "<(nsb)-:n>",
    (arg: unknown) => {
      if (arg === undefined) return undefined;
      if (typeof arg === "number") return arg;
      if (
        typeof arg === "string" &&
        /^-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?$/.test(arg) &&
        !Number.isNaN(Number.parseFloat(arg)) &&
        Number.isFinite(Number(arg))
      )
        return Number.parseFloat(arg);
      if (typeof arg === "string" && /^(0[xX][0-9A-Fa-f]+)|(0[oO][0-7]+)|(0[bB][0-1]+)$/.test(arg))
        return Number(arg);
      if (arg === true) return 1;
      if (arg === false) return 0;
      throw new CompiledExpressionError("D3030", { value: arg, index: 1 });
    },
  ],
  floor: ["<n-:n>", (arg: number | undefined) => (arg === undefined ? undefined : Math.floor(arg))],
  ceil: ["<n-:n>", (arg: number | undefined) => (arg === undefined ? undefined : Math.ceil(arg))],
  abs: ["<n-:n>", (arg: number | undefined) => (arg === undefined ? undefined : Math.abs(arg))],
  round: ["<n-n?:n>", round],
  boolean: ["<x-:b>", boolean],
  not: ["<x-:b>", (arg: unknown) => (arg === undefined ? undefined : !toBoolean(arg))],
  keys: ["<x-:a<s>>", keys],
  lookup: ["<x-s:x>", lookup],
  append: ["<xx:a>", append],
  exists: ["<x:b>", (arg: unknown) => arg !== undefined],
  type: ["<x:s>", type],
};

/** Round half to even, shifting the decimal point in the string form as jsonata does. */
function round(arg: number | undefined, precision?: number): number | undefined {
  if (arg === undefined) return undefined;
  let value: string[];
  if (precision) {
    value = arg.toString().split("e");
    arg = +`${value[0]}e${value[1] ? +value[1] + precision : precision}`;
  }
  let result = Math.round(arg);
  const diff = result - arg;
  if (Math.abs(diff) === 0.5 && Math.abs(result % 2) === 1) result = result - 1;
  if (precision) {
    value = result.toString().split("e");
    result = +`${value[0]}e${value[1] ? +value[1] - precision : -precision}`;
  }
  if (Object.is(result, -0)) result = 0;
  return result;
}

function keys(arg: any): string[] {
  let result = createSequence();
  if (Array.isArray(arg)) {
    const merge = Object.create(null);
    for (let ii = 0; ii < arg.length; ii++) for (const key of keys(arg[ii])) merge[key] = true;
    result = keys(merge);
  } else if (arg !== null && typeof arg === "object" && !isFunction(arg)) {
    for (const key of keysOf(arg)) result.push(key);
  }
  return result;
}

function type(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (value === null) return "null";
  if (isNumeric(value)) return "number";
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  if (Array.isArray(value)) return "array";
  if (isFunction(value)) return "function";
  return "object";
}

export const NATIVES: ReadonlyMap<string, Native> = new Map(
  Object.entries(implementations).map(([name, [signature, implementation]]) => [
    name,
    { validate: parseSignature(signature), implementation },
  ]),
);
