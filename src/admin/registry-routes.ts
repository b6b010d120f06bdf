import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Engine } from "../engine/engine.js";
import {
  parseCompatibility,
  parseSchemaType,
  parseVersionSpec,
  RegistryError,
  SchemaRegistry,
} from "../registry/registry.js";
import { SCHEMA_TYPES, type SchemaVersion } from "../registry/types.js";

/** Where the Confluent-compatible API is mounted: clients take `<admin URL>/registry` as their base URL. */
export const REGISTRY_PREFIX = "/registry";

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

interface SchemaBody {
  schema?: unknown;
  schemaType?: unknown;
  references?: unknown[];
}

function input(body: SchemaBody | undefined) {
  if (!body || typeof body.schema !== "string")
    throw new RegistryError(42201, "Invalid schema: the body must be {schema: string, schemaType?: string}");
  if (Array.isArray(body.references) && body.references.length > 0)
    throw new RegistryError(42201, "Schema references are not supported by Junction's registry");
  return { schema: body.schema, schemaType: parseSchemaType(body.schemaType) };
}

/** Confluent leaves schemaType out for Avro. */
function versionBody(version: SchemaVersion) {
  return {
    subject: version.subject,
    version: version.version,
    id: version.id,
    ...(version.schemaType === "AVRO" ? {} : { schemaType: version.schemaType }),
    schema: version.schema,
  };
}

const truthy = (value: unknown) => value === "true" || value === true;

/**
 * Junction's schema registry over HTTP, compatible with the Confluent Schema Registry REST API
 * (subjects, versions, ids, compatibility, config, deletes; its error bodies and codes), so
 * existing registry clients and serializers work with the base URL `<admin>/registry`.
 */
