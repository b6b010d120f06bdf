import { type Static, Type } from "typebox";
import { Duration, Secret, Template } from "../../config/schema-types.js";
import { formatOptionSchema } from "../../formats/index.js";

export const HttpConnectionSchema = Type.Object(
  {
    baseUrl: Type.String({
      pattern: "^https?://",
      description: "Origin and base path.",
      examples: ["http://127.0.0.1:9000/api"],
    }),
    headers: Type.Optional(
      Type.Record(Type.String(), Secret({ description: "Header value; treated as a secret (API keys)." }), {
        description: "Headers sent with every request.",
      }),
    ),
    bearerToken: Type.Optional(Secret({ description: "Sent as `Authorization: Bearer <token>`." })),
    timeout: Type.Optional(Duration({ description: "Default timeout of one request.", default: "30s" })),
    connections: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1024,
        default: 32,
        description: "Largest number of open sockets.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type HttpConnectionConfig = Static<typeof HttpConnectionSchema>;

const requestProperties = {
  connection: Type.Optional(
    Type.String({ description: "A connection declared under `connections:` with `http`." }),
  ),
  url: Type.Optional(
    Template({
      description: "Full URL, when no connection is used.",
      examples: ["http://127.0.0.1:9000/hooks/{{ $message.subject }}"],
    }),
  ),
  method: Type.Optional(
    Type.Union(
      [
        Type.Literal("GET"),
        Type.Literal("POST"),
        Type.Literal("PUT"),
        Type.Literal("PATCH"),
        Type.Literal("DELETE"),
      ],
      { default: "POST" },
    ),
  ),
  path: Type.Optional(
    Template({
      description: "Appended to the connection's base URL.",
      examples: ["/shipments/{{ orderId }}"],
    }),
  ),
  headers: Type.Optional(
    Type.Record(
      Type.String(),
      Type.String({
        "x-format": "template",
        "x-secret": true,
        description: "Header value, a template; treated as a secret (credentials often travel here).",
      }),
      { description: "Extra headers; values are templates." },
    ),
  ),
  idempotencyKey: Type.Optional(
    Template({
      description: "Sent as the `Idempotency-Key` header so the receiver can drop repeats.",
      examples: ["{{ $message.id }}"],
    }),
  ),
  timeout: Type.Optional(Duration({ description: "Timeout of this request; overrides the connection's." })),
  format: Type.Optional(
    formatOptionSchema(
      "How the request body is encoded, with that format's content type (`format: { xml: {} }`); for a request (enrich), also how a non-empty answer is decoded. Unset: JSON out, and answers read as JSON when they say so, else as text.",
    ),
  ),
};

export const HttpSinkSchema = Type.Object(requestProperties, { additionalProperties: false });
export type HttpSinkConfig = Static<typeof HttpSinkSchema>;
export const HttpRequestSchema = Type.Object(requestProperties, { additionalProperties: false });
export type HttpRequestConfig = HttpSinkConfig;
