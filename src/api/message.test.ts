import assert from "node:assert/strict";
import { test } from "node:test";
import { validate, version } from "uuid";
import {
  childTraceparent,
  createMessage,
  messageJson,
  newMessageId,
  normaliseTraceparent,
} from "./message.js";

test("message ids are valid UUIDv7 with the RFC variant", () => {
  for (let i = 0; i < 2000; i++) {
    const id = newMessageId();
    assert.ok(validate(id), id);
    assert.equal(version(id), 7, id);
    assert.match(id[19], /[89ab]/, id);
  }
});

test("message ids are unique and strictly increasing across many pool refills", () => {
  const count = 200_000;
  const seen = new Set<string>();
  let previous = "";
  for (let i = 0; i < count; i++) {
    const id = newMessageId();
    assert.ok(id > previous, `${id} does not sort after ${previous}`);
    previous = id;
    seen.add(id);
  }
  assert.equal(seen.size, count);
});

test("a message id carries the current time in its first 48 bits", () => {
  const before = Date.now();
  const id = newMessageId();
  const after = Date.now();
  const msecs = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  // The sequence may borrow a millisecond ahead when it overflows, never more than a few.
  assert.ok(msecs >= before && msecs <= after + 5, `${msecs} not in [${before}, ${after}]`);
});

test("new trace contexts are valid W3C traceparents with random, distinct ids", () => {
  const traces = new Set<string>();
  const spans = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const traceparent = normaliseTraceparent(undefined);
    const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(traceparent);
    assert.ok(match, traceparent);
    traces.add(match[1]);
    spans.add(match[2]);
    const child = childTraceparent(traceparent);
    assert.equal(child.slice(0, 36), traceparent.slice(0, 36), "a child keeps the trace id");
    assert.notEqual(child, traceparent);
  }
  assert.equal(traces.size, 5000);
  assert.equal(spans.size, 5000);
  const given = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  assert.equal(normaliseTraceparent(given), given);
});

test("messageJson splices the data's own text into the envelope and parses to the same message", () => {
  const text =
    '\r\n { "name" : "Zoë \\u00e9",\n  "lines": [ {"q": 1e2}, null, true ], "__proto__": {"x": 1} }\t';
  const message = createMessage({
    source: "webhook:/in",
    type: "order",
    subject: "s-1",
    datacontenttype: "application/json",
    headers: { "content-type": "application/json" },
    data: JSON.parse(text),
  });
  const json = messageJson(message, text);
  assert.ok(json.endsWith(`,"data":${text}}`), "the text is kept as it came");
  assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(message)));
  assert.deepEqual(message.data, JSON.parse(text), "the message itself is not changed");
});
