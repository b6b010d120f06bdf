import fc from "fast-check";
import jsonata from "jsonata";
import { Fallback } from "./compile.js";
import { compileJsonata } from "./index.js";

/**
 * Test support: run an expression through jsonata and through the compiled function on copies of
 * the same input and say how they differ (null when they agree). Agreement means the same JSON
 * result (key order included), or both throwing; error codes are compared when `compareCodes`
 * (jsonata evaluates the members of `[...]` and `{...}` concurrently, so with several failing
 * members which error wins is a matter of scheduling).
 */
export const BINDINGS = {
  message: {
    id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
    source: "test",
    type: "order.created",
    subject: "sensors/boiler-1/temperature",
    headers: { tenant: "acme", count: "3" },
  },
};

type Outcome = { ok: true; json: string | undefined } | { ok: false; code: unknown; message: string };

async function jsonataOutcome(expression: jsonata.Expression, input: unknown): Promise<Outcome> {
  try {
    const value = await expression.evaluate(structuredClone(input), structuredClone(BINDINGS));
    return {
      ok: true,
      json: value === undefined ? undefined : JSON.stringify(JSON.parse(JSON.stringify(value))),
    };
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: string };
    return { ok: false, code, message: String(message) };
  }
}

export interface Verdict {
  /** null when both agree, else a description. */
  divergence: string | null;
  fellBack: boolean;
}

export async function compare(source: string, input: unknown, compareCodes = true): Promise<Verdict> {
  const compiled = compileJsonata(source);
  if (compiled === null) return { divergence: `${source}: not compiled`, fellBack: false };
  const expected = await jsonataOutcome(jsonata(source), input);
  let actual: Outcome;
  try {
    const value = compiled(structuredClone(input), structuredClone(BINDINGS));
    actual = { ok: true, json: value === undefined ? undefined : JSON.stringify(value) };
  } catch (error) {
    if (error instanceof Fallback) return { divergence: null, fellBack: true };
    const { code, message } = error as { code?: unknown; message?: string };
    actual = { ok: false, code, message: String(message) };
  }
  const show = (o: Outcome) => (o.ok ? `result ${o.json}` : `error ${String(o.code)} ${o.message}`);
  const same = expected.ok
    ? actual.ok && actual.json === expected.json
    : !actual.ok && (!compareCodes || expected.code === undefined || expected.code === actual.code);
  return {
    divergence: same
      ? null
      : `${source}\n  input:    ${JSON.stringify(input)}\n  jsonata:  ${show(expected)}\n  compiled: ${show(actual)}`,
    fellBack: false,
  };
}

/** True when the expression has a `[...]` or `{...}` whose members jsonata evaluates concurrently. */
export function hasConcurrentMembers(source: string): boolean {
  let found = false;
  const visit = (node: unknown): void => {
    if (found || node === null || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    if (
      n.type === "unary" &&
      ((n.value === "[" && (n.expressions as unknown[]).length > 1) || n.value === "{")
    )
      found = true;
    for (const value of Object.values(n)) visit(value);
  };
  visit(jsonata(source).ast());
  return found;
}

/** Field names an expression reads, so generated inputs have them (and some they lack). */
export function fieldNames(source: string): string[] {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    if (n.type === "name" && typeof n.value === "string") names.add(n.value);
    for (const value of Object.values(n)) visit(value);
  };
  visit(jsonata(source).ast());
  return [...names];
}

const NUMBERS = [0, 1, 2, 3, -1, 2.5, 3.5, -2.5, 0.1, 0.2, 0.3, 1e21, 123.456, 1e-7, 10, 100, 250, 0.615];
const STRINGS = [
  "",
  "a",
  "Ada Lovelace",
  " x  y ",
  "12",
  "1e3",
  "-4.5",
  "0x1F",
  "true",
  "null",
  "a/b/c",
  "é🙂",
  "sku",
];

/** JSON values shaped like the expression's input: objects over `names`, arrays (empty, singleton, nested), nulls. */
export function jsonInput(names: string[]): fc.Arbitrary<unknown> {
  const keys = names.length > 0 ? names : ["a"];
  const leaf = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.constantFrom(...NUMBERS),
    fc.integer({ min: -1000, max: 1000 }),
    fc.constantFrom(...STRINGS),
    fc.string({ maxLength: 4 }),
  );
  const { value } = fc.letrec<{ value: unknown; object: Record<string, unknown> }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", maxDepth: 4 },
      leaf,
      tie("object"),
      fc.array(tie("value"), { maxLength: 3 }),
    ),
    object: fc.record(Object.fromEntries(keys.map((key) => [key, tie("value")])), { requiredKeys: [] }),
  }));
  return fc.oneof(
    { weight: 4, arbitrary: value.filter((v) => v !== null && typeof v === "object") },
    { weight: 1, arbitrary: value },
  );
}
