import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../../test/helpers/engine.js";
import { builtinRegistry } from "../builtins.js";
import { formatIssue } from "../config/issues.js";
import { parseYaml } from "../config/load.js";

const check = (yaml: string, files: Record<string, string> = {}) => {
  const dir = tempDir(files);
  return parseYaml(yaml, join(dir, "junction.yaml"), builtinRegistry(), {});
};

test("config: subjects named by validate steps, canonical routes and models must be declared, with file:line", () => {
  const { model, issues } = check(
    `schemas:
  order: { file: order.json }
  invoice: { file: missing.avsc }
  payment: { file: payment.avsc }
models:
  order:
    schema: ordr@2
routes:
  a:
    from: { webhook: { path: /a } }
    steps:
      - validate: { subject: ordes@1 }
      - validate: { schema: order.json, subject: order }
    canonical: billing
    to: [ { log: {} } ]
`,
    {
      "order.json": "{}",
      "payment.avsc": '{"type":"record","name":"P","fields":[{"name":"a","type":"money"}]}',
    },
  );
  assert.equal(model, undefined);
  const lines = issues.map(formatIssue);
  const find = (text: string) => lines.find((line) => line.includes(text));
  assert.match(find("missing.avsc") ?? "", /junction\.yaml:3:\d+: schemas\.invoice\.file: file not found/);
  assert.match(
    find("payment.avsc") ?? "",
    /:4:\d+: schemas\.payment\.file: payment\.avsc: Invalid AVRO schema: .*money/,
  );
  assert.match(find('subject "ordr"') ?? "", /:7:\d+: models\.order\.schema: .*did you mean "order"/);
  assert.match(find('subject "ordes"') ?? "", /:12:\d+: .*validate\.subject: .*did you mean "order"/);
  assert.match(find("not both") ?? "", /:13:\d+/);
  assert.match(find('subject "billing"') ?? "", /:14:\d+: routes\.a\.canonical: .*nor a model/);
});

test("config: a canonical route gets a validate step after its own, carrying the declared schemas", () => {
  const { model, issues } = check(
    `schemas:
  order: { file: order.json, compatibility: FULL_TRANSITIVE }
models:
  order: { schema: order@1 }
routes:
  a:
    from: { webhook: { path: /a } }
    steps: [ { map: { jsonata: "$" } } ]
    canonical: order
    to: [ { log: {} } ]
`,
    { "order.json": "{}" },
  );
  assert.deepEqual(issues, []);
  const steps = model!.routes.a.steps as { kind: string; config: any; path: string }[];
  assert.deepEqual(
    steps.map((step) => [step.kind, step.path]),
    [
      ["map", "routes.a.steps[0]"],
      ["validate", "routes.a.canonical"],
    ],
  );
  assert.equal(steps[1].config.subject, "order@1");
  assert.equal(model!.schemas.order.compatibility, "FULL_TRANSITIVE");
  assert.deepEqual(steps[1].config, { subject: "order@1" });
});
