/** Writes the generated JSON Schema and configuration reference. `npm run generate`. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { builtinRegistry } from "../src/builtins.js";
import { generatedFiles } from "../src/config/generated.js";

const root = fileURLToPath(new URL("../", import.meta.url));
for (const [path, content] of generatedFiles(builtinRegistry())) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
  console.log(`wrote ${path}`);
}
