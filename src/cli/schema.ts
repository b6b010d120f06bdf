import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import type { Command } from "commander";
import { ExtractError, type ExtractedSchema, extractSchema } from "../registry/extract.js";
import {
  parseSubjectReference,
  RegistryError,
  SchemaRegistry,
  type VersionSpec,
} from "../registry/registry.js";
import { SqliteRegistryStorage } from "../registry/sqlite-registry.js";
import type { SchemaType } from "../registry/types.js";
import { AdminClient, CliError, runAction, withAdminOptions } from "./admin-client.js";

interface Options {
  config?: string;
  admin?: string;
  store?: string;
  json?: boolean;
  type?: "avro" | "json" | "protobuf";
  component?: string;
  message?: string;
}

interface VersionInfo {
  subject: string;
  version: number;
  id: number;
  schemaType: SchemaType;
  schema: string;
}

interface CheckResult {
  compatible: boolean;
  compatibility: string;
  /** The latest registered version compared against; undefined when the subject has none. */
  latest?: number;
  messages: string[];
}

/** The registry behind the command: a running engine's admin API, or a store file opened directly. */
interface Backend {
  list(): Promise<(VersionInfo & { compatibility: string })[]>;
  show(subject: string, version: VersionSpec): Promise<VersionInfo & { compatibility: string }>;
  register(subject: string, schema: ExtractedSchema): Promise<{ id: number; version: number }>;
  check(subject: string, schema: ExtractedSchema): Promise<CheckResult>;
  close(): void;
}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

function storeBackend(path: string, write: boolean): Backend {
  if (!existsSync(path)) throw new CliError(`no store at ${path}`, 2);
  const db = new Database(path, { readonly: !write, fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'registry_versions'")
    .get();
  if (!tables) {
    db.close();
    throw new CliError(
      `the store at ${path} has no schema registry yet: run \`junction run\` once with this version`,
      2,
    );
  }
  const registry = new SchemaRegistry(new SqliteRegistryStorage(db));
  const wrap = async <T>(fn: () => T): Promise<T> => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof RegistryError) throw new CliError(error.message, error.errorCode === 409 ? 1 : 2);
      throw error;
    }
  };
  return {
    list: () =>
      wrap(() =>
        registry.subjects().map((subject) => ({
          ...registry.version(subject, "latest"),
          compatibility: registry.compatibilityOf(subject),
        })),
      ),
    show: (subject, version) =>
      wrap(() => ({
        ...registry.version(subject, version),
        compatibility: registry.compatibilityOf(subject),
      })),
    register: (subject, schema) =>
      wrap(() => registry.register(subject, { schema: schema.schema, schemaType: schema.schemaType })),
    check: (subject, schema) =>
      wrap(() => {
        const versions = registry.storage.versions(subject, false);
        const report = registry.test(subject, { schema: schema.schema, schemaType: schema.schemaType });
        return {
          compatible: report.compatible,
          compatibility: registry.compatibilityOf(subject),
          ...(versions.length ? { latest: versions.at(-1)!.version } : {}),
          messages: report.messages,
        };
      }),
    close: () => db.close(),
  };
}

/** The registry's own error message out of an admin API failure. */
function registryMessage(error: unknown): never {
  if (error instanceof CliError) {
    const match = /\{.*\}$/s.exec(error.message);
    if (match) {
      try {
        const body = JSON.parse(match[0]);
        if (body.message) throw new CliError(body.message, body.error_code === 409 ? 1 : error.exitCode);
      } catch (inner) {
        if (inner instanceof CliError) throw inner;
      }
    }
  }
  throw error;
}

function apiBackend(client: AdminClient): Backend {
  const call = <T>(method: string, path: string, body?: unknown) =>
    client.call<T>(method, `/registry${path}`, body).catch(registryMessage);
  const s = encodeURIComponent;
  const body = (schema: ExtractedSchema) => ({
    schema: schema.schema,
    ...(schema.schemaType === "AVRO" ? {} : { schemaType: schema.schemaType }),
  });
  const compatibility = async (subject: string) =>
    (await call<{ compatibilityLevel: string }>("GET", `/config/${s(subject)}?defaultToGlobal=true`))
      .compatibilityLevel;
  const version = async (subject: string, spec: VersionSpec) => {
    const found = await call<VersionInfo & { schemaType?: SchemaType }>(
      "GET",
      `/subjects/${s(subject)}/versions/${spec}`,
    );
    return { ...found, schemaType: found.schemaType ?? "AVRO" };
  };
  return {
    list: async () => {
      const subjects = await call<string[]>("GET", "/subjects");
      return Promise.all(
        subjects.map(async (subject) => ({
          ...(await version(subject, "latest")),
          compatibility: await compatibility(subject),
        })),
      );
    },
    show: async (subject, spec) => ({
      ...(await version(subject, spec)),
      compatibility: await compatibility(subject),
    }),
    register: async (subject, schema) => {
      const { id } = await call<{ id: number }>("POST", `/subjects/${s(subject)}/versions`, body(schema));
      const found = await call<{ version: number }>("POST", `/subjects/${s(subject)}`, body(schema));
      return { id, version: found.version };
    },
    check: async (subject, schema) => {
      const level = await compatibility(subject);
      const versions = await call<number[]>("GET", `/subjects/${s(subject)}/versions`).catch((error) => {
        if (error instanceof CliError && /not found/.test(error.message)) return [] as number[];
        throw error;
      });
      const result = await call<{ is_compatible: boolean; messages?: string[] }>(
        "POST",
        `/compatibility/subjects/${s(subject)}/versions/latest?verbose=true`,
        body(schema),
      );
      return {
        compatible: result.is_compatible,
        compatibility: level,
        ...(versions.length ? { latest: versions.at(-1)! } : {}),
        messages: result.messages ?? [],
      };
    },
    close: () => {},
  };
}

