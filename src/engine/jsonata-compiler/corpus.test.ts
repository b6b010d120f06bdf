import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import jsonata from "jsonata";
import { FLOW_MAPPING_JSONATA, FLOW_MAPPING_JSONATA_INLINE } from "../../../bench/lib/mapping.js";
import { ORDER } from "../../../bench/lib/order.js";
import { repositoryExpressions, TRICKY } from "./corpus.js";
import { compare, fieldNames, hasConcurrentMembers, jsonInput } from "./differential.js";
import { compileJsonata } from "./index.js";

/** Fixed inputs every corpus expression also runs against: the shapes paths trip over. */
const FIXED: unknown[] = [
  { ...ORDER, sentAt: 1 },
  {},
  null,
  [],
  [1, 2],
  "text",
  { a: 1, b: 2, c: 3 },
  { a: [1, 2, 3], b: [] },
  { a: [[1, 2], [3]], b: [[]] },
  { a: [{ b: 1 }, { b: [2, 3] }, { c: 4 }] },
  { a: { b: [{ c: 1 }] } },
  { a: [{ b: { c: [1] } }] },
  { a: null, b: "x", c: "y" },
  { a: "Ada Lovelace", b: "a" },
  { a: "12", b: 3 },
  { a: ["x", "y"], b: "x" },
  {
    a: [
      { b: "x", c: 1 },
      { b: "y", c: 2 },
    ],
  },
  {
    items: [
      { price: 2.5, qty: 2 },
      { price: 10, qty: 1 },
    ],
  },
  { items: [{ price: "2.5", qty: 2 }] },
  { items: { price: 4, qty: 3 } },
  { items: [] },
  { a: 1e21, b: 0.1 },
  { a: { _jsonata_function: true }, b: [{ _jsonata_lambda: true }] },
];

const corpus = [
  ...new Set([...repositoryExpressions(), FLOW_MAPPING_JSONATA, FLOW_MAPPING_JSONATA_INLINE, ...TRICKY]),
];

test("the repository's expressions and the tricky list: compiled and jsonata agree", async () => {
  const divergences: string[] = [];
  let compiled = 0;
  for (const source of corpus) {
    if (compileJsonata(source) === null) continue;
    compiled++;
    const codes = !hasConcurrentMembers(source);
    for (const input of FIXED) {
      const { divergence } = await compare(source, input, codes);
      if (divergence) divergences.push(divergence);
    }
    await fc.assert(
      fc.asyncProperty(jsonInput(fieldNames(source)), async (input) => {
        const { divergence } = await compare(source, input, codes);
        if (divergence) divergences.push(divergence);
      }),
      {
        numRuns: Number(process.env.JSONATA_CORPUS_RUNS ?? 40),
        seed: Number(process.env.JSONATA_CORPUS_SEED ?? 7),
      },
    );
  }
  assert.deepEqual(divergences.slice(0, 10), []);
  assert.ok(compiled >= TRICKY.length - 2, `only ${compiled} of ${corpus.length} compiled`);
});

test("every repository expression compiles unless it is outside the subset", () => {
  for (const source of repositoryExpressions()) {
    if (compileJsonata(source) !== null) continue;
    let parses = true;
    try {
      jsonata(source);
    } catch {
      parses = false; // a snippet of a template or a deliberately broken fixture
    }
    if (parses) assert.match(source, /\$merge|\$nullPolicy|function/, source);
  }
  assert.ok(compileJsonata(FLOW_MAPPING_JSONATA));
  assert.ok(compileJsonata(FLOW_MAPPING_JSONATA_INLINE));
});
