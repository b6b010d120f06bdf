import { JunctionError } from "../api/errors.js";
import { type CompatibilityReport, checkCompatibility, parseSchema } from "./compat/index.js";
import {
  COMPATIBILITY_LEVELS,
  type Compatibility,
  DEFAULT_COMPATIBILITY,
  type RegistryStorage,
  SCHEMA_TYPES,
  type SchemaType,
  type SchemaVersion,
} from "./types.js";

/**
 * A registry failure with Confluent's error code (40401 subject not found, 409 incompatible,
 * 42201 invalid schema...) and the HTTP status the REST API answers with.
 */
export class RegistryError extends JunctionError {
  constructor(
    readonly errorCode: number,
    message: string,
    options: { details?: Record<string, unknown> } = {},
  ) {
    super(`JUNCTION_REGISTRY_${errorCode}`, message, { retryable: false, ...options });
  }

  get status(): number {
    return Math.floor(this.errorCode >= 1000 ? this.errorCode / 100 : this.errorCode);
  }
}

export const subjectNotFound = (subject: string) =>
  new RegistryError(40401, `Subject '${subject}' not found.`);

export type VersionSpec = number | "latest";

/** "latest", -1, or 1..2^31-1, as Confluent accepts them. */
export function parseVersionSpec(value: string | number): VersionSpec {
  const text = String(value);
  if (text === "latest" || text === "-1") return "latest";
  if (/^[0-9]+$/.test(text)) {
    const version = Number(text);
    if (version >= 1 && version <= 2 ** 31 - 1) return version;
  }
  throw new RegistryError(
    42202,
    `The specified version '${text}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
  );
}

export function parseSchemaType(value: unknown): SchemaType {
  if (value === undefined || value === null || value === "") return "AVRO";
  const upper = String(value).toUpperCase();
  if (!SCHEMA_TYPES.includes(upper as SchemaType))
    throw new RegistryError(
      42201,
      `Invalid schema type ${String(value)}; expected one of ${SCHEMA_TYPES.join(", ")}`,
    );
  return upper as SchemaType;
}

export function parseCompatibility(value: unknown): Compatibility {
  const upper = String(value ?? "").toUpperCase();
  if (!COMPATIBILITY_LEVELS.includes(upper as Compatibility))
    throw new RegistryError(
      42203,
      `Invalid compatibility level ${String(value)}; expected one of ${COMPATIBILITY_LEVELS.join(", ")}`,
    );
  return upper as Compatibility;
}

/** The stored form: JSON schemas compacted (so formatting alone never makes a new version), .proto text trimmed. */
export function canonicalSchema(schemaType: SchemaType, text: string): string {
  try {
    parseSchema(schemaType, text);
  } catch (error) {
    throw new RegistryError(42201, `Invalid ${schemaType} schema: ${(error as Error).message}`);
  }
  if (schemaType === "PROTOBUF") return text.replace(/\r\n/g, "\n").trim();
  return JSON.stringify(JSON.parse(text));
}

export interface SchemaInput {
  schema: string;
  schemaType?: SchemaType;
}

/**
 * Junction's schema registry: subjects with versions and global ids, and Confluent's compatibility
 * rules on every registration. The rows live in the store (RegistryStorage); this class owns the rules.
 */
export class SchemaRegistry {
  constructor(readonly storage: RegistryStorage) {}

  subjects(includeDeleted = false): string[] {
    return this.storage.subjects(includeDeleted);
  }

  /** Versions of a subject; throws 40401 when it has none. */
  versions(subject: string, includeDeleted = false): SchemaVersion[] {
    const versions = this.storage.versions(subject, includeDeleted);
    if (versions.length === 0) throw subjectNotFound(subject);
    return versions;
  }

  version(subject: string, spec: VersionSpec, includeDeleted = false): SchemaVersion {
    const versions = this.versions(subject, spec !== "latest");
    const found = spec === "latest" ? versions.at(-1) : versions.find((item) => item.version === spec);
    if (!found || (found.deleted && !includeDeleted))
      throw new RegistryError(40402, `Version ${spec} not found.`);
    return found;
  }

  schemaById(id: number): { id: number; schemaType: SchemaType; schema: string } {
    const found = this.storage.schemaById(id);
    if (!found) throw new RegistryError(40403, `Schema ${id} not found`);
    return found;
  }

  usages(id: number): { subject: string; version: number }[] {
    this.schemaById(id);
    return this.storage.usages(id);
  }

  /** The level in force for a subject: its own, else the global one, else BACKWARD. */
  compatibilityOf(subject: string): Compatibility {
    return this.storage.compatibility(subject) ?? this.storage.compatibility("") ?? DEFAULT_COMPATIBILITY;
  }

  /** A subject's own level (undefined when it follows the global one); "" is the global level. */
  subjectCompatibility(subject: string): Compatibility | undefined {
    return subject === "" ? this.compatibilityOf("") : this.storage.compatibility(subject);
  }

  setCompatibility(subject: string, level: Compatibility | null): void {
    this.storage.setCompatibility(subject, level);
  }

  /** The registered version holding this schema, if any. */
  lookup(subject: string, input: SchemaInput, includeDeleted = false): SchemaVersion {
    const schemaType = input.schemaType ?? "AVRO";
    const versions = this.versions(subject, includeDeleted);
    const canonical = canonicalSchema(schemaType, input.schema);
    const found = versions.find((item) => item.schemaType === schemaType && item.schema === canonical);
    if (!found) throw new RegistryError(40403, "Schema not found");
    return found;
  }

  /** Would this schema be accepted as a new version? Against `spec` only, or (latest) as registration checks it. */
  test(subject: string, input: SchemaInput, spec: VersionSpec = "latest"): CompatibilityReport {
    const schemaType = input.schemaType ?? "AVRO";
    const canonical = canonicalSchema(schemaType, input.schema);
    const level = this.compatibilityOf(subject);
    const existing = this.storage.versions(subject, false);
    if (spec !== "latest") {
      const target = this.version(subject, spec);
      return checkCompatibility(schemaType, level.replace("_TRANSITIVE", "") as Compatibility, canonical, [
        target,
      ]);
    }
    return checkCompatibility(schemaType, level, canonical, existing);
  }

  /**
   * Register a schema under a subject. The same schema again is a no-op answering its existing id and
   * version (as Confluent does); an incompatible one is refused (409) with the reasons.
   */
  register(subject: string, input: SchemaInput): { id: number; version: number; created: boolean } {
    const schemaType = input.schemaType ?? "AVRO";
    const canonical = canonicalSchema(schemaType, input.schema);
    return this.storage.transaction(() => {
      const existing = this.storage.versions(subject, false);
      const same = existing.find((item) => item.schemaType === schemaType && item.schema === canonical);
      if (same) return { id: same.id, version: same.version, created: false };
      const level = this.compatibilityOf(subject);
      const report = checkCompatibility(schemaType, level, canonical, existing);
      if (!report.compatible) {
        throw new RegistryError(
          409,
          `Schema being registered is incompatible with an earlier schema for subject "${subject}" (${level}): ${report.messages.join("; ")}`,
          { details: { subject, compatibility: level, messages: report.messages } },
        );
      }
      const id =
        this.storage.schemaId(schemaType, canonical) ?? this.storage.insertSchema(schemaType, canonical);
      const version = this.storage.maxVersion(subject) + 1;
      this.storage.insertVersion(subject, version, id);
      return { id, version, created: true };
    });
  }

  /** Soft delete every version (or, permanent, remove versions already soft-deleted). */
  deleteSubject(subject: string, permanent: boolean): number[] {
    return this.storage.transaction(() => {
      const all = this.storage.versions(subject, true);
      if (all.length === 0) throw subjectNotFound(subject);
      if (permanent) {
        if (all.some((item) => !item.deleted))
          throw new RegistryError(
            40405,
            `Subject '${subject}' was not deleted first before being permanently deleted`,
          );
        for (const item of all) this.storage.hardDelete(subject, item.version);
        this.storage.setCompatibility(subject, null);
        return all.map((item) => item.version);
      }
      const live = all.filter((item) => !item.deleted);
      if (live.length === 0) throw new RegistryError(40404, `Subject '${subject}' was soft deleted.`);
      for (const item of live) this.storage.softDelete(subject, item.version);
      return live.map((item) => item.version);
    });
  }

  deleteVersion(subject: string, spec: VersionSpec, permanent: boolean): number {
    return this.storage.transaction(() => {
      const all = this.storage.versions(subject, true);
      if (all.length === 0) throw subjectNotFound(subject);
      const target =
        spec === "latest"
          ? all.filter((item) => !item.deleted).at(-1)
          : all.find((item) => item.version === spec);
      if (!target) throw new RegistryError(40402, `Version ${spec} not found.`);
      if (permanent) {
        if (!target.deleted)
          throw new RegistryError(
            40407,
            `Subject '${subject}' Version ${target.version} was not deleted first before being permanently deleted`,
          );
        this.storage.hardDelete(subject, target.version);
      } else {
        if (target.deleted)
          throw new RegistryError(40406, `Subject '${subject}' Version ${target.version} was soft deleted.`);
        this.storage.softDelete(subject, target.version);
      }
      return target.version;
    });
  }
}

/** A reference to a registered schema: `order`, `order@latest` or `order@2`. */
export function parseSubjectReference(reference: string): { subject: string; version: VersionSpec } {
  const at = reference.lastIndexOf("@");
  if (at < 0) return { subject: reference, version: "latest" };
  const subject = reference.slice(0, at);
  const version = reference.slice(at + 1);
  if (!subject) throw new RegistryError(42202, `"${reference}" names no subject`);
  return { subject, version: parseVersionSpec(version) };
}