async function backend(options: Options, write = false): Promise<Backend> {
  if (options.store) return storeBackend(options.store, write);
  return apiBackend(await AdminClient.fromOptions(options));
}

function extract(file: string, options: Options): ExtractedSchema {
  try {
    return extractSchema(file, {
      ...(options.component ? { component: options.component } : {}),
      ...(options.message ? { message: options.message } : {}),
      ...(options.type ? { type: options.type } : {}),
    });
  } catch (error) {
    if (error instanceof ExtractError) throw new CliError(error.message, 2);
    throw error;
  }
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** `junction schema list|show|register|check`: the schema registry from the command line and CI. */
export function registerSchemaCommands(program: Command, configOption: readonly [string, string]): void {
  const schema = program
    .command("schema")
    .description("the schema registry: list, show, register, and check compatibility (for CI pipelines)");
  const common = (command: Command) =>
    withAdminOptions(command, configOption)
      .option("--store <file>", "work on this store file directly instead of a running engine")
      .option("--json", "machine-readable output");
  const source = (command: Command) =>
    command
      .option("--type <type>", "avro, json or protobuf (default: from the file)")
      .option("--component <name>", "OpenAPI/AsyncAPI: the schema under components.schemas")
      .option("--message <name>", "AsyncAPI: the message whose payload to take");
  const run = runAction<any[]>;
  const validType = (options: Options) => {
    if (options.type && !["avro", "json", "protobuf"].includes(options.type))
      throw new CliError(`--type must be avro, json or protobuf, got "${options.type}"`, 2);
  };

  common(schema.command("list").description("subjects with their latest version")).action(
    run(async (options: Options) => {
      const registry = await backend(options);
      try {
        const items = await registry.list();
        if (options.json)
          return out(
            JSON.stringify(
              items.map(({ schema: _s, ...rest }) => rest),
              null,
              2,
            ),
          );
        if (items.length === 0) return out("no subjects");
        out(
          table([
            ["SUBJECT", "VERSION", "ID", "TYPE", "COMPATIBILITY"],
            ...items.map((item) => [
              item.subject,
              String(item.version),
              String(item.id),
              item.schemaType,
              item.compatibility,
            ]),
          ]),
        );
      } finally {
        registry.close();
      }
    }),
  );

  common(
    schema
      .command("show")
      .argument("<subject>", "subject, subject@version or subject@latest")
      .description("one version's schema"),
  ).action(
    run(async (reference: string, options: Options) => {
      const registry = await backend(options);
      try {
        const { subject, version } = parseSubjectReference(reference);
        const found = await registry.show(subject, version);
        if (options.json) return out(JSON.stringify(found, null, 2));
        out(
          `${found.subject} version ${found.version} (id ${found.id}, ${found.schemaType}, ${found.compatibility})`,
        );
        out(
          found.schemaType === "PROTOBUF" ? found.schema : JSON.stringify(JSON.parse(found.schema), null, 2),
        );
      } finally {
        registry.close();
      }
    }),
  );

  source(
    common(
      schema
        .command("register")
        .argument("<subject>")
        .argument("<file>", "schema file, or an OpenAPI/AsyncAPI document with --component/--message")
        .description("register a schema as the subject's next version (refused, exit 1, if incompatible)"),
    ),
  ).action(
    run(async (subject: string, file: string, options: Options) => {
      validType(options);
      const extracted = extract(file, options);
      const registry = await backend(options, true);
      try {
        const result = await registry.register(subject, extracted);
        if (options.json) return out(JSON.stringify({ subject, ...result }, null, 2));
        out(`${subject} version ${result.version} (id ${result.id})`);
      } finally {
        registry.close();
      }
    }),
  );

  source(
    common(
      schema
        .command("check")
        .argument("<subject>")
        .argument("<file>", "schema file, or an OpenAPI/AsyncAPI document with --component/--message")
        .description(
          "check a new schema against the registered one under the subject's compatibility; exit 0 compatible, 1 incompatible, 2 usage",
        ),
    ),
  ).action(
    run(async (subject: string, file: string, options: Options) => {
      validType(options);
      const extracted = extract(file, options);
      const registry = await backend(options);
      try {
        const result = await registry.check(subject, extracted);
        if (options.json) {
          out(
            JSON.stringify(
              { subject, source: extracted.source, schemaType: extracted.schemaType, ...result },
              null,
              2,
            ),
          );
        } else if (result.latest === undefined) {
          out(`${subject}: no registered version; ${extracted.source} would be version 1`);
        } else if (result.compatible) {
          out(
            `${subject}: ${extracted.source} is compatible (${result.compatibility}, latest version ${result.latest})`,
          );
        } else {
          out(
            `${subject}: ${extracted.source} is INCOMPATIBLE (${result.compatibility}, latest version ${result.latest})`,
          );
          for (const message of result.messages) out(`  - ${message}`);
        }
        if (!result.compatible) process.exitCode = 1;
      } finally {
        registry.close();
      }
    }),
  );
}
