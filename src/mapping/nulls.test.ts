import assert from "node:assert/strict";
import { test } from "node:test";
import { applyNullPolicy, applyNullPolicyDeep, type NullPolicy, omitEmpty } from "./nulls.js";

test("applyNullPolicy: absent, null, empty and values under each policy", () => {
  const inputs = [undefined, null, "", [], {}, "  ", 0, false, "x"];
  const expected: Record<NullPolicy, unknown[]> = {
    keep: [undefined, null, "", [], {}, "  ", 0, false, "x"],
    omit: [undefined, undefined, undefined, undefined, undefined, "  ", 0, false, "x"],
    "omit-null": [undefined, undefined, "", [], {}, "  ", 0, false, "x"],
    null: [null, null, null, null, null, "  ", 0, false, "x"],
    empty: ["", "", "", [], {}, "  ", 0, false, "x"],
  };
  for (const [policy, outputs] of Object.entries(expected) as Array<[NullPolicy, unknown[]]>)
    assert.deepEqual(
      inputs.map((value) => applyNullPolicy(value, policy)),
      outputs,
      policy,
    );
  assert.equal(applyNullPolicy("  ", "omit", { blankIsEmpty: true }), undefined);
  assert.throws(() => applyNullPolicy(1, "drop" as NullPolicy), /unknown null policy "drop"/);
});

test("applyNullPolicyDeep and omitEmpty work on whole objects", () => {
  const record = {
    id: 1,
    name: "",
    email: null,
    tags: [],
    address: { line2: "", city: "Paris" },
    notes: [null, "a"],
  };
  assert.deepEqual(applyNullPolicyDeep(record, "omit"), { id: 1, address: { city: "Paris" }, notes: ["a"] });
  assert.deepEqual(applyNullPolicyDeep(record, "null", { except: ["tags"] }), {
    id: 1,
    name: null,
    email: null,
    tags: [],
    address: { line2: null, city: "Paris" },
    notes: [null, "a"],
  });
  assert.deepEqual(omitEmpty({ a: { b: { c: "" } }, d: [[], {}, 0], e: null, f: false }), {
    d: [0],
    f: false,
  });
  assert.deepEqual(omitEmpty({ a: null, b: "" }, { keepNull: true }), { a: null });
});
