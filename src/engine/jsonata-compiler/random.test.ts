import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { compare, hasConcurrentMembers, jsonInput } from "./differential.js";
import { compileJsonata } from "./index.js";

/**
 * Random expressions from the supported grammar, on random inputs over the same field names:
 * compiled and jsonata must agree (or the compiler must decline the expression).
 */
const NAMES = ["a", "b", "c", "items", "price", "qty"];
const LITERALS = [
  "1",
  "2.5",
  "0",
  "-1",
  '"x"',
  '"a b"',
  '""',
  "true",
  "false",
  "null",
  '"12"',
  "1e21",
  "0.1",
  "3",
];
const OPERATORS = ["+", "-", "*", "/", "%", "=", "!=", "<", "<=", ">", ">=", "&", "and", "or", "in"];
/** Function name → [fewest, most] arguments; one more or less than that tests signature errors. */
const FUNCTIONS: Record<string, [number, number]> = {
  string: [0, 2],
  number: [0, 1],
  boolean: [0, 1],
  not: [0, 1],
  exists: [1, 1],
  count: [1, 1],
  sum: [1, 1],
  max: [1, 1],
  min: [1, 1],
  average: [1, 1],
  round: [0, 2],
  floor: [0, 1],
  ceil: [0, 1],
  abs: [0, 1],
  uppercase: [0, 1],
  lowercase: [0, 1],
  trim: [0, 1],
  length: [0, 1],
  substring: [1, 3],
  substringBefore: [1, 2],
  substringAfter: [1, 2],
  contains: [1, 2],
  split: [1, 3],
  join: [1, 2],
  keys: [0, 1],
  lookup: [1, 2],
  append: [2, 2],
  type: [1, 1],
};

const expression = fc.letrec<{ expr: string; step: string; path: string; predicate: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", maxDepth: 3 },
    fc.constantFrom(...LITERALS),
    tie("path"),
    fc.constantFrom("$", "$$", "$message.id", "$message.headers", "$$.a", "$.b"),
    fc
      .tuple(tie("expr"), fc.constantFrom(...OPERATORS), tie("expr"))
      .map(([l, op, r]) => `(${l} ${op} ${r})`),
    tie("expr").map((e) => `-(${e})`),
    fc
      .tuple(tie("expr"), tie("expr"), fc.option(tie("expr")))
      .map(([c, t, e]) => (e === null ? `(${c} ? ${t})` : `(${c} ? ${t} : ${e})`)),
    fc.array(tie("expr"), { maxLength: 3 }).map((items) => `[${items.join(", ")}]`),
    fc
      .array(fc.tuple(fc.oneof(fc.constantFrom('"k"', '"v"', '"w"', '"1"'), tie("expr")), tie("expr")), {
        maxLength: 3,
      })
      .map((pairs) => `{${pairs.map(([k, v]) => `${k}: ${v}`).join(", ")}}`),
    fc.array(tie("expr"), { minLength: 1, maxLength: 2 }).map((items) => `(${items.join("; ")})`),
    fc
      .tuple(fc.constantFrom("$v", "$w"), tie("expr"), tie("expr"))
      .map(([name, value, body]) => `(${name} := ${value}; ${body})`),
    fc.constantFrom("$v", "$w"),
    fc
      .tuple(
        fc.constantFrom(...Object.keys(FUNCTIONS)),
        fc.array(tie("expr"), { maxLength: 4 }),
        fc.integer({ min: 0, max: 9 }),
      )
      .map(([name, args, wrong]) => {
        const [fewest, most] = FUNCTIONS[name];
        const count =
          wrong === 0 ? Math.min(args.length, most + 1) : Math.max(fewest, Math.min(args.length, most));
        const padded = [...args, ...Array(Math.max(0, count - args.length)).fill("a")].slice(0, count);
        return `$${name}(${padded.join(", ")})`;
      }),
  ),
  predicate: fc.oneof(
    fc.constantFrom("[0]", "[-1]", "[1]", "[]", "[0][0]"),
    tie("expr").map((e) => `[${e}]`),
  ),
  step: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...NAMES) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...NAMES), tie("predicate")).map(([n, p]) => n + p) },
    { weight: 1, arbitrary: tie("expr").map((e) => `(${e})`) },
    { weight: 1, arbitrary: tie("expr").map((e) => `{ "z": ${e} }`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("$", '{ "k": a, "v": b }', '{ "k": a[], "v": b.c }', "[a, b]", "[a][]"),
    },
  ),
  path: fc.array(tie("step"), { minLength: 1, maxLength: 3 }).map((steps) => steps.join(".")),
}));

test("random expressions of the subset: compiled and jsonata agree on random inputs", async () => {
  const divergences: string[] = [];
  let compiled = 0;
  let runs = 0;
  let compared = 0;
  let fellBack = 0;
  await fc.assert(
    fc.asyncProperty(
      expression.expr,
      fc.array(jsonInput(NAMES), { minLength: 3, maxLength: 3 }),
      async (source, inputs) => {
        runs++;
        let code: ReturnType<typeof compileJsonata>;
        try {
          code = compileJsonata(source);
        } catch (error) {
          divergences.push(`${source}: compileJsonata threw ${String(error)}`);
          return;
        }
        if (code === null) return;
        compiled++;
        const codes = !hasConcurrentMembers(source);
        for (const input of inputs) {
          const verdict = await compare(source, input, codes);
          if (verdict.divergence) divergences.push(verdict.divergence);
          compared++;
          if (verdict.fellBack) fellBack++;
        }
      },
    ),
    {
      numRuns: Number(process.env.JSONATA_RANDOM_RUNS ?? 600),
      seed: Number(process.env.JSONATA_RANDOM_SEED ?? 42),
    },
  );
  assert.deepEqual(divergences.slice(0, 5), []);
  assert.ok(compiled > runs * 0.7, `only ${compiled} of ${runs} generated expressions compiled`);
  // handing over to jsonata at run time is for rare data (empty arrays under `{...}`, lookalike functions)
  assert.ok(fellBack < compared * 0.05, `${fellBack} of ${compared} evaluations fell back to jsonata`);
});
