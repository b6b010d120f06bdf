import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { Type } from "typebox";
import { ConfigError, ValidationError } from "../api/errors.js";
import { defineStep } from "../api/step.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const compiledByFile = new Map<string, ReturnType<typeof ajv.compile>>();

function compile(file: string) {
  let validate = compiledByFile.get(file);
  if (!validate) {
    let schema: any;
    try {
      schema = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new ConfigError(`cannot read JSON Schema ${file}: ${(error as Error).message}`, { cause: error });
    }
    // Schemas are keyed by file, not $id, so two files with the same $id do not collide.
    const { $id: _id, ...rest } = schema;
    validate = ajv.compile(rest);
    compiledByFile.set(file, validate);
  }
  return validate;
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

export const validateStep = defineStep({
  name: "validate",
  summary: "Validate the data against a JSON Schema (draft 2020-12); invalid messages become dead letters.",
  description:
    "The error names each failing field and why (`items[0].quantity must be >= 1`). A message that fails validation is not retried: it goes to the dead-letter store with the reasons.",
  examples: [{ title: "Check an order", yaml: "validate: { schema: schemas/order.json }" }],
  schema: Type.Object(
    {
      schema: Type.String({
        description: "Path of a JSON Schema file, relative to the configuration file.",
        examples: ["schemas/order.json"],
      }),
    },
    { additionalProperties: false },
  ),
  files: (config) => (typeof config.schema === "string" ? [{ path: ["schema"], file: config.schema }] : []),
  create(config: { schema: string }, context) {
    const file = resolve(context.configDir, config.schema);
    const validate = compile(file);
    return async (item) => {
      if (validate(item.message.data)) {
        return [{ ...item, message: { ...item.message, dataschema: config.schema } }];
      }
      const reasons = describeSchemaErrors(validate.errors ?? []);
      throw new ValidationError(`data does not match ${config.schema}: ${reasons.join("; ")}`, {
        code: "JUNCTION_SCHEMA_VIOLATION",
        details: { schema: config.schema, reasons },
      });
    };
  },
});
