import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import jsonata from "jsonata";
import { tempDir } from "../../test/helpers/engine.js";
import { registerMapSuggestCommand } from "./map-suggest.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/map-suggest/", import.meta.url));

async function run(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const out = { stdout: "", stderr: "", code: -1 };
  const program = new Command().exitOverride();
  registerMapSuggestCommand(program, {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    exit: (code) => {
      out.code = code;
    },
  });
  await program.parseAsync(["node", "junction", "map-suggest", ...args]);
  return out;
}

test("junction map-suggest prints a JSONata draft with comments and exits 0; --json gives the structure", async () => {
  const args = [
    "--from",
    `${fixtures}crm-contact.schema.json`,
    "--to",
    `${fixtures}erp-customer.schema.json`,
    "--samples",
    `${fixtures}crm-contacts.samples.json`,
  ];
  const text = await run(...args);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^\/\* Drafted by junction map-suggest from crm-contact\.schema\.json/);
  assert.match(text.stdout, /"givenName": \$splitName\(full_name\)\.given/);
  assert.doesNotThrow(() => jsonata(text.stdout));
  assert.equal(text.stderr, "");

  const json = await run(...args, "--json");
  assert.equal(json.code, 0);
  const result = JSON.parse(json.stdout);
  assert.equal(result.jsonata, text.stdout);
  assert.deepEqual(
    result.unplaced.map((field: { target: string }) => field.target),
    ["vatNumber"],
  );
  assert.ok(result.fields.every((field: { confidence: number }) => field.confidence >= 0.5));

  // A higher bar leaves more fields for the reviewer, and required ones are called out on stderr.
  const strict = await run(...args, "--threshold", "0.95");
  assert.equal(strict.code, 0);
  assert.match(strict.stderr, /required target fields not placed: .*givenName/);
});

test("NDJSON samples work; unreadable input exits 2 naming the file and line", async () => {
  const dir = tempDir();
  writeFileSync(`${dir}/samples.ndjson`, '{"full_name": "Ada Lovelace"}\n\n{"full_name": "Grace Hopper"}\n');
  writeFileSync(`${dir}/broken.ndjson`, '{"full_name": "Ada Lovelace"}\n{oops\n');
  const base = [
    "--from",
    `${fixtures}crm-contact.schema.json`,
    "--to",
    `${fixtures}erp-customer.schema.json`,
  ];
  const ok = await run(...base, "--samples", `${dir}/samples.ndjson`);
  assert.equal(ok.code, 0);
  const broken = await run(...base, "--samples", `${dir}/broken.ndjson`);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /--samples .*broken\.ndjson:2: not JSON/);
  const missing = await run("--from", `${dir}/nope.json`, "--to", `${fixtures}erp-customer.schema.json`);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--from .*nope\.json: ENOENT/);
  const targetSamples = await run(...base, "--target-samples", `${dir}/nope.ndjson`);
  assert.equal(targetSamples.code, 2);
  assert.match(targetSamples.stderr, /--target-samples .*nope\.ndjson: ENOENT/);
  const threshold = await run(...base, "--threshold", "2");
  assert.equal(threshold.code, 2);
  assert.match(threshold.stderr, /--threshold must be a number/);
});
