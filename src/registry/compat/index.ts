import type { Compatibility, SchemaType } from "../types.js";
import { avroReaderIssues, parseAvro } from "./avro.js";
import type { Incompatibility } from "./issue.js";
import { jsonSchemaReaderIssues, parseJsonSchema } from "./json-schema.js";
import { parseProtobuf, protobufChangeIssues } from "./protobuf.js";

export type { Incompatibility } from "./issue.js";
export { describeIncompatibility } from "./issue.js";

/** Parse a schema of the given type; throws with the parser's message when it is not valid. */
export function parseSchema(schemaType: SchemaType, text: string): unknown {
  switch (schemaType) {
    case "AVRO":
      return parseAvro(text);
    case "JSON":
      return parseJsonSchema(text);
    case "PROTOBUF":
      return parseProtobuf(text);
  }
}

/**
 * Why data written with `older` cannot be read with `newer` (backward), i.e. the new schema is the
 * reader; forward swaps the roles. For Protobuf, Confluent's change rules from original to update.
 */
function backwardIssues(schemaType: SchemaType, newer: unknown, older: unknown): Incompatibility[] {
  switch (schemaType) {
    case "AVRO":
      return avroReaderIssues(newer, older);
    case "JSON":
      return jsonSchemaReaderIssues(newer as any, older as any);
    case "PROTOBUF":
      return protobufChangeIssues(older as any, newer as any);
  }
}

export interface CompatibilityReport {
  compatible: boolean;
  /** Reasons, each prefixed with the version and direction it fails against. */
  messages: string[];
  issues: (Incompatibility & { version?: number; direction: "backward" | "forward" })[];
}

/**
 * Check a candidate against a subject's existing versions (oldest first) under a Confluent level:
 * BACKWARD: the new schema reads data written with the latest; FORWARD: the latest reads data
 * written with the new one; FULL: both; *_TRANSITIVE: against every version, not just the latest.
 */
export function checkCompatibility(
  schemaType: SchemaType,
  level: Compatibility,
  candidate: string,
  existing: { version?: number; schemaType: SchemaType; schema: string }[],
): CompatibilityReport {
  const report: CompatibilityReport = { compatible: true, messages: [], issues: [] };
  if (level === "NONE" || existing.length === 0) return report;
  const targets = level.endsWith("_TRANSITIVE") ? existing : existing.slice(-1);
  const newer = parseSchema(schemaType, candidate);
  const directions: ("backward" | "forward")[] = level.startsWith("BACKWARD")
    ? ["backward"]
    : level.startsWith("FORWARD")
      ? ["forward"]
      : ["backward", "forward"];
  for (const target of [...targets].reverse()) {
    const label = target.version !== undefined ? `version ${target.version}` : "the registered schema";
    if (target.schemaType !== schemaType) {
      report.issues.push({
        path: "/",
        rule: "SCHEMA_TYPE_CHANGED",
        message: `${label} is ${target.schemaType}, the new schema ${schemaType}`,
        direction: "backward",
        ...(target.version !== undefined ? { version: target.version } : {}),
      });
      continue;
    }
    const older = parseSchema(schemaType, target.schema);
    for (const direction of directions) {
      const found =
        direction === "backward"
          ? backwardIssues(schemaType, newer, older)
          : backwardIssues(schemaType, older, newer);
      for (const issue of found) {
        report.issues.push({
          ...issue,
          direction,
          ...(target.version !== undefined ? { version: target.version } : {}),
        });
      }
    }
  }
  report.messages = report.issues.map(
    (issue) =>
      `${issue.rule} at ${issue.path}: ${issue.message} (${issue.direction} against ${issue.version !== undefined ? `version ${issue.version}` : "the registered schema"})`,
  );
  report.compatible = report.issues.length === 0;
  return report;
}
