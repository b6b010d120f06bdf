import assert from "node:assert/strict";
import { test } from "node:test";
import { mappingFunctions } from "../../mapping/jsonata-functions.js";
import { NATIVES } from "./functions.js";
import { compileJsonata, installedJsonataVersion, MIRRORED_JSONATA_VERSION } from "./index.js";

test("constructs outside the subset are left to jsonata", () => {
  for (const source of [
    "$now()",
    "$millis()",
    "$random()",
    "$merge([a, b])",
    "$map(a, function($v) { $v * 2 })",
    "function($x) { $x }",
    "($sum := 1; $sum(a))",
    "($x := 0; [$x := 1, $x])",
    "($x := 0; { 'a': $x := 1, 'b': $x })",
    "($x := 0; [a, [$x := 1]])",
    "($x := $uppercase; $x(a))",
    "$x",
    "$uppercase",
    "$splitName(name)",
    "$formatDate(d, 'YYYY')",
    "$nullPolicy(a, 'omit')",
    "$match(a, /x/)",
    "$contains(a, /x/)",
    "$split(a, /,/)",
    "$replace(a, 'x', 'y')",
    "/abc/",
    "a ~> $uppercase()",
    "a^(b)",
    "a{ b: c }",
    "a.*",
    "*",
    "**.a",
    "a.%.b",
    "[1..3]",
    "a@$x.b",
    "a#$i.b",
    "$ ~> |a|{ 'b': 1 }|",
    "$sort(a)",
    "$eval('1')",
    "$distinct(a)",
    "$pad(a, 3)",
    "$formatNumber(a, '#')",
    "$string(a)(1)",
    "{",
    "a +",
  ]) {
    assert.equal(compileJsonata(source), null, source);
  }
});

test("the subset compiles", () => {
  for (const source of [
    '{ "a": b, "n": $sum(items.(qty * price)), "l": [items.{ "s": sku }] }',
    "a.b[0][c > 1].d[]",
    "$message.id & '-' & $string($$.n)",
    "(a; b)",
    "-a ? [1, 2] : { 'x': $round(2.5) }",
    "a ?: b",
    "a ?? b",
    "($x := 1; $x)",
    "[($x := 1; $x), ($x := 2; $x)]",
    "{ 'a': ($x := 1; $x + 1) }",
    "($x := 0; [a, b][$x := 1])",
    "($t := $sum(items.price); items.{ 'share': price / $t })",
  ]) {
    assert.notEqual(compileJsonata(source), null, source);
  }
});

test("no mapping helper shadows a built-in the compiler implements", () => {
  // the engine binds the helpers on every expression: one named like a built-in would replace it
  for (const name of Object.keys(mappingFunctions)) assert.equal(NATIVES.has(name), false, name);
});

test("the installed jsonata is the release the compiler mirrors", () => {
  // after an upgrade: re-read jsonata.js's evaluator, adapt, rerun these tests, then bump the version
  assert.equal(installedJsonataVersion, MIRRORED_JSONATA_VERSION);
});
