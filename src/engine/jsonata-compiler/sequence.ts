import { CompiledExpressionError } from "./errors.js";

/**
 * jsonata's value model, reproduced exactly: a "sequence" is a JS array flagged `sequence`, which
 * the evaluator flattens and unwraps (a singleton becomes its item, an empty one undefined), unless
 * `keepSingleton` was set by a `[]` step. Arrays built by `[...]` carry `cons` and are never
 * flattened. The compiled code keeps the same flags on the same arrays, so every rule that depends
 * on them (flattening, singleton unwrapping, filters) behaves as in jsonata.js.
 */
export type Sequence = any[] & {
  sequence?: boolean;
  keepSingleton?: boolean;
  outerWrapper?: boolean;
  cons?: boolean;
};

export function createSequence(): Sequence {
  const sequence: Sequence = [];
  sequence.sequence = true;
  return sequence;
}

export function createSequenceOf(item: unknown): Sequence {
  const sequence: Sequence = [item];
  sequence.sequence = true;
  return sequence;
}

export function isSequence(value: any): boolean {
  return value.sequence === true && Array.isArray(value);
}

/** The tail of jsonata's `evaluate`: unwrap singleton and empty sequences, honour `[]`. */
export function unwrap(result: any, keepArray: boolean): any {
  if (result && isSequence(result)) {
    if (keepArray) result.keepSingleton = true;
    if (result.length === 0) return undefined;
    if (result.length === 1) return result.keepSingleton ? result : result[0];
  }
  return result;
}

export function isNumeric(n: unknown): boolean {
  if (typeof n !== "number") return false;
  if (Number.isNaN(n)) return false;
  if (!Number.isFinite(n)) throw new CompiledExpressionError("D1001", { value: n });
  return true;
}

export function isArrayOfNumbers(arg: any): boolean {
  // jsonata tests every item (so an Infinity anywhere throws), not just up to the first non-number
  return Array.isArray(arg) && arg.filter((item) => !isNumeric(item)).length === 0;
}

export function isFunction(arg: any): boolean {
  return (
    (arg && (arg._jsonata_function === true || arg._jsonata_lambda === true)) || typeof arg === "function"
  );
}

/** jsonata's `utils.keys`. */
export function keysOf(arg: any): string[] {
  return typeof arg === "object" && arg !== null ? Object.keys(arg) : [];
}

export function isDeepEqual(lhs: any, rhs: any): boolean {
  if (lhs === rhs) return true;
  if (typeof lhs === "object" && typeof rhs === "object" && lhs !== null && rhs !== null) {
    if (Array.isArray(lhs) && Array.isArray(rhs)) {
      if (lhs.length !== rhs.length) return false;
      for (let ii = 0; ii < lhs.length; ii++) if (!isDeepEqual(lhs[ii], rhs[ii])) return false;
      return true;
    }
    let lkeys = Object.getOwnPropertyNames(lhs);
    let rkeys = Object.getOwnPropertyNames(rhs);
    if (lkeys.length !== rkeys.length) return false;
    lkeys = lkeys.sort();
    rkeys = rkeys.sort();
    for (let ii = 0; ii < lkeys.length; ii++) if (lkeys[ii] !== rkeys[ii]) return false;
    for (const key of lkeys) if (!isDeepEqual(lhs[key], rhs[key])) return false;
    return true;
  }
  return false;
}

/** jsonata's `$lookup` and field-name step. */
export function lookup(input: any, key: string): any {
  if (Array.isArray(input)) {
    const result = createSequence();
    for (let ii = 0; ii < input.length; ii++) {
      const res = lookup(input[ii], key);
      if (res !== undefined) {
        // forEach, as jsonata: holes are skipped
        if (Array.isArray(res))
          res.forEach((value) => {
            result.push(value);
          });
        else result.push(res);
      }
    }
    return result;
  }
  if (input !== null && typeof input === "object" && Object.hasOwn(input, key) && !isFunction(input))
    return input[key];
  return undefined;
}

/** jsonata's `$append`. */
export function append(arg1: any, arg2: any): any {
  if (arg1 === undefined) return arg2;
  if (arg2 === undefined) return arg1;
  if (!Array.isArray(arg1)) arg1 = createSequenceOf(arg1);
  if (!Array.isArray(arg2)) arg2 = [arg2];
  return arg1.concat(arg2);
}

/** jsonata's `$boolean`: the effective boolean value. */
export function toBoolean(arg: any): boolean | undefined {
  if (arg === undefined) return undefined;
  let result = false;
  if (Array.isArray(arg)) {
    if (arg.length === 1) result = toBoolean(arg[0]) as boolean;
    else if (arg.length > 1) result = arg.filter((value) => toBoolean(value)).length > 0;
  } else if (typeof arg === "string") {
    if (arg.length > 0) result = true;
  } else if (isNumeric(arg)) {
    if (arg !== 0) result = true;
  } else if (arg !== null && typeof arg === "object" && !isFunction(arg)) {
    if (keysOf(arg).length > 0) result = true;
  } else if (typeof arg === "boolean" && arg === true) result = true;
  return result;
}

/** jsonata's `$string` (also the operands of `&`). */
export function toJsonataString(arg: any, prettify = false): string | undefined {
  if (arg === undefined) return undefined;
  if (typeof arg === "string") return arg;
  if (isFunction(arg)) return "";
  if (typeof arg === "number" && !Number.isFinite(arg))
    throw new CompiledExpressionError("D3001", { value: arg });
  if (Array.isArray(arg) && (arg as Sequence).outerWrapper) arg = arg[0];
  return JSON.stringify(
    arg,
    (_key, val) => {
      if (val !== undefined && val !== null && isNumeric(val))
        return val.toPrecision && !Number.isInteger(val) ? Number(val.toPrecision(15)) : val;
      return val && isFunction(val) ? "" : val;
    },
    prettify ? 2 : 0,
  );
}
