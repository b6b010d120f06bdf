import type Database from "better-sqlite3";
import type { Compatibility, RegistryStorage, SchemaType, SchemaVersion } from "./types.js";

type Row = Record<string, any>;

/** The registry's SQL over the embedded store's database (tables from migration 6). */
export class SqliteRegistryStorage implements RegistryStorage {
  readonly #db: Database.Database;
  readonly #statements;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#statements = {
      schemaId: db.prepare("SELECT id FROM registry_schemas WHERE schema_type = ? AND schema = ?"),
      insertSchema: db.prepare(
        "INSERT INTO registry_schemas (schema_type, schema) VALUES (?, ?) RETURNING id",
      ),
      schemaById: db.prepare("SELECT id, schema_type, schema FROM registry_schemas WHERE id = ?"),
      versions: db.prepare(
        `SELECT v.subject, v.version, v.schema_id, v.deleted, s.schema_type, s.schema
         FROM registry_versions v JOIN registry_schemas s ON s.id = v.schema_id
         WHERE v.subject = ? AND (? OR v.deleted = 0) ORDER BY v.version`,
      ),
      maxVersion: db.prepare("SELECT max(version) AS v FROM registry_versions WHERE subject = ?"),
      insertVersion: db.prepare(
        "INSERT INTO registry_versions (subject, version, schema_id, created_at) VALUES (?, ?, ?, ?)",
      ),
      subjects: db.prepare(
        "SELECT DISTINCT subject FROM registry_versions WHERE (? OR deleted = 0) ORDER BY subject",
      ),
      usages: db.prepare(
        "SELECT subject, version FROM registry_versions WHERE schema_id = ? AND deleted = 0 ORDER BY subject, version",
      ),
      softDelete: db.prepare("UPDATE registry_versions SET deleted = 1 WHERE subject = ? AND version = ?"),
      hardDelete: db.prepare("DELETE FROM registry_versions WHERE subject = ? AND version = ?"),
      compatibility: db.prepare("SELECT compatibility FROM registry_config WHERE subject = ?"),
      setCompatibility: db.prepare(
        "INSERT INTO registry_config (subject, compatibility) VALUES (?, ?) ON CONFLICT (subject) DO UPDATE SET compatibility = excluded.compatibility",
      ),
      clearCompatibility: db.prepare("DELETE FROM registry_config WHERE subject = ?"),
    };
  }

  schemaId(schemaType: SchemaType, schema: string): number | undefined {
    return (this.#statements.schemaId.get(schemaType, schema) as Row | undefined)?.id;
  }

  insertSchema(schemaType: SchemaType, schema: string): number {
    return (this.#statements.insertSchema.get(schemaType, schema) as Row).id;
  }

  schemaById(id: number) {
    const row = this.#statements.schemaById.get(id) as Row | undefined;
    return row
      ? { id: row.id, schemaType: row.schema_type as SchemaType, schema: row.schema as string }
      : undefined;
  }

  versions(subject: string, includeDeleted: boolean): SchemaVersion[] {
    return (this.#statements.versions.all(subject, includeDeleted ? 1 : 0) as Row[]).map((row) => ({
      subject: row.subject,
      version: row.version,
      id: row.schema_id,
      schemaType: row.schema_type,
      schema: row.schema,
      deleted: row.deleted === 1,
    }));
  }

  maxVersion(subject: string): number {
    return (this.#statements.maxVersion.get(subject) as Row).v ?? 0;
  }

  insertVersion(subject: string, version: number, id: number): void {
    this.#statements.insertVersion.run(subject, version, id, Date.now());
  }

  subjects(includeDeleted: boolean): string[] {
    return (this.#statements.subjects.all(includeDeleted ? 1 : 0) as Row[]).map((row) => row.subject);
  }

  usages(id: number) {
    return (this.#statements.usages.all(id) as Row[]).map((row) => ({
      subject: row.subject as string,
      version: row.version as number,
    }));
  }

  softDelete(subject: string, version: number): void {
    this.#statements.softDelete.run(subject, version);
  }

  hardDelete(subject: string, version: number): void {
    this.#statements.hardDelete.run(subject, version);
  }

  compatibility(subject: string): Compatibility | undefined {
    return (this.#statements.compatibility.get(subject) as Row | undefined)?.compatibility;
  }

  setCompatibility(subject: string, level: Compatibility | null): void {
    if (level === null) this.#statements.clearCompatibility.run(subject);
    else this.#statements.setCompatibility.run(subject, level);
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}
