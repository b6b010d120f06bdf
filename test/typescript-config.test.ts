import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { REPO } from "./helpers/process.js";

/**
 * The built CLI (plain node, no tsx loader of its own) loads a user's junction.ts. The tests
 * elsewhere run the CLI through tsx, whose loader hid a failure here: a .ts file outside a
 * `"type": "module"` package compiles to CommonJS, and loading it failed ("Cannot require() ES
 * Module ... in a cycle"); tsx's tsImport then loaded it but also a second copy of the engine's
 * packages (undici refused to construct: "Illegal constructor"). The loader now registers tsx's
 * ESM and CommonJS hooks, so a CommonJS config's require() finds the modules the CLI loaded.
 */
let build: string;

before(() => {
  // Inside the repository, so the built files resolve the packages in node_modules.
  build = mkdtempSync(join(REPO, ".test-build-"));
  const tsc = spawnSync(
    process.execPath,
    [join(REPO, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", build],
    { cwd: REPO, encoding: "utf8" },
  );
  assert.equal(tsc.status, 0, `${tsc.stdout}${tsc.stderr}`);
});

after(() => rmSync(build, { recursive: true, force: true }));

function validate(file: string) {
  return spawnSync(process.execPath, [join(build, "cli/main.js"), "validate", "-c", file], {
    cwd: REPO,
    encoding: "utf8",
  });
}

test("the built CLI loads a junction.ts in a directory without package.json, importing the engine and a TypeScript module", () => {
  const dir = mkdtempSync(join(tmpdir(), "junction-ts-config-"));
  try {
    writeFileSync(
      join(dir, "steps.ts"),
      "export const shout = (data: { name: string }) => ({ name: data.name.toUpperCase() });\n",
    );
    writeFileSync(
      join(dir, "junction.ts"),
      [
        // The built engine, as `from "junction"` in a user's project: it must be the instance the
        // CLI runs, not a second copy of it and its packages.
        `import { defineIntegration, route } from ${JSON.stringify(join(build, "index.js"))};`,
        'import { shout } from "./steps.ts";',
        "export default defineIntegration({",
        '  routes: { greet: route().from({ webhook: { path: "/greet" } }).map(shout).to({ log: {} }) },',
        "});",
        "",
      ].join("\n"),
    );
    const result = validate(join(dir, "junction.ts"));
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /ok \(1 route\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the built CLI loads the repository's TypeScript example (an ES module)", () => {
  const result = validate(join(REPO, "examples/typescript/integration.ts"));
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /ok \(2 routes\)/);
});
