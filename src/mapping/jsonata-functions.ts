import { formatAddress, parseAddress } from "./addresses.js";
import { normaliseCountry } from "./countries.js";
import { convertCurrency, fromMinorUnits, roundMoney, toMinorUnits } from "./currency.js";
import { type DstPolicy, formatDate, parseDate, toTimeZone } from "./dates.js";
import { joinName, type SplitNameOptions, splitName } from "./names.js";
import { applyNullPolicy, applyNullPolicyDeep, type NullPolicy, omitEmpty } from "./nulls.js";
import { convertUnit } from "./units.js";

/**
 * The mapping helpers as JSONata functions, bound in every map, filter and switch expression, inline
 * and in the expression workers (which import this module by path). A missing first argument gives
 * a missing result, as JSONata's own functions do, except `$nullPolicy`, whose job is absent values,
 * and `$joinName`, where either part may be missing.
 */
type Fn = (...args: any[]) => unknown;

const absentIn =
  (fn: Fn): Fn =>
  (first: unknown, ...rest: unknown[]) =>
    first === undefined ? undefined : fn(first, ...rest);

export const mappingFunctions: Readonly<Record<string, Fn>> = {
  splitName: absentIn((name: string, options?: SplitNameOptions | SplitNameOptions["order"]) =>
    splitName(name, typeof options === "string" ? { order: options } : (options ?? {})),
  ),
  // Either part may be missing ("Cher"); nothing to join gives a missing result.
  joinName: (parts: unknown, family?: string) => {
    const joined =
      parts !== null && typeof parts === "object"
        ? joinName(parts as object)
        : joinName({ given: typeof parts === "string" ? parts : undefined, family });
    return joined === "" ? undefined : joined;
  },
  parseAddress: absentIn((text: string, country?: string) => parseAddress(text, country)),
  formatAddress: absentIn((address: object, from?: string) => formatAddress(address, { from })),
  countryCode: absentIn((text: string) => normaliseCountry(text)),
  parseDate: absentIn((text: string, format: string, timeZone?: string, dst?: DstPolicy) =>
    parseDate(text, format, timeZone, { dst }),
  ),
  formatDate: absentIn((iso: string, format: string, timeZone?: string) => formatDate(iso, format, timeZone)),
  toTimeZone: absentIn((iso: string, timeZone: string, fromZone?: string, dst?: DstPolicy) =>
    toTimeZone(iso, timeZone, fromZone, dst),
  ),
  convertUnit: absentIn((value: number, from: string, to: string) => convertUnit(value, from, to)),
  convertCurrency: absentIn(
    (amount: string, from: string, to: string, rates: Record<string, string>, base?: string) =>
      convertCurrency(amount, from, to, rates, base),
  ),
  roundMoney: absentIn((amount: string, code: string) => roundMoney(amount, code)),
  toMinorUnits: absentIn((amount: string, code: string) => toMinorUnits(amount, code)),
  fromMinorUnits: absentIn((minor: number, code: string) => fromMinorUnits(minor, code)),
  nullPolicy: (value: unknown, policy: NullPolicy, deep?: boolean) =>
    deep ? applyNullPolicyDeep(value, policy) : applyNullPolicy(value, policy),
  omitEmpty: absentIn((value: unknown, keepNull?: boolean) =>
    omitEmpty(value, { keepNull: keepNull === true }),
  ),
};

/** The part of a compiled JSONata expression this needs (the worker's jsonata is a different copy). */
interface Registrable {
  registerFunction(name: string, implementation: Fn, signature?: string): void;
}

/** Bind the helpers on a compiled expression; returns it for chaining. */
export function registerMappingFunctions<T extends Registrable>(expression: T): T {
  for (const [name, implementation] of Object.entries(mappingFunctions))
    expression.registerFunction(name, implementation);
  return expression;
}
