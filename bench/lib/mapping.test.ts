import assert from "node:assert/strict";
import { test } from "node:test";
import jsonata from "jsonata";
import {
  FLOW_MAPPING_JSONATA,
  FLOW_MAPPING_JSONATA_INLINE,
  mapFlowOrder,
  NODE_RED_FUNCTION,
} from "./mapping.js";
import { ORDER } from "./order.js";

const order = { ...ORDER, sentAt: 1_700_000_000_000 };

test("the JSONata, TypeScript and Node-RED function mappings give the same 15 fields", async () => {
  const expected = await jsonata(FLOW_MAPPING_JSONATA).evaluate(structuredClone(order));
  const plain = JSON.parse(JSON.stringify(expected));
  assert.equal(Object.keys(plain).length, 15);
  assert.deepEqual(mapFlowOrder(structuredClone(order)), plain);
  assert.deepEqual(
    JSON.parse(JSON.stringify(await jsonata(FLOW_MAPPING_JSONATA_INLINE).evaluate(order))),
    plain,
  );
  const fn = new Function("msg", NODE_RED_FUNCTION) as (msg: { payload: unknown }) => { payload: unknown };
  assert.deepEqual(fn({ payload: structuredClone(order) }).payload, plain);
  // Node-RED's change node evaluates against msg: the mapping wrapped in payload.( … )
  const wrapped = await jsonata(`payload.(${FLOW_MAPPING_JSONATA})`).evaluate({ payload: order });
  assert.deepEqual(JSON.parse(JSON.stringify(wrapped)), plain);
  assert.equal(plain.priority, "express");
  assert.equal(plain.firstName, "Ada");
});
