import { CompiledExpressionError } from "./errors.js";
import { isFunction } from "./sequence.js";

/**
 * jsonata's function-signature validation (signature.js), ported line for line: a signature such as
 * `<s-nn?:s>` becomes a regular expression over one letter per argument's type; a missing `-`
 * argument takes the context value, an `a` parameter wraps a single value in an array, and a typed
 * array (`a<n>`) must hold only that type. Errors: T0410, T0411, T0412.
 */
interface Param {
  regex: string;
  type: string;
  array?: boolean;
  context?: boolean;
  contextRegex?: RegExp;
  subtype?: string;
}

const ARRAY_SIGNATURE_MAPPING: Record<string, string> = {
  a: "arrays",
  b: "booleans",
  f: "functions",
  n: "numbers",
  o: "objects",
  s: "strings",
};

export function typeSymbol(value: unknown): string {
  if (isFunction(value)) return "f";
  switch (typeof value) {
    case "string":
      return "s";
    case "number":
      return "n";
    case "boolean":
      return "b";
    case "object":
      return value === null ? "l" : Array.isArray(value) ? "a" : "o";
    default:
      return "m";
  }
}

export type Validate = (args: unknown[], context: unknown) => unknown[];

export function parseSignature(signature: string): Validate {
  let position = 1;
  const params: Param[] = [];
  let param = Object.create(null) as Param;
  let prevParam = param;
  const next = () => {
    params.push(param);
    prevParam = param;
    param = Object.create(null) as Param;
  };
  const findClosingBracket = (start: number, open: string, close: string) => {
    let depth = 1;
    let at = start;
    while (at < signature.length) {
      at++;
      const symbol = signature.charAt(at);
      if (symbol === close) {
        depth--;
        if (depth === 0) break;
      } else if (symbol === open) depth++;
    }
    return at;
  };
  while (position < signature.length) {
    const symbol = signature.charAt(position);
    if (symbol === ":") break;
    switch (symbol) {
      case "s":
      case "n":
      case "b":
      case "l":
      case "o":
        param.regex = `[${symbol}m]`;
        param.type = symbol;
        next();
        break;
      case "a":
        param.regex = "[asnblfom]";
        param.type = symbol;
        param.array = true;
        next();
        break;
      case "f":
        param.regex = "f";
        param.type = symbol;
        next();
        break;
      case "j":
        param.regex = "[asnblom]";
        param.type = symbol;
        next();
        break;
      case "x":
        param.regex = "[asnblfom]";
        param.type = symbol;
        next();
        break;
      case "-":
        prevParam.context = true;
        prevParam.contextRegex = new RegExp(prevParam.regex);
        prevParam.regex += "?";
        break;
      case "?":
      case "+":
        prevParam.regex += symbol;
        break;
      case "(": {
        const endParen = findClosingBracket(position, "(", ")");
        const choice = signature.substring(position + 1, endParen);
        if (choice.includes("<")) throw new Error(`unsupported signature ${signature}`);
        param.regex = `[${choice}m]`;
        param.type = `(${choice})`;
        position = endParen;
        next();
        break;
      }
      case "<": {
        if (prevParam.type !== "a" && prevParam.type !== "f") throw new Error(`bad signature ${signature}`);
        const endPos = findClosingBracket(position, "<", ">");
        prevParam.subtype = signature.substring(position + 1, endPos);
        position = endPos;
        break;
      }
    }
    position++;
  }
  const regex = new RegExp(`^${params.map((p) => `(${p.regex})`).join("")}$`);

  const throwValidationError = (badArgs: unknown[], badSig: string): never => {
    let partialPattern = "^";
    let goodTo = 0;
    for (const p of params) {
      partialPattern += p.regex;
      const match = badSig.match(partialPattern);
      if (match === null)
        throw new CompiledExpressionError("T0410", { value: badArgs[goodTo], index: goodTo + 1 });
      goodTo = match[0].length;
    }
    throw new CompiledExpressionError("T0410", { value: badArgs[goodTo], index: goodTo + 1 });
  };

  const arrayError = (p: Param, arg: unknown, argIndex: number) =>
    new CompiledExpressionError("T0412", {
      value: arg,
      index: argIndex + 1,
      type: ARRAY_SIGNATURE_MAPPING[p.subtype as string],
    });
  /** `a<x>`: every item of an array argument has the type of the first, which must be x. */
  const checkItems = (p: Param, arg: any, argIndex: number) => {
    if (arg.length === 0) return;
    const itemType = typeSymbol(arg[0]);
    if (itemType !== (p.subtype as string).charAt(0)) throw arrayError(p, arg, argIndex);
    if (arg.filter((val: unknown) => typeSymbol(val) !== itemType).length !== 0)
      throw arrayError(p, arg, argIndex);
  };

  // What validation does depends only on the argument types: plan it once per type string.
  const plans = new Map<string, Plan>();
  const plan = (suppliedSig: string): Plan => {
    const isValid = regex.exec(suppliedSig);
    const result: Plan = { isValid, identity: isValid !== null, checks: [] };
    if (isValid === null) return result;
    let argIndex = 0;
    params.forEach((p, index) => {
      const match = isValid[index + 1];
      if (match === "") {
        if (p.context && p.contextRegex) result.identity = false;
        else argIndex++;
        return;
      }
      for (const single of match) {
        if (p.type === "a" && single !== "m") {
          if (single !== "a") result.identity = false;
          else if (p.subtype !== undefined) result.checks.push({ param: p, index: argIndex });
        }
        argIndex++;
      }
    });
    if (argIndex !== suppliedSig.length) result.identity = false;
    return result;
  };

  return (args, context) => {
    let suppliedSig = "";
    for (const arg of args) suppliedSig += typeSymbol(arg);
    let planned = plans.get(suppliedSig);
    if (planned === undefined) {
      planned = plan(suppliedSig);
      if (plans.size < 64) plans.set(suppliedSig, planned);
    }
    const isValid = planned.isValid;
    if (!isValid) return throwValidationError(args, suppliedSig);
    // the common case: every argument passes unchanged, typed arrays checked
    if (planned.identity) {
      for (const { param: p, index } of planned.checks) checkItems(p, args[index], index);
      return args;
    }
    const validatedArgs: unknown[] = [];
    let argIndex = 0;
    params.forEach((p, index) => {
      let arg: any = args[argIndex];
      const match = isValid[index + 1];
      if (match === "") {
        if (p.context && p.contextRegex) {
          if (p.contextRegex.test(typeSymbol(context))) validatedArgs.push(context);
          else throw new CompiledExpressionError("T0411", { value: context, index: argIndex + 1 });
        } else {
          validatedArgs.push(arg);
          argIndex++;
        }
      } else {
        for (const single of match.split("")) {
          arg = args[argIndex];
          if (p.type === "a") {
            if (single === "m") arg = undefined;
            else {
              if (p.subtype !== undefined) {
                if (single !== "a" && match !== p.subtype) throw arrayError(p, arg, argIndex);
                if (single === "a") checkItems(p, arg, argIndex);
              }
              if (single !== "a") arg = [arg];
            }
          }
          validatedArgs.push(arg);
          argIndex++;
        }
      }
    });
    return validatedArgs;
  };
}

interface Plan {
  isValid: RegExpExecArray | null;
  /** The validated arguments are the arguments themselves (after `checks`). */
  identity: boolean;
  checks: { param: Param; index: number }[];
}
