import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import avsc from "avsc";
import protobuf from "protobufjs";
import { Type } from "typebox";
import { ConfigError, ValidationError } from "../api/errors.js";
import { defineStep, type RoutedMessage, type StepContext, type StepFunction } from "../api/step.js";
import { parseSubjectReference, RegistryError, SchemaRegistry } from "../registry/registry.js";
import type { SchemaVersion } from "../registry/types.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const compiledByKey = new Map<string, ReturnType<typeof ajv.compile>>();

function compileJsonSchema(key: string, schema: any) {
  let validate = compiledByKey.get(key);
  if (!validate) {
    // Schemas are keyed by file or registered text (ids differ between stores), not $id, so two with the same $id do not collide.
    const { $id: _id, ...rest } = typeof schema === "object" && schema !== null ? schema : { not: {} };
    validate = ajv.compile(typeof schema === "boolean" ? (schema ? {} : { not: {} }) : rest);
    compiledByKey.set(key, validate);
  }
  return validate;
}

function compile(file: string) {
  if (compiledByKey.has(file)) return compiledByKey.get(file)!;
  let schema: any;
  try {
    schema = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError(`cannot read JSON Schema ${file}: ${(error as Error).message}`, { cause: error });
  }
  return compileJsonSchema(file, schema);
}

/** "items[0].quantity must be >= 1": the field and the reason, for the dead letter and the caller. */
export function describeSchemaErrors(errors: ErrorObject[]): string[] {
  return errors.map((error) => {
    const field = error.instancePath
      .slice(1)
      .split("/")
      .filter(Boolean)
      .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
      .join("")
      .replace(/^\./, "");
    if (error.keyword === "required") {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      return `${field ? `${field}.` : ""}${missing} is required`;
    }
    if (error.keyword === "additionalProperties") {
      return `${field || "(root)"} has unexpected property "${(error.params as { additionalProperty: string }).additionalProperty}"`;
    }
    return `${field || "(root)"} ${error.message}`;
  });
}

function fieldPath(parts: (string | number)[]): string {
  return (
    parts
      .map((part) => (typeof part === "number" || /^\d+$/.test(String(part)) ? `[${part}]` : `.${part}`))
      .join("")
      .replace(/^\./, "") || "(root)"
  );
}

/** The check for one registered schema version: the failing fields, or none. */
function checkerFor(version: SchemaVersion): (data: unknown) => string[] {
  switch (version.schemaType) {
    case "JSON": {
      const validate = compileJsonSchema(`registry:${version.schema}`, JSON.parse(version.schema));
      return (data) => (validate(data) ? [] : describeSchemaErrors(validate.errors ?? []));
    }
    case "AVRO": {
      const type = avsc.Type.forSchema(JSON.parse(version.schema), { wrapUnions: false });
      return (data) => {
        const reasons: string[] = [];
        type.isValid(data, {
          errorHook: (path: string[], value: unknown, expected: any) => {
            const wanted = expected?.name ?? expected?.typeName ?? "the schema's type";
            reasons.push(
              value === undefined
                ? `${fieldPath(path)} is required (${wanted})`
                : `${fieldPath(path)} must be ${wanted}, got ${JSON.stringify(value)?.slice(0, 60)}`,
            );
          },
        });
        return reasons;
      };
    }
    case "PROTOBUF": {
      // As Confluent's serializers do by default, the first message of the file is the record type.
      const root = protobuf.parse(version.schema, { keepCase: true }).root;
      const first = root.nestedArray
        .flatMap((nested) =>
          nested instanceof protobuf.Namespace ? [nested, ...nested.nestedArray] : [nested],
        )
        .find((nested) => nested instanceof protobuf.Type) as protobuf.Type | undefined;
      if (!first) throw new ConfigError(`schema ${version.subject}@${version.version} declares no message`);
      return (data) => {
        const problem = first.verify(data as Record<string, unknown>);
        return problem ? [problem] : [];
      };
    }
  }
}

function subjectValidator(config: { subject: string }, context: StepContext): StepFunction {
  const storage = context.store.schemaRegistry();
  // Declared schema files were registered by the engine before any step was built.
  const registry = new SchemaRegistry(storage);
  let version: SchemaVersion;
  try {
    const reference = parseSubjectReference(config.subject);
    version = registry.version(reference.subject, reference.version);
  } catch (error) {
    if (error instanceof RegistryError)
      throw new ConfigError(`validate subject "${config.subject}": ${error.message}`, { cause: error });
    throw error;
  }
  const check = checkerFor(version);
  const name = `${version.subject}@${version.version}`;
  // A URI reference naming subject and version, relative to the registry's base URL.
  const dataschema = `/subjects/${encodeURIComponent(version.subject)}/versions/${version.version}`;
  return async (item: RoutedMessage) => {
    const reasons = check(item.message.data);
    if (reasons.length === 0) return [{ ...item, message: { ...item.message, dataschema } }];
    throw new ValidationError(`data does not match ${name}: ${reasons.join("; ")}`, {
      code: "JUNCTION_SCHEMA_VIOLATION",
      details: { subject: version.subject, version: version.version, schemaId: version.id, reasons },
    });
  };
}

export const validateStep = defineStep({
  name: "validate",
  summary:
    "Validate the data against a JSON Schema file or a registered schema (JSON Schema, Avro, Protobuf); invalid messages become dead letters.",
  description:
    "The error names each failing field and why (`items[0].quantity must be >= 1`). A message that fails validation is not retried: it goes to the dead-letter store with the reasons. With `subject`, the schema comes from Junction's schema registry (`order`, `order@latest` or `order@2`, resolved at start) and a passing message carries `dataschema: /subjects/order/versions/2`.",
  examples: [
    { title: "Check an order", yaml: "validate: { schema: schemas/order.json }" },
    { title: "Check against a registered schema version", yaml: "validate: { subject: order@2 }" },
  ],
  schema: Type.Object(
    {
      schema: Type.Optional(
        Type.String({
          description: "Path of a JSON Schema file, relative to the configuration file.",
          examples: ["schemas/order.json"],
        }),
      ),
      subject: Type.Optional(
        Type.String({
          pattern: "^[^@\\s]+(@(latest|[1-9][0-9]*))?$",
          description:
            "A subject of the schema registry, declared under `schemas:`: `order` (latest at start), `order@latest` or `order@2`.",
          examples: ["order@2"],
        }),
      ),
    },
    { additionalProperties: false },
  ),
  files: (config) => (typeof config.schema === "string" ? [{ path: ["schema"], file: config.schema }] : []),
  create(config: { schema?: string; subject?: string }, context) {
    if ((config.schema === undefined) === (config.subject === undefined))
      throw new ConfigError(
        "validate: give either schema (a JSON Schema file) or subject (a registered schema)",
      );
    if (config.subject !== undefined) return subjectValidator(config as { subject: string }, context);
    const schemaPath = config.schema as string;
    const file = resolve(context.configDir, schemaPath);
    const validate = compile(file);
    return async (item) => {
      if (validate(item.message.data)) {
        return [{ ...item, message: { ...item.message, dataschema: schemaPath } }];
      }
      const reasons = describeSchemaErrors(validate.errors ?? []);
      throw new ValidationError(`data does not match ${schemaPath}: ${reasons.join("; ")}`, {
        code: "JUNCTION_SCHEMA_VIOLATION",
        details: { schema: schemaPath, reasons },
      });
    };
  },
});
