/**
 * `JSON.parse(JSON.stringify(value))` without the string: a fresh plain copy with JSON's rules
 * (non-finite numbers → null, -0 → 0, undefined and functions dropped from objects and null in
 * arrays, array flags gone). Anything unusual (toJSON, class instances, bigint) takes the real
 * round trip, so the result is always what the round trip gives.
 */
export function toPlainJson(value: unknown): unknown {
  if (value === undefined) return undefined;
  const copy = copyValue(value);
  return copy === SKIP ? JSON.parse(JSON.stringify(value)) : copy;
}

const SKIP = Symbol("skip");

function copyValue(value: unknown): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
    case "undefined":
    case "function":
    case "symbol":
      return SKIP;
    case "object":
      if (value === null) return null;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype || "toJSON" in value) return roundTrip(value);
        const out = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const item = copyValue(value[i]);
          out[i] = item === SKIP ? null : item;
        }
        return out;
      }
      {
        const prototype = Object.getPrototypeOf(value);
        if ((prototype !== Object.prototype && prototype !== null) || "toJSON" in value)
          return roundTrip(value);
        const out: Record<string, unknown> = {};
        for (const key of Object.keys(value)) {
          const item = copyValue((value as Record<string, unknown>)[key]);
          if (item === SKIP) continue;
          if (key === "__proto__")
            Object.defineProperty(out, key, {
              value: item,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          else out[key] = item;
        }
        return out;
      }
    default:
      return roundTrip(value);
  }
}

function roundTrip(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? SKIP : JSON.parse(text);
}
