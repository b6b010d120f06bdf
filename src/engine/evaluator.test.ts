import assert from "node:assert/strict";
import { test } from "node:test";
import jsonata from "jsonata";
import type { MappingError } from "../api/errors.js";
import { createMessage, envelopeOf } from "../api/message.js";
import { Evaluator, terminates } from "./evaluator.js";
import { ExpressionPool } from "./expression-pool.js";

test("expressions that cannot loop run inline; lambdas, ranges and regexes go to the workers", () => {
  for (const safe of [
    '{ "a": b, "total": $sum(items.(qty * price)) }',
    "price / 100",
    "a.b[c > 1].d",
    '$uppercase(name) & " " & $string(n)',
    '$split(fullName, " ")[0]',
    '$replace(sku, "-", "")',
  ]) {
    assert.equal(terminates(safe), true, safe);
  }
  for (const unsafe of [
    "($f := function($x){ $f($x + 1) }; $f(1))",
    "[1..10000000]",
    "$match(s, /(a+)+$/)",
    "$__evaluate_entry",
    "x ~> /abc/",
    "$split(s, /a+b/)",
    '$replace(s, /(x+x+)+y/, "")',
  ]) {
    assert.equal(terminates(unsafe), false, unsafe);
  }
});

test("inline and worker evaluation give the same results, errors name the position", async () => {
  const pool = new ExpressionPool({ workers: 1, timeoutMs: 500 });
  const evaluator = new Evaluator(pool);
  const message = createMessage({ source: "s", type: "t", data: null });
  const data = {
    items: [
      { qty: 2, price: 1.5 },
      { qty: 1, price: 3 },
    ],
    name: "ada",
  };
  const inline = await evaluator.evaluate(
    '{ "total": $sum(items.(qty * price)), "who": $uppercase(name), "id": $message.id }',
    data,
    message,
  );
  const viaWorker = await pool.evaluate(
    '{ "total": $sum(items.(qty * price)), "who": $uppercase(name), "id": $message.id }',
    data,
    { message },
  );
  assert.deepEqual(inline, { total: 6, who: "ADA", id: message.id });
  assert.deepEqual(viaWorker, inline);
  await assert.rejects(evaluator.evaluate("$number(name)", data, message), /expression failed/);
  await assert.rejects(
    evaluator.evaluate("($f := function($x){ $f($x + 1) }; $f(1))", data, message),
    /budget/,
  );
  await pool.close();
});

test("compiled expressions: jsonata's results, and jsonata's own errors as JUNCTION_EXPRESSION_FAILED", async () => {
  const pool = new ExpressionPool({ workers: 1, timeoutMs: 500 });
  const evaluator = new Evaluator(pool);
  const message = createMessage({ source: "s", type: "t", data: null });
  const data = { items: [{ price: 2, qty: 3 }], name: "Ada Lovelace", tags: ["x"] };
  const mapping =
    '{ "n": $count(items), "first": $substringBefore(name, " "), "tags": tags[], "id": $message.id }';
  assert.deepEqual(await evaluator.evaluate(mapping, data, message), {
    n: 1,
    first: "Ada",
    tags: ["x"],
    id: message.id,
  });
  for (const failing of ["items.price * 2 + name", "$sum(name)", "{ $count(items): 1 }", "-name"]) {
    const expected = await jsonata(failing)
      .evaluate(data, { message: envelopeOf(message) })
      .then(
        () => assert.fail(`${failing} should fail`),
        (error: { message: string; position?: number }) => error,
      );
    await assert.rejects(evaluator.evaluate(failing, data, message), (error: MappingError) => {
      assert.equal(error.code, "JUNCTION_EXPRESSION_FAILED");
      assert.equal(error.message, `expression failed at position ${expected.position}: ${expected.message}`);
      return true;
    });
  }
  // data that looks like a jsonata function makes the compiled code hand over to jsonata (which fails)
  const lookalike = { a: { _jsonata_function: true }, b: 1 };
  await assert.rejects(
    evaluator.evaluate("$append(a, b)", lookalike, message),
    /expression failed.*Cannot read/,
  );
  await pool.close();
});
