import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { builtinRegistry } from "../src/builtins.js";
import { generatedFiles } from "../src/config/generated.js";
import { REPO } from "./helpers/process.js";

test("the committed JSON Schema and configuration reference are up to date (npm run generate)", () => {
  const stale: string[] = [];
  for (const [path, content] of generatedFiles(builtinRegistry())) {
    const file = join(REPO, path);
    if (!existsSync(file) || readFileSync(file, "utf8") !== content) stale.push(path);
  }
  assert.deepEqual(
    stale,
    [],
    `stale generated files; run \`npm run generate\` and commit: ${stale.join(", ")}`,
  );
});

test("the editor JSON Schema accepts the DESIGN.md example and rejects a misspelt component", () => {
  const schema = JSON.parse(readFileSync(join(REPO, "schema/junction.schema.json"), "utf8"));
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);
  const design = parse(readFileSync(join(REPO, "examples/design/junction.yaml"), "utf8"));
  assert.equal(validate(design), true, JSON.stringify(validate.errors?.slice(0, 3)));
  design.routes["shop-orders-in"].from = { webhok: { path: "/x" } };
  assert.equal(validate(design), false);
});

test("every component documents itself: a summary, an example, and a description on each field", () => {
  const registry = builtinRegistry();
  const undocumented: string[] = [];
  const walk = (owner: string, schema: any) => {
    for (const [name, field] of Object.entries<any>(schema?.properties ?? {})) {
      if (!field.description && !field.anyOf && !field.const) undocumented.push(`${owner}.${name}`);
    }
  };
  for (const connector of registry.connectors.values()) {
    assert.ok(connector.summary, `${connector.name} has a summary`);
    assert.ok(connector.examples?.length, `${connector.name} has an example`);
    for (const slot of ["connection", "source", "sink", "request"] as const) {
      if (connector[slot]) walk(`${connector.name}.${slot}`, connector[slot]!.schema);
    }
  }
  for (const step of registry.steps.values()) {
    assert.ok(step.summary && step.examples?.length, `${step.name} has a summary and an example`);
    walk(`step ${step.name}`, step.schema);
  }
  assert.deepEqual(undocumented, []);
});
