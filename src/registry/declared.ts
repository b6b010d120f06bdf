import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { ConfigError } from "../api/errors.js";
import { RegistryError, type SchemaRegistry } from "./registry.js";
import type { Compatibility, RegistryStorage, SchemaType } from "./types.js";

/** A subject declared under `schemas:` in the configuration. */
export interface SchemaDeclaration {
  /** A schema file, relative to the configuration; without one the subject is managed through the API. */
  file?: string;
  type?: "avro" | "json" | "protobuf";
  compatibility?: Compatibility;
}

export interface DeclaredSchemas {
  configDir: string;
  schemas: Record<string, SchemaDeclaration>;
}

export function schemaTypeOf(declaration: SchemaDeclaration): SchemaType {
  if (declaration.type) return declaration.type.toUpperCase() as SchemaType;
  const extension = extname(declaration.file ?? "").toLowerCase();
  if (extension === ".avsc") return "AVRO";
  if (extension === ".proto") return "PROTOBUF";
  return "JSON";
}

const loaded = new WeakMap<RegistryStorage, Set<string>>();

/**
 * Register the configuration's schema files (once per store and declaration): set each subject's
 * compatibility, then register its file. The same file again is a no-op; an incompatible change
 * stops the start with the reasons, as `junction run` should not run with a schema it refused.
 */
export function registerDeclaredSchemas(
  registry: SchemaRegistry,
  declared: DeclaredSchemas | undefined,
): void {
  if (!declared) return;
  const done = loaded.get(registry.storage) ?? new Set<string>();
  loaded.set(registry.storage, done);
  for (const [subject, declaration] of Object.entries(declared.schemas)) {
    const key = `${subject}\u0000${JSON.stringify(declaration)}\u0000${declared.configDir}`;
    if (done.has(key)) continue;
    if (declaration.compatibility) registry.setCompatibility(subject, declaration.compatibility);
    if (declaration.file) {
      const file = resolve(declared.configDir, declaration.file);
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (error) {
        throw new ConfigError(`schemas.${subject}.file: cannot read ${file}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      try {
        registry.register(subject, { schema: text, schemaType: schemaTypeOf(declaration) });
      } catch (error) {
        if (error instanceof RegistryError)
          throw new ConfigError(`schemas.${subject}.file (${declaration.file}): ${error.message}`, {
            cause: error,
          });
        throw error;
      }
    }
    done.add(key);
  }
}
