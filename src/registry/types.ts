/** The three schema languages the registry keeps, named as Confluent's REST API names them. */
export type SchemaType = "AVRO" | "JSON" | "PROTOBUF";

export const SCHEMA_TYPES: SchemaType[] = ["JSON", "PROTOBUF", "AVRO"];

/** Confluent Schema Registry's compatibility levels, with the same meaning. */
export type Compatibility =
  | "BACKWARD"
  | "BACKWARD_TRANSITIVE"
  | "FORWARD"
  | "FORWARD_TRANSITIVE"
  | "FULL"
  | "FULL_TRANSITIVE"
  | "NONE";

export const COMPATIBILITY_LEVELS: Compatibility[] = [
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
  "NONE",
];

export const DEFAULT_COMPATIBILITY: Compatibility = "BACKWARD";

/** One version of a subject. */
export interface SchemaVersion {
  subject: string;
  version: number;
  /** Global id: the same schema text has the same id under every subject. */
  id: number;
  schemaType: SchemaType;
  schema: string;
  deleted: boolean;
}

/** The registry's rows, as the store keeps them. The rules (compatibility, numbering) live in SchemaRegistry. */
export interface RegistryStorage {
  /** The id of this exact (canonical) schema text, if any subject ever registered it. */
  schemaId(schemaType: SchemaType, schema: string): number | undefined;
  insertSchema(schemaType: SchemaType, schema: string): number;
  schemaById(id: number): { id: number; schemaType: SchemaType; schema: string } | undefined;
  /** Versions of a subject, oldest first; soft-deleted ones only when asked. */
  versions(subject: string, includeDeleted: boolean): SchemaVersion[];
  /** Highest version number ever used by the subject (deleted ones count), 0 if none. */
  maxVersion(subject: string): number;
  insertVersion(subject: string, version: number, id: number): void;
  /** Subjects with at least one version (not deleted, unless asked). */
  subjects(includeDeleted: boolean): string[];
  /** Where the schema id is used: [subject, version] pairs. */
  usages(id: number): { subject: string; version: number }[];
  softDelete(subject: string, version: number): void;
  hardDelete(subject: string, version: number): void;
  /** "" is the global default. */
  compatibility(subject: string): Compatibility | undefined;
  setCompatibility(subject: string, level: Compatibility | null): void;
  /** Run `fn` in one transaction so a check and a registration see the same versions. */
  transaction<T>(fn: () => T): T;
}