export function registerRegistryRoutes(app: FastifyInstance, engine: Engine): void {
  // Schemas declared in the configuration were registered when the engine started.
  const registry = new SchemaRegistry(engine.store.schemaRegistry());
  app.register(
    async (scope) => {
      // Confluent's clients send their own media types; they carry JSON.
      scope.addContentTypeParser(
        [
          "application/vnd.schemaregistry.v1+json",
          "application/vnd.schemaregistry+json",
          "application/octet-stream",
        ],
        { parseAs: "string" },
        (_request, body, done) => {
          try {
            done(null, body === "" ? {} : JSON.parse(body as string));
          } catch (error) {
            (error as { statusCode?: number }).statusCode = 400;
            done(error as Error, undefined);
          }
        },
      );
      scope.addHook("onSend", async (_request, reply, payload) => {
        if (String(reply.getHeader("content-type") ?? "").startsWith("application/json"))
          reply.header("content-type", CONTENT_TYPE);
        return payload;
      });
      scope.setErrorHandler((error: any, _request, reply: FastifyReply) => {
        if (error instanceof RegistryError) {
          return reply
            .code(error.status)
            .type(CONTENT_TYPE)
            .send({ error_code: error.errorCode, message: error.message });
        }
        const status =
          typeof error.statusCode === "number" && error.statusCode < 500 ? error.statusCode : 500;
        return reply
          .code(status)
          .type(CONTENT_TYPE)
          .send({ error_code: status === 500 ? 50001 : status, message: error.message });
      });

      scope.get("/", async () => ({}));
      scope.get("/schemas/types", async () => SCHEMA_TYPES);

      scope.get<{ Querystring: { deleted?: string } }>("/subjects", async (request) =>
        registry.subjects(truthy(request.query.deleted)),
      );

      scope.get<{ Params: { subject: string }; Querystring: { deleted?: string } }>(
        "/subjects/:subject/versions",
        async (request) =>
          registry
            .versions(request.params.subject, truthy(request.query.deleted))
            .map((item) => item.version),
      );

      scope.get<{ Params: { subject: string; version: string }; Querystring: { deleted?: string } }>(
        "/subjects/:subject/versions/:version",
        async (request) =>
          versionBody(
            registry.version(
              request.params.subject,
              parseVersionSpec(request.params.version),
              truthy(request.query.deleted),
            ),
          ),
      );

      scope.get<{ Params: { subject: string; version: string } }>(
        "/subjects/:subject/versions/:version/schema",
        async (request, reply) => {
          const found = registry.version(request.params.subject, parseVersionSpec(request.params.version));
          return reply.type(CONTENT_TYPE).send(found.schema);
        },
      );

      scope.post<{ Params: { subject: string }; Body: SchemaBody; Querystring: { normalize?: string } }>(
        "/subjects/:subject/versions",
        async (request) => {
          const { id } = registry.register(request.params.subject, input(request.body));
          return { id };
        },
      );

      scope.post<{ Params: { subject: string }; Body: SchemaBody; Querystring: { deleted?: string } }>(
        "/subjects/:subject",
        async (request) =>
          versionBody(
            registry.lookup(request.params.subject, input(request.body), truthy(request.query.deleted)),
          ),
      );

      scope.delete<{ Params: { subject: string }; Querystring: { permanent?: string } }>(
        "/subjects/:subject",
        async (request) => registry.deleteSubject(request.params.subject, truthy(request.query.permanent)),
      );

      scope.delete<{ Params: { subject: string; version: string }; Querystring: { permanent?: string } }>(
        "/subjects/:subject/versions/:version",
        async (request) =>
          registry.deleteVersion(
            request.params.subject,
            parseVersionSpec(request.params.version),
            truthy(request.query.permanent),
          ),
      );

      scope.get<{ Params: { id: string } }>("/schemas/ids/:id", async (request) => {
        const found = registry.schemaById(Number(request.params.id));
        return {
          ...(found.schemaType === "AVRO" ? {} : { schemaType: found.schemaType }),
          schema: found.schema,
        };
      });

      scope.get<{ Params: { id: string } }>("/schemas/ids/:id/schema", async (request, reply) =>
        reply.type(CONTENT_TYPE).send(registry.schemaById(Number(request.params.id)).schema),
      );

      scope.get<{ Params: { id: string } }>("/schemas/ids/:id/versions", async (request) =>
        registry.usages(Number(request.params.id)),
      );

      scope.get<{ Params: { id: string } }>("/schemas/ids/:id/subjects", async (request) => [
        ...new Set(registry.usages(Number(request.params.id)).map((usage) => usage.subject)),
      ]);

      scope.post<{
        Params: { subject: string; version: string };
        Body: SchemaBody;
        Querystring: { verbose?: string };
      }>("/compatibility/subjects/:subject/versions/:version", async (request) => {
        const spec = parseVersionSpec(request.params.version);
        const schema = input(request.body);
        // Nothing registered yet: anything is compatible with nothing (the first version is always accepted).
        if (spec === "latest" && registry.storage.versions(request.params.subject, false).length === 0)
          return { is_compatible: true, ...(truthy(request.query.verbose) ? { messages: [] } : {}) };
        const report = registry.test(request.params.subject, schema, spec);
        return {
          is_compatible: report.compatible,
          ...(truthy(request.query.verbose) ? { messages: report.messages } : {}),
        };
      });

      scope.get("/config", async () => ({ compatibilityLevel: registry.compatibilityOf("") }));
      scope.put<{ Body: { compatibility?: unknown } }>("/config", async (request) => {
        const level = parseCompatibility(request.body?.compatibility);
        registry.setCompatibility("", level);
        return { compatibility: level };
      });
      scope.get<{ Params: { subject: string }; Querystring: { defaultToGlobal?: string } }>(
        "/config/:subject",
        async (request) => {
          const own = registry.subjectCompatibility(request.params.subject);
          if (own) return { compatibilityLevel: own };
          if (truthy(request.query.defaultToGlobal))
            return { compatibilityLevel: registry.compatibilityOf("") };
          throw new RegistryError(
            40408,
            `Subject '${request.params.subject}' does not have subject-level compatibility configured`,
          );
        },
      );
      scope.put<{ Params: { subject: string }; Body: { compatibility?: unknown } }>(
        "/config/:subject",
        async (request) => {
          const level = parseCompatibility(request.body?.compatibility);
          registry.setCompatibility(request.params.subject, level);
          return { compatibility: level };
        },
      );
      scope.delete<{ Params: { subject: string } }>("/config/:subject", async (request) => {
        const own = registry.subjectCompatibility(request.params.subject);
        if (!own) throw new RegistryError(40401, `Subject '${request.params.subject}' not found.`);
        registry.setCompatibility(request.params.subject, null);
        return { compatibilityLevel: own };
      });
    },
    { prefix: REGISTRY_PREFIX },
  );
}

/** `Authorization: Basic <user:token>`, as Confluent clients send credentials. */
export function registryAuthorized(header: string | string[] | undefined, token: string): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value?.startsWith("Basic ")) return false;
  const decoded = Buffer.from(value.slice(6), "base64").toString("utf8");
  const password = Buffer.from(decoded.slice(decoded.indexOf(":") + 1));
  const expected = Buffer.from(token);
  return decoded.includes(":") && password.length === expected.length && timingSafeEqual(password, expected);
}
