import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/**
 * Test support: every JSONata expression the repository ships (example YAML and .jsonata files,
 * `jsonata: '...'` snippets in docs and sources) plus hand-written tricky ones. The bench mappings
 * are added by the test (src/ must not import bench/: the build would emit it).
 */
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const EXPRESSION_KEYS = new Set(["jsonata", "when", "key", "partitionBy", "idempotencyKey"]);

function files(dir: string, test: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(path, test));
    else if (test(entry.name)) out.push(path);
  }
  return out;
}

function fromYaml(value: unknown, into: Set<string>, key?: string): void {
  if (typeof value === "string") {
    if (key !== undefined && EXPRESSION_KEYS.has(key)) into.add(value.trim());
    for (const match of value.matchAll(/\{\{([\s\S]*?)\}\}/g)) into.add(match[1].trim());
  } else if (Array.isArray(value)) for (const item of value) fromYaml(item, into);
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) fromYaml(v, into, k);
}

export function repositoryExpressions(): string[] {
  const found = new Set<string>();
  for (const path of files(
    join(ROOT, "examples"),
    (name) => name.endsWith(".yaml") || name.endsWith(".yml"),
  )) {
    try {
      for (const document of readFileSync(path, "utf8").split(/^---$/m)) fromYaml(parse(document), found);
    } catch {
      // a template or deliberately broken fixture: its snippets are picked up below
    }
  }
  for (const path of files(join(ROOT, "examples"), (name) => name.endsWith(".jsonata")))
    found.add(readFileSync(path, "utf8").trim());
  const snippet = /jsonata: '((?:[^'\\]|\\.)+)'|jsonata: "((?:[^"\\]|\\.)+)"/g;
  for (const dir of ["docs", "src", "examples", "bench"])
    for (const path of files(join(ROOT, dir), (name) => /\.(md|ts|yaml)$/.test(name)))
      for (const match of readFileSync(path, "utf8").matchAll(snippet))
        found.add((match[1] ?? match[2].replace(/\\"/g, '"')).trim());
  return [...found].filter((expression) => expression.length > 0);
}

/** Expressions chosen to hit jsonata's corner cases. */
export const TRICKY = [
  "a",
  "a.b",
  "a.b.c",
  "`a b`.c",
  "a[]",
  "a.b[]",
  "a[0]",
  "a[-1]",
  "a[1][0]",
  "a[0].b",
  "a.b[0]",
  "a[b > 1]",
  "a[b]",
  "a[b = 'x'].c",
  "a[[0, 1]]",
  "a[0[0]]",
  "a.b[0][]",
  "a[][0]",
  "a[].b",
  "a.b[].c",
  "$[]",
  "$$[0]",
  "a.b.c[]",
  "a[0].b[0].c",
  "a[-1].b[-1]",
  "a[b][0]",
  "a.b[c = 1]",
  "a[$type($) = 'number']",
  "a[$exists(b)].b",
  "a[b > 1 and c < 5]",
  "a.(b + c)",
  "a.{ 'k': b }.k",
  "a.[b, c]",
  "a.$string()",
  "a.$uppercase()",
  "a.$count(b)",
  "$",
  "$$",
  "$.a",
  "$$.a.b",
  "a.$",
  "a.$$",
  "$[0]",
  "$message.id",
  "$message.headers.tenant",
  "$message.subject & '/' & a",
  "items.price",
  "items.price * 2",
  "items.(price * qty)",
  "$sum(items.(price * qty))",
  "$sum(items.price)",
  "$sum(a)",
  "$sum([])",
  "$count(a)",
  "$count(items.price)",
  "$max(a)",
  "$min(a.b)",
  "$average(a)",
  "$round(a)",
  "$round(a, 2)",
  "$round(2.5) & $round(3.5) & $round(-2.5) & $round(0.615, 2)",
  "$floor(a) + $ceil(b)",
  "$abs(a)",
  "$string(a)",
  "$string(a, true)",
  "$string(0.1 + 0.2) & $string(1e21) & $string(1/3)",
  "$string()",
  "$number(a)",
  "$number('0x1F') + $number('12')",
  "$boolean(a)",
  "$not(a)",
  "$exists(a)",
  "$exists(a.b)",
  "$uppercase(a)",
  "$lowercase()",
  "$trim(a)",
  "$length(a)",
  "$substring(a, 1)",
  "$substring(a, -2, 1)",
  "$substringBefore(a, ' ')",
  "$substringAfter(a, ' ')",
  "$contains(a, 'a')",
  "$split(a, ' ')",
  "$split(a, ' ', 1)",
  "$split(a, '/')[1]",
  "$join(a, ',')",
  "$join(a.b)",
  "$keys(a)",
  "$keys($)",
  "$lookup(a, 'b')",
  "$append(a, b)",
  "$append([1], [[2]])",
  "$type(a)",
  "$type(a.b)",
  "a & b",
  "a + b",
  "a - b",
  "a * b",
  "a / b",
  "a % b",
  "-a",
  "-(a.b)",
  "a = b",
  "a != b",
  "a < b",
  "a <= b",
  "a > 1",
  "a >= 'x'",
  "a and b",
  "a or b",
  "a in b",
  "'x' in a",
  "a ? b : c",
  "a ? b",
  "a ?: b",
  "a ?? b",
  "a = null ? 'none' : a",
  "(a; b)",
  "()",
  "(a)",
  "[a, b]",
  "[a, [b]]",
  "[[a]]",
  "[]",
  "[1, 2, 3][1]",
  "[a][0]",
  "[a, b].c",
  "a.[b]",
  "a.[b][0]",
  "{}",
  '{ "a": a }',
  '{ "a": a, "b": b.c }',
  '{ "a": 1, "a": 2 }',
  "{ a: 1 }",
  "{ $string(a): b }",
  '{ "x": a }.x',
  'a.{ "x": b }',
  'a.{ "x": b }[0]',
  '[a.{ "x": b }]',
  "a.{ b: c }",
  'a.{ "k": $ }',
  '{ "n": 1/0 }',
  '{ "a": b[] }.a',
  '{ "a": b[] }.(a)',
  '{ "a": b[] }.{ "z": a }',
  '{ "a": b[] }.{ "z": a.c }',
  '{ "a": b[], "c": c }.(a.c)',
  '{ "a": b[], "c": c }.a.c',
  '[{ "a": b[] }].a',
  '{ "a": a[0] }.a.b',
  '{ "__proto__": a }',
  '{ "__proto__": a }.__proto__',
  '{ "constructor": a }.constructor',
  "a.constructor",
  "a.__proto__",
  "1/0",
  "0/0",
  "a.b.c.d",
  "true",
  "false",
  "null",
  "'s'[0]",
  "42",
  "-1",
  "1e21 & ''",
  "($x := a; $x)",
  "($x := a; ($x := b; $x) & $x)",
  "($x := a[]; [$x, $x])",
  "($t := $sum(items.price); items.{ 'share': price / $t })",
  "items.($p := price; $p * qty)",
  "a ? ($x := 1) : 2",
  "(a ? ($x := 1); $x)",
  "($x := 1; a ? ($x := 2); $x)",
  "($x := undefined; $x)",
  "$x := a",
  "($message := a; $message)",
  "($$ := a; $$)",
  "a[($v := b; $v > 1)]",
  "(a[$v := b]; $v)",
  "[($x := a; $x), ($x := b; $x)]",
  "{ 'a': ($x := a; $x), 'b': ($x := b; $x) }",
  "($x := 0; [a, b][$x := 1])",
  '"a" & null & true & [1,2] & {"b": 0.1 + 0.2}',
];
